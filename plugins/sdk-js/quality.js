/**
 * The raw report of items skipped for a missing identity field (contract
 * 0.3 `quality`); `Tally.report()` is the usual way to call it.
 *
 * @module crawlhost/quality
 */

import { skipped as hostSkipped } from 'crawlhost:plugin/quality@0.3.0';

/**
 * `count` items meant for `topic` were skipped because their identity field
 * `field` was missing. Calls add up.
 * @param {string} topic
 * @param {string} field
 * @param {number} count
 */
export function skipped(topic, field, count) {
  hostSkipped(topic, field, Math.min(Math.max(0, Math.trunc(count)), 0xffff_ffff));
}
