/**
 * The record the plugin emits per tweet (topic `twitter`, key = tweet id),
 * read from one page tweet by tweet, and the timestamp it carries (a port of
 * plugins/twitter/src/records.rs). Pure functions.
 *
 * A tweet's identity is its `id` and `text`: a tweet without either is
 * skipped and counted, never its page. Everything else (`created_at`,
 * `lang`, the author, `public_metrics`) is nullable and counted as a miss
 * when X leaves it out, as it does for authors who no longer exist.
 */

import { Tally } from '../sdk-js/index.js';
import { idText, text } from './api.js';
import { matchedKeywords } from './brand.js';

/** Topic of tweet records. */
export const TOPIC = 'twitter';

/** The counters of a complete `public_metrics`, with the name a missing one is counted under. */
export const METRICS = [
  ['retweet_count', 'metrics.retweet_count'],
  ['reply_count', 'metrics.reply_count'],
  ['like_count', 'metrics.like_count'],
  ['quote_count', 'metrics.quote_count'],
];

/**
 * Undo X's escaping of tweet text: exactly `&amp;`, `&lt;` and `&gt;`, in
 * one left-to-right pass (`&amp;lt;` becomes `&lt;`; other entities stay).
 * @param {string} s
 * @returns {string}
 */
export function unescapeText(s) {
  return s.replace(/&(amp|lt|gt);/g, (_, name) => ({ amp: '&', lt: '<', gt: '>' })[/** @type {'amp'|'lt'|'gt'} */ (name)]);
}

/**
 * Milliseconds since the epoch of an RFC 3339 UTC time as X writes it
 * (`2024-08-20T03:00:00.000Z`, fraction optional); null when it does not
 * parse.
 * @param {string} s
 * @returns {number | null}
 */
export function parseCreatedAt(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d*))?Z$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return null;
  const ms = Number(`${m[7] ?? ''}000`.slice(0, 3));
  // Date.UTC maps years 0..99 to 1900..1999; set the year afterwards.
  const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, sec, ms));
  t.setUTCFullYear(y, mo - 1, d);
  return t.getTime();
}

/**
 * @typedef {import('./brand.js').Brand} Brand
 * @typedef {import('./api.js').ApiUser} ApiUser
 * @typedef {{record: Record<string, unknown> & {id: string}, timestampMs: number | null}} Read
 */

/**
 * Read one tweet of a page into its record: `id` and `text` are its
 * identity; every other field is optional and counted as a miss on `item`.
 * @param {any} tweet
 * @param {Map<string, ApiUser>} users
 * @param {Brand} brand
 * @param {string} query
 * @param {import('../sdk-js/index.js').Item} item
 * @returns {Read}
 */
export function tweetRecord(tweet, users, brand, query, item) {
  const id = item.identity('id', idText(tweet?.id));
  const rawText = text(tweet?.text);
  const body = item.identity('text', rawText === null ? null : unescapeText(rawText));
  const createdAt = item.optional('created_at', text(tweet?.created_at));
  const timestampMs = createdAt === null ? null : parseCreatedAt(createdAt);
  if (createdAt !== null && timestampMs === null) {
    // Kept as sent, but the record has no time of its own.
    item.miss('created_at');
  }
  const lang = item.optional('lang', text(tweet?.lang));
  const authorId = item.optional('author.id', idText(tweet?.author_id));
  const user = authorId === null ? undefined : users.get(authorId);
  const username = item.optional('author.username', user?.username ?? null);
  const name = item.optional('author.name', user?.name ?? null);
  const pm = tweet?.public_metrics;
  const metrics = pm !== null && typeof pm === 'object' && !Array.isArray(pm) ? pm : null;
  if (metrics === null) {
    item.miss('metrics');
  } else {
    // A partial one is kept as sent; each missing counter is a miss.
    for (const [counter, field] of METRICS) {
      if (metrics[counter] === undefined || metrics[counter] === null) item.miss(field);
    }
  }
  const url = username === null ? `https://x.com/i/status/${id}` : `https://x.com/${username}/status/${id}`;
  return {
    record: {
      id,
      text: body,
      created_at: createdAt,
      lang,
      author: { id: authorId, username, name },
      metrics,
      url,
      brand: brand.name_ko,
      brand_code: brand.code,
      brand_name_en: brand.name_en,
      matched_keywords: matchedKeywords(brand, body),
      query,
    },
    timestampMs,
  };
}

/**
 * Every readable tweet of a page, in page order, and the tally of what
 * could not be read (`pageUrl` names where a skipped tweet was).
 * @param {import('./api.js').SearchPage} page
 * @param {Brand} brand
 * @param {string} query
 * @param {string} pageUrl
 * @returns {{reads: Read[], tally: Tally}}
 */
export function readPage(page, brand, query, pageUrl) {
  const users = new Map(page.users.map((u) => [u.id, u]));
  const tally = new Tally(TOPIC);
  /** @type {Read[]} */
  const reads = [];
  page.data.forEach((tweet, i) => {
    const read = tally.item(() => `tweet #${i + 1} of ${pageUrl}`, (item) => tweetRecord(tweet, users, brand, query, item));
    if (read !== null) reads.push(read);
  });
  return { reads, tally };
}
