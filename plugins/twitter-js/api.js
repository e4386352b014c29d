/**
 * The X API v2 recent search as the plugin uses it (a port of
 * plugins/twitter/src/api.rs): settings, the page request, the response
 * shape read tolerantly, and what a status means. Pure except `search`.
 */

import { Blocked, Other, ParseError, Retryable, http } from '../sdk-js/index.js';

export const DEFAULT_BASE_URL = 'https://api.x.com';
export const DEFAULT_MAX_RESULTS = 100;
export const DEFAULT_MAX_PAGES = 10;
export const SEARCH_PATH = '/2/tweets/search/recent';
export const TWEET_FIELDS = 'created_at,public_metrics,author_id,lang';
export const EXPANSIONS = 'author_id';
export const USER_FIELDS = 'username,name';

/**
 * @typedef {{baseUrl: string, maxResults: number, maxPages: number}} Settings
 * @typedef {{id: string, username: string | null, name: string | null}} ApiUser
 * @typedef {{resultCount: number | null, newestId: string | null, oldestId: string | null, nextToken: string | null}} Meta
 * @typedef {{kind: string | null, resourceType: string | null, resourceId: string | null, detail: string | null}} Problem
 * @typedef {{data: any[], users: ApiUser[], meta: Meta, errors: Problem[]}} SearchPage
 */

/**
 * The settings of a run, checked (`Other` naming the key when invalid).
 * @param {import('../sdk-js/index.js').Run} run
 * @returns {Settings}
 */
export function settingsOf(run) {
  const baseUrl = (run.config('base_url') ?? DEFAULT_BASE_URL).trim().replace(/\/+$/, '');
  if (!(baseUrl.startsWith('https://') || baseUrl.startsWith('http://'))) {
    throw new Other(`config key \`base_url\` must be an http(s) URL, got \`${baseUrl}\``);
  }
  const maxResults = run.configInt('max_results', DEFAULT_MAX_RESULTS);
  if (maxResults < 10 || maxResults > 100) {
    throw new Other(`config key \`max_results\` must be between 10 and 100 (X's limits), got ${maxResults}`);
  }
  const maxPages = run.configInt('max_pages', DEFAULT_MAX_PAGES);
  if (maxPages === 0) throw new Other('config key `max_pages` must be at least 1');
  return { baseUrl, maxResults, maxPages };
}

/**
 * Send one page request of a search; any status comes back.
 * @param {Settings} s
 * @param {string} query
 * @param {string | null} sinceId
 * @param {string | null} nextToken
 * @returns {{url: string, response: import('../sdk-js/index.js').HttpResponse}}
 */
export function search(s, query, sinceId, nextToken) {
  /** @type {Record<string, string>} */
  const params = {
    query,
    max_results: String(s.maxResults),
    'tweet.fields': TWEET_FIELDS,
    expansions: EXPANSIONS,
    'user.fields': USER_FIELDS,
  };
  if (sinceId !== null) params.since_id = sinceId;
  if (nextToken !== null) params.next_token = nextToken;
  const url = http.buildUrl(`${s.baseUrl}${SEARCH_PATH}`, params);
  return { url, response: http.get(url, { headers: { accept: 'application/json' } }) };
}

/**
 * An id as text: a non-blank string (trimmed) or a non-negative integer.
 * @param {unknown} v
 * @returns {string | null}
 */
export function idText(v) {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  return null;
}

/**
 * A string as sent, or null.
 * @param {unknown} v
 * @returns {string | null}
 */
export function text(v) {
  return typeof v === 'string' ? v : null;
}

/** @param {unknown} v @returns {any[]} */
const list = (v) => (Array.isArray(v) ? v : []);
/** @param {unknown} v @returns {v is Record<string, any>} */
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parse a recent-search page; `ParseError` when the body is not one.
 * @param {string} body
 * @param {string} url
 * @returns {SearchPage}
 */
