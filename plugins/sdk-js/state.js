/**
 * The plugin's private, persistent key-value state: bytes, text and JSON.
 *
 * @module crawlhost/state
 */

import * as host from 'crawlhost:plugin/state@0.3.0';
import { Other, ParseError } from './errors.js';

/**
 * The bytes stored under `key`, or null.
 * @param {string} key
 * @returns {Uint8Array | null}
 */
export function get(key) {
  return host.get(key) ?? null;
}

/**
 * Store `value` under `key` (`Other` when the state quota would be exceeded).
 * @param {string} key
 * @param {Uint8Array | string} value bytes, or text stored as UTF-8
 */
export function put(key, value) {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  try {
    host.put(key, bytes);
  } catch (e) {
    const reason = /** @type {any} */ (e)?.payload ?? /** @type {Error} */ (e).message;
    throw new Other(`state: cannot store \`${key}\`: ${reason}`);
  }
}

/**
 * Remove `key`; removing a missing key is not an error.
 * @param {string} key
 */
export function remove(key) {
  host.delete(key);
}

/**
 * The JSON value stored under `key`, or null (`ParseError` when it is not
 * JSON).
 * @param {string} key
 * @returns {any}
 */
export function getJson(key) {
  const bytes = get(key);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ParseError(`state \`${key}\` is not JSON: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * Store `value` as JSON under `key`.
 * @param {string} key
 * @param {unknown} value
 */
export function putJson(key, value) {
  put(key, JSON.stringify(value));
}
