/**
 * Extraction that survives markup drift: identity fields and optional
 * fields, with a tally of what could not be read (the Rust SDK's
 * `extract::Tally`).
 *
 * A record kind names the few fields without which an item means nothing (a
 * product's goods number, a tweet's id): its identity. Only those can drop an
 * item; a dropped item is skipped and counted, its siblings are kept. Every
 * other field is optional: missing, blank or unparsable becomes `null` and
 * counts as a miss of that field.
 *
 * ```js
 * const tally = new Tally('myshop');
 * const product = tally.item(() => `${url} card #${i + 1}`, (item) => ({
 *   sku: item.identity('sku', card.attrTrimmed('data-sku')),
 *   price: item.optional('price', parsePrice(card)),
 * }));                 // null when the card had no sku
 * tally.report();      // once per task: logs, and tells the host (`quality`)
 * ```
 *
 * @module crawlhost/extract
 */

import { write as log } from './log.js';
import { skipped as reportSkipped } from './quality.js';

/**
 * Whether a value carries anything: null, undefined, blank text, an empty
 * array and a non-finite number are as good as missing.
 * @param {unknown} value
 * @returns {boolean}
 */
export function isFilled(value) {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** Thrown by `Item.identity` to end the item; `Tally.item` catches it. */
export class Missing extends Error {
  /** @param {string} field the identity field */
  constructor(field) {
    super(`identity field \`${field}\` is missing`);
    this.name = 'Missing';
    /** The identity field. */
    this.field = field;
  }
}

/** The fields of one item being read (see `Tally.item`). */
export class Item {
  constructor() {
    /** @type {string[]} optional fields that were missing */
    this.misses = [];
  }

  /**
   * An identity field: a missing or blank value ends the item (it throws
   * `Missing`, which `Tally.item` turns into a counted skip).
   * @template T
   * @param {string} field
   * @param {T | null | undefined} value
   * @returns {T}
   */
  identity(field, value) {
    if (!isFilled(value)) throw new Missing(field);
    return /** @type {T} */ (value);
  }

  /**
   * An optional field: a missing or blank value becomes null and counts as
   * a miss of `field`.
   * @template T
   * @param {string} field
   * @param {T | null | undefined} value
   * @returns {T | null}
   */
  optional(field, value) {
    if (isFilled(value)) return /** @type {T} */ (value);
    this.misses.push(field);
    return null;
  }

  /**
   * Record a miss of `field` by hand (a value the plugin chose to drop).
   * @param {string} field
   */
  miss(field) {
    this.misses.push(field);
  }
}

/**
 * @param {string | (() => string)} at a place, or a function computing it
 * @returns {string}
 */
const place = (at) => (typeof at === 'function' ? at() : at);

/** What one task could and could not read of one topic's items. */
export class Tally {
  /** @param {string} topic the topic the items are meant for */
  constructor(topic) {
    this.topic = topic;
    /** Items read. */
    this.kept = 0;
    /** @type {Map<string, {count: number, firstAt: string}>} skips by identity field */
    this.skips = new Map();
    /** @type {Map<string, number>} misses by optional field */
    this.misses = new Map();
  }

  /**
   * Read one item with `read`. When `read` throws `Missing` (an identity
   * field) the item is skipped (null) and counted at the place `at` names;
   * otherwise its optional misses are counted and its value returned. Other
   * errors propagate.
   * @template T
   * @param {string | (() => string)} at where the item is; a function is called only on a skip
   * @param {(item: Item) => T} read
   * @returns {T | null}
   */
  item(at, read) {
    const item = new Item();
    let value;
    try {
      value = read(item);
    } catch (e) {
      if (!(e instanceof Missing)) throw e;
      this.skip(e.field, at);
      return null;
    }
    this.kept += 1;
    for (const field of item.misses) this.misses.set(field, (this.misses.get(field) ?? 0) + 1);
    return value;
  }

  /**
   * Count one item skipped for its identity field `field` (for items the
   * plugin rejects outside `item`).
   * @param {string} field
   * @param {string | (() => string)} at
   */
  skip(field, at) {
    const skips = this.skips.get(field);
    if (skips) skips.count += 1;
    else this.skips.set(field, { count: 1, firstAt: place(at) });
  }

  /**
   * Add `place` (a URL) to where each first skip was, for tallies made by a
   * parser that does not know its URL. Returns this tally.
   * @param {string} where
   * @returns {this}
   */
  located(where) {
    for (const skips of this.skips.values()) skips.firstAt = `${skips.firstAt} on ${where}`;
    return this;
  }

  /**
   * Add another tally of the same topic (e.g. one per page) to this one.
   * @param {Tally} other
   */
  merge(other) {
    this.kept += other.kept;
    for (const [field, s] of other.skips) {
      const mine = this.skips.get(field);
      if (mine) mine.count += s.count;
      else this.skips.set(field, { ...s });
    }
    for (const [field, n] of other.misses) this.misses.set(field, (this.misses.get(field) ?? 0) + n);
  }

  /** Items skipped, all identity fields together. @returns {number} */
  skipped() {
    let n = 0;
    for (const s of this.skips.values()) n += s.count;
    return n;
  }

  /**
   * Items skipped for the identity field `field`.
   * @param {string} field
   * @returns {number}
   */
  skippedBy(field) {
    return this.skips.get(field)?.count ?? 0;
  }

  /**
   * Misses of the optional field `field` among the items read.
   * @param {string} field
   * @returns {number}
   */
  missesOf(field) {
    return this.misses.get(field) ?? 0;
  }

  /**
   * The lines `report` logs: one warning per identity field that dropped
   * items, naming the first place; one debug line with the optional
   * fields' misses. Empty when everything was read.
   * @returns {['warn' | 'debug', string][]}
   */
  logLines() {
    /** @type {['warn' | 'debug', string][]} */
    const lines = [];
    const total = this.kept + this.skipped();
    for (const [field, s] of [...this.skips].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push(['warn', `skipped ${s.count} of ${total} \`${this.topic}\` items without \`${field}\` (first at ${s.firstAt})`]);
    }
    if (this.misses.size > 0) {
      const list = [...this.misses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, n]) => `${f} ${n}`).join(', ');
      lines.push(['debug', `${this.kept} \`${this.topic}\` items read; optional fields left null: ${list}`]);
    }
    return lines;
  }

  /** Log the tally and report its skipped items to the host: once per task. */
  report() {
    this.reportWith(log, reportSkipped);
  }

  /**
   * `report` through the caller's own sinks.
   * @param {(level: 'warn' | 'debug', message: string) => void} logSink
   * @param {(topic: string, field: string, count: number) => void} skippedSink
   */
  reportWith(logSink, skippedSink) {
    for (const [level, line] of this.logLines()) logSink(level, line);
    for (const [field, s] of this.skips) skippedSink(this.topic, field, s.count);
  }
}
