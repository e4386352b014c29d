/**
 * `twitter-js`: the bundled `twitter` plugin in JavaScript (X API v2 recent
 * search for every brand the `oliveyoung` plugin publishes), written against
 * plugins/sdk-js. Same records (topic `twitter`, key = tweet id, timestamp =
 * `created_at`), same tasks, same `since_id` state as plugins/twitter; see
 * its module docs for the behaviour. The bearer token stays in the host
 * (`[[http.secrets]]` for the API host).
 *
 * Layout: `brand.js` (trigger record -> brand, query, keyword matching),
 * `api.js` (settings, request, response shape, statuses), `records.js`
 * (the tweet record), `flow.js` (`plan`, the `search` / `cursor` tasks).
 */

import { definePlugin } from '../sdk-js/index.js';
import { DEFAULT_BASE_URL, DEFAULT_MAX_PAGES, DEFAULT_MAX_RESULTS } from './api.js';
import { TRIGGER_TOPIC } from './brand.js';
import { crawl, plan } from './flow.js';
import { TOPIC } from './records.js';

export const crawler = definePlugin({
  manifest: {
    name: 'twitter-js',
    version: '0.1.0',
    description: 'X (Twitter) recent search per Oliveyoung brand, incremental by since_id (JavaScript)',
    topics: [TOPIC],
    hosts: ['api.x.com', '{base_url}'],
    config: [
      { name: 'base_url', description: 'Root URL of the X API (point it at a fixture or a proxy)', defaultValue: DEFAULT_BASE_URL },
      { name: 'max_results', description: 'Tweets per page, 10 to 100', defaultValue: String(DEFAULT_MAX_RESULTS) },
      { name: 'max_pages', description: 'Pages read per brand and run (a cap on API usage)', defaultValue: String(DEFAULT_MAX_PAGES) },
    ],
    triggers: [TRIGGER_TOPIC],
  },
  plan,
  crawl,
});
