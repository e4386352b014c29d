/**
 * Messages into the host's structured log, tagged with plugin and task.
 *
 * @module crawlhost/log
 */

import { log as hostLog } from 'crawlhost:plugin/log@0.3.0';

/**
 * Write one message at `level`.
 * @param {'trace'|'debug'|'info'|'warn'|'error'} level
 * @param {string} message
 */
export function write(level, message) {
  hostLog(level, String(message));
}

/** @param {string} message */
export const trace = (message) => write('trace', message);
/** @param {string} message */
export const debug = (message) => write('debug', message);
/** @param {string} message */
export const info = (message) => write('info', message);
/** @param {string} message */
export const warn = (message) => write('warn', message);
/** @param {string} message */
export const error = (message) => write('error', message);
