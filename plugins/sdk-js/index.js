/**
 * Guest-side API for crawlhost plugins written in JavaScript, over the
 * contract `crawlhost:plugin@0.3.0` as jco maps it.
 *
 * A plugin module exports `crawler = definePlugin({manifest, plan, crawl})`;
 * everything else is helpers so a crawler reads like a small spider:
 *
 * - `http`: requests through the host, status checks that map to the host's
 *   retry policy, charset-aware text, JSON, HTML.
 * - `Document` / `Element`: CSS selection over HTML the host parses.
 * - `Tally`: identity vs optional fields; skipped items are counted and
 *   reported to the host (`quality`).
 * - `out`: records and follow-up tasks; `Run`: configuration and run time.
 * - `state`, `log`, `quality`: the other imports.
 * - `Retryable`, `Blocked`, `ParseError`, `Other`: the `crawl-error` variants.
 *
 * The host calls `manifest` once at load time, `plan` once per run (or per
 * trigger record) and `crawl` once per task, each in a fresh instance: keep
 * nothing in module variables between calls.
 *
 * @module crawlhost
 */

import { Other, toCrawlError } from './errors.js';
import { Run } from './run.js';

export { CrawlError, Retryable, Blocked, ParseError, Other, statusError } from './errors.js';
export { Run } from './run.js';
export { Document, Element } from './html.js';
export { Tally, Item, Missing, isFilled } from './extract.js';
export * as http from './http.js';
export * as out from './out.js';
export * as state from './state.js';
export * as log from './log.js';
export * as quality from './quality.js';

/**
 * The manifest in the contract's shape: optional fields filled in
 * (`schedule` none, `triggers` empty, config keys not required, no default).
 * @param {import('./index.js').ManifestInit} m
 */
export function manifestOf(m) {
  return {
    name: m.name,
    version: m.version,
    description: m.description ?? '',
    schedule: m.schedule ?? undefined,
    topics: m.topics ?? [],
    hosts: m.hosts ?? [],
    config: (m.config ?? []).map((k) => ({
      name: k.name,
      description: k.description ?? '',
      defaultValue: k.defaultValue ?? undefined,
      required: k.required ?? false,
    })),
    triggers: m.triggers ?? [],
  };
}

/**
 * `plan`'s input in a plain shape: `{kind: 'scheduled'}` or
 * `{kind: 'trigger', record}` (the bus record, `offset` and `timestampMs` as
 * numbers).
 * @param {{tag: 'scheduled'} | {tag: 'trigger', val: any}} input
 */
export function planInputOf(input) {
  if (input.tag !== 'trigger') return { kind: 'scheduled' };
  const r = input.val;
  return {
    kind: 'trigger',
    record: {
      topic: r.topic,
      partition: r.partition,
      offset: Number(r.offset),
      key: r.key ?? null,
      value: r.value,
      timestampMs: Number(r.timestampMs),
    },
  };
}

/**
 * Run one entry point: a synchronous result, or the `CrawlError` the host
 * gets as the `crawl-error` variant.
 * @template T
 * @param {string} entry
 * @param {() => T} call
 * @returns {T}
 */
function guarded(entry, call) {
  let result;
  try {
    result = call();
  } catch (e) {
    throw toCrawlError(e);
  }
  if (result !== null && typeof result === 'object' && typeof /** @type {any} */ (result).then === 'function') {
    throw new Other(`${entry} returned a promise: plugin entry points must be synchronous (host calls block)`);
  }
  return result;
}

/**
 * The component's `crawler` export for a plugin definition.
 * @param {import('./index.js').PluginDefinition} plugin
 */
export function definePlugin(plugin) {
  return {
    manifest() {
      const m = typeof plugin.manifest === 'function' ? plugin.manifest() : plugin.manifest;
      return manifestOf(m);
    },
    /** @param {any} run @param {any} input */
    plan(run, input) {
      return guarded('plan', () => plugin.plan(new Run(run), planInputOf(input)));
    },
    /** @param {any} run @param {any} task */
    crawl(run, task) {
      const output = guarded('crawl', () => plugin.crawl(new Run(run), task));
      return { records: output?.records ?? [], tasks: output?.tasks ?? [] };
    },
  };
}
