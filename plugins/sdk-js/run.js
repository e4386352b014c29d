/**
 * The run context handed to `plan` and `crawl`: configuration and run time.
 *
 * @module crawlhost/run
 */

import { Other } from './errors.js';

/** Context of the current run (the contract's `run-info`). */
export class Run {
  /**
   * @param {{runId: string, startedAtMs: bigint | number, config: [string, string][]}} info
   *   the host's `run-info` as jco passes it (`s64` is a BigInt)
   */
  constructor(info) {
    /** Unique id of the run. */
    this.id = info.runId;
    /** Run start, milliseconds since the Unix epoch (the plugin's only clock). */
    this.startedAtMs = Number(info.startedAtMs);
    /** @type {Map<string, string>} operator values merged over the manifest defaults */
    this.configMap = new Map(info.config);
  }

  /**
   * A configuration value, or null when unset.
   * @param {string} key
   * @returns {string | null}
   */
  config(key) {
    return this.configMap.get(key) ?? null;
  }

  /**
   * A configuration value that must be set (`Other` otherwise).
   * @param {string} key
   * @returns {string}
   */
  require(key) {
    const value = this.config(key);
    if (value === null) throw new Other(`config key \`${key}\` is not set`);
    return value;
  }

  /**
   * A non-negative integer configuration value, `fallback` when unset.
   * @param {string} key
   * @param {number} fallback
   * @returns {number}
   */
  configInt(key, fallback) {
    const value = this.config(key);
    if (value === null) return fallback;
    if (!/^\s*\d+\s*$/.test(value)) {
      throw new Other(`config key \`${key}\` must be a number, got \`${value}\``);
    }
    return Number(value.trim());
  }

  /**
   * The run date as `YYYY-MM-DD`, in UTC shifted by `offsetHours` (9 for
   * Korea, which has no daylight saving time).
   * @param {number} offsetHours
   * @returns {string}
   */
  date(offsetHours) {
    return new Date(this.startedAtMs + offsetHours * 3_600_000).toISOString().slice(0, 10);
  }
}
