/**
 * Builders for what `crawl` returns (records and follow-up tasks) and the
 * reading of a task's payload.
 *
 * @module crawlhost/out
 */

import { Other } from './errors.js';

/**
 * A keyed record with a JSON value (the contract's `out-record`).
 * @param {string} topic destination topic (declared in the manifest)
 * @param {string | null} key record key; null for an unkeyed record
 * @param {unknown} value serialised with `JSON.stringify`
 * @param {{timestampMs?: number | bigint}} [options] event time; the task's start when absent
 */
export function record(topic, key, value, options = {}) {
  const json = JSON.stringify(value);
  if (json === undefined) throw new Other(`record for \`${topic}\`: the value is not JSON (${typeof value})`);
  const ts = options.timestampMs;
  return {
    topic,
    key: key ?? undefined,
    value: json,
    timestampMs: ts === undefined || ts === null ? undefined : BigInt(ts),
  };
}

/**
 * A follow-up task with a JSON payload. The frontier runs each key at most
 * once per run; a higher `phase` waits until every lower phase is done.
 * @param {string} kind what kind of work (`page`, `brand`, ...)
 * @param {string} key identity of the task within the run
 * @param {unknown} payload serialised with `JSON.stringify`
 * @param {{phase?: number}} [options]
 */
export function task(kind, key, payload, options = {}) {
  const json = JSON.stringify(payload);
  if (json === undefined) throw new Other(`task \`${kind}\`: the payload is not JSON (${typeof payload})`);
  return { key, kind, payload: json, phase: options.phase ?? 0 };
}

/**
 * The payload of a task, parsed (`Other` when it is not JSON).
 * @param {{key: string, payload: string}} t
 * @returns {any}
 */
export function payload(t) {
  try {
    return JSON.parse(t.payload);
  } catch (e) {
    throw new Other(`task \`${t.key}\` has a bad payload: ${/** @type {Error} */ (e).message}`);
  }
}
