/**
 * The crawl steps (a port of plugins/twitter/src/flow.rs): what `plan` makes
 * of a trigger record, what a search task fetches and emits, and how the
 * `since_id` cursor moves.
 *
 * A trigger record (one brand) plans one `search` task. Each search task
 * reads one page and, while X returns a `next_token`, hands the next page to
 * a follow-up. The last page hands the newest id of the run's first page to
 * a `cursor` task, which stores it as the brand's `since_id`. Follow-ups
 * enter the frontier only once the bus acknowledged the task's records, so
 * the cursor moves only after every page's tweets are on the bus. A cursor X
 * refuses as older than its seven-day window is dropped and the whole window
 * searched.
 */

import { Other, ParseError, log, out, state } from '../sdk-js/index.js';
import * as api from './api.js';
import { brandFromRecord, queryOf } from './brand.js';
import { TOPIC, readPage } from './records.js';

/** Task kind: one page of one brand's search. */
export const KIND_SEARCH = 'search';
/** Task kind: store a brand's new `since_id`. */
export const KIND_CURSOR = 'cursor';

/**
 * @typedef {{brand: import('./brand.js').Brand, page: number, since_id: string | null, next_token: string | null, newest_id: string | null}} SearchPayload
 * @typedef {{code: string, newest_id: string}} CursorPayload
 */

/** @param {string} code @returns {string} the state key of a brand's cursor */
export const sinceKey = (code) => `since_id/${code}`;

/**
 * Whether tweet id `a` is newer than `b` (decimal ids of any length).
 * @param {string} a
 * @param {string} b
 * @returns {boolean}
 */
export function newer(a, b) {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length !== y.length ? x.length > y.length : x > y;
}

/**
 * The newest of some tweet ids (the cursor when X sent no `meta.newest_id`).
 * @param {string[]} ids
 * @returns {string | null}
 */
export function newestOf(ids) {
  /** @type {string | null} */
  let best = null;
  for (const id of ids) {
    if (/^\d*$/.test(id) && (best === null || newer(id, best))) best = id;
  }
  return best;
}

/**
 * The task for page `p.page` of a brand.
 * @param {SearchPayload} p
 */
export function searchTask(p) {
  const key = p.page === 1 ? `search:${p.brand.code}` : `search:${p.brand.code}:${p.page}`;
  return out.task(KIND_SEARCH, key, p);
}

/**
 * A query for the brand, or `Other` saying why there is none.
 * @param {import('./brand.js').Brand} brand
 */
function query(brand) {
  try {
    return queryOf(brand);
  } catch (e) {
    throw new Other(/** @type {Error} */ (e).message);
  }
}

/**
 * Seed tasks: one search per trigger record; a scheduled run has nothing to
 * search for.
 * @param {import('../sdk-js/index.js').Run} run
 * @param {import('../sdk-js/index.js').PlanInput} input
 */
export function plan(run, input) {
  api.settingsOf(run);
  if (input.kind === 'scheduled') {
    log.warn('twitter searches per brand record of topic `oliveyoung`; a scheduled run has nothing to do');
    return [];
  }
  const r = input.record;
  let brand;
  try {
    brand = brandFromRecord(r.key, r.value);
  } catch (e) {
    throw new ParseError(`trigger record ${r.topic}/${r.partition}@${r.offset} is not a brand record: ${/** @type {Error} */ (e).message}`);
  }
  query(brand);
  return [searchTask({ brand, page: 1, since_id: null, next_token: null, newest_id: null })];
}

/**
 * Run one task.
 * @param {import('../sdk-js/index.js').Run} run
 * @param {import('../sdk-js/index.js').Task} task
 */
export function crawl(run, task) {
  const settings = api.settingsOf(run);
  switch (task.kind) {
    case KIND_SEARCH: return search(settings, out.payload(task));
    case KIND_CURSOR: return cursor(out.payload(task));
    default: throw new Other(`task \`${task.key}\` has an unknown kind \`${task.kind}\``);
  }
}

/** @param {string} baseUrl @returns {string} the API host, for messages */
export function hostOf(baseUrl) {
  const at = baseUrl.indexOf('://');
  const rest = at < 0 ? baseUrl : baseUrl.slice(at + 3);
  return rest.split('/')[0];
}

/**
 * The brand's stored cursor, or null.
 * @param {string} code
 * @returns {string | null}
 */
function storedSinceId(code) {
  const v = state.getJson(sinceKey(code));
  if (v !== null && typeof v !== 'string') throw new ParseError(`state \`${sinceKey(code)}\` is not a tweet id`);
  return v;
}

/**
 * One page of a brand's search: its tweets as records, then the next page
 * or the cursor.
 * @param {api.Settings} settings
 * @param {SearchPayload} p
 */
function search(settings, p) {
  let sinceId = p.page === 1 ? storedSinceId(p.brand.code) : p.since_id;
  const q = query(p.brand);
  // At most two requests: the second without a cursor X refused as too old.
  let { url, response } = api.search(settings, q, sinceId, p.next_token);
  if (response.status === 400 && sinceId !== null && api.sinceIdRefused(response.text())) {
    log.warn(`brand ${p.brand.code}: X refused since_id ${sinceId} (older than the search window); searching the whole window`);
    sinceId = null;
    ({ url, response } = api.search(settings, q, sinceId, p.next_token));
  }
  const body = response.text();
  const error = api.statusError(response.status, body, url, hostOf(settings.baseUrl), response.header('x-rate-limit-reset'));
  if (error) throw error;
  const page = api.parsePage(body, url);
  const { reads, tally } = readPage(page, p.brand, q, url);
  const records = reads.map((r) => out.record(TOPIC, r.record.id, r.record, { timestampMs: r.timestampMs ?? undefined }));
  const errors = api.errorsSummary(page);
  if (errors !== null) {
    log.info(`brand ${p.brand.code}: page ${p.page} is a partial answer, X reported ${errors} beside ${page.data.length} tweets`);
  }
  log.debug(`brand ${p.brand.code}: page ${p.page} has ${page.data.length} tweets`);
  tally.report();

  const newestId = p.newest_id ?? page.meta.newestId ?? newestOf(reads.map((r) => r.record.id));
  const tasks = [];
  const token = page.meta.nextToken;
  if (token !== null && p.page < settings.maxPages) {
    tasks.push(searchTask({ brand: p.brand, page: p.page + 1, since_id: sinceId, next_token: token, newest_id: newestId }));
  } else {
    if (token !== null) {
      log.warn(`brand ${p.brand.code}: more results after ${p.page} pages (max_pages); the older ones of this window are skipped`);
    }
    if (newestId !== null) {
      tasks.push(out.task(KIND_CURSOR, `cursor:${p.brand.code}`, { code: p.brand.code, newest_id: newestId }));
    }
  }
  return { records, tasks };
}

/**
 * Store a brand's new cursor, unless a newer one is already there.
 * @param {CursorPayload} p
 */
function cursor(p) {
  const current = storedSinceId(p.code);
  if (current === null || newer(p.newest_id, current)) state.putJson(sinceKey(p.code), p.newest_id);
  return {};
}