export function parsePage(body, url) {
  const notAPage = (/** @type {string} */ why) => new ParseError(`${url} did not return a recent-search page: ${why}`);
  let v;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw notAPage(/** @type {Error} */ (e).message);
  }
  if (!isObject(v)) throw notAPage('the body is not a JSON object');
  let data;
  if (v.data === undefined || v.data === null) data = [];
  else if (Array.isArray(v.data)) data = v.data;
  else throw notAPage('`data` is not a list');
  const users = list(isObject(v.includes) ? v.includes.users : undefined)
    .map((u) => ({ id: idText(u?.id), username: text(u?.username), name: text(u?.name) }))
    .filter((u) => u.id !== null);
  const m = isObject(v.meta) ? v.meta : {};
  const count = m.result_count;
  const meta = {
    resultCount: Number.isSafeInteger(count) && count >= 0 ? count : null,
    newestId: idText(m.newest_id),
    oldestId: idText(m.oldest_id),
    nextToken: text(m.next_token) || null,
  };
  const errors = list(v.errors).map((e) => ({
    kind: text(e?.type)?.split('/').at(-1) || null,
    resourceType: text(e?.resource_type),
    resourceId: idText(e?.resource_id) ?? idText(e?.value),
    detail: text(e?.detail) ?? text(e?.message) ?? text(e?.title),
  }));
  return { data, users: /** @type {ApiUser[]} */ (users), meta, errors };
}

/**
 * The partial-answer summary of a page's `errors`, or null: the count and
 * up to five problems.
 * @param {SearchPage} page
 * @returns {string | null}
 */
export function errorsSummary(page) {
  if (page.errors.length === 0) return null;
  const SHOWN = 5;
  const parts = page.errors.slice(0, SHOWN).map((p) => {
    const words = [p.kind, p.resourceType, p.resourceId].filter((w) => w !== null);
    return words.length === 0 ? (p.detail ?? 'unnamed') : words.join(' ');
  });
  if (page.errors.length > SHOWN) parts.push('...');
  return `${page.errors.length} (${parts.join(', ')})`;
}

/**
 * The message of an error body (`errors[0].message`, `detail`, `title`).
 * @param {string} body
 * @returns {string | null}
 */
export function problemText(body) {
  let v;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  const first = Array.isArray(v.errors) ? v.errors[0] : undefined;
  return text(first?.message) ?? text(v.detail) ?? text(v.title);
}

/**
 * Whether a 400 body says the `since_id` is refused (older than the window).
 * @param {string} body
 * @returns {boolean}
 */
export function sinceIdRefused(body) {
  let v;
  try {
    v = JSON.parse(body);
  } catch {
    return false;
  }
  return isObject(v) && Array.isArray(v.errors) && v.errors.some((e) => isObject(e?.parameters) && 'since_id' in e.parameters);
}

/**
 * The error a status maps to, or null for 2xx; 401 names the host
 * configuration that supplies the token.
 * @param {number} status
 * @param {string} body
 * @param {string} url
 * @param {string} host the API host, for the 401 message
 * @param {string | null} reset `x-rate-limit-reset`
 * @returns {Error | null}
 */
export function statusError(status, body, url, host, reset) {
  if (status >= 200 && status <= 299) return null;
  const problem = problemText(body);
  const said = problem === null ? '' : `: ${problem}`;
  switch (status) {
    case 401:
      return new Other(`the X API refused the bearer token (HTTP 401 from ${url}${said}). The host adds the token: configure [[http.secrets]] with hosts = ["${host}"], header = "authorization", prefix = "Bearer " and value_env naming a variable that holds a valid app token`);
    case 403:
      return new Blocked(`the X API forbids this request (HTTP 403 from ${url}${said}); check the app's access level`);
    case 429:
      return new Blocked(`the X API rate limit is still exhausted after the host's wait (HTTP 429 from ${url}; the window resets at ${reset ?? 'an unknown'} Unix time)`);
    case 400:
      return new Other(`the X API rejected the request (HTTP 400 from ${url}${said})`);
    default:
      if (status === 408 || (status >= 500 && status <= 599)) return new Retryable(`HTTP ${status} from ${url}${said}`);
      return new Other(`HTTP ${status} from ${url}${said}`);
  }
}
