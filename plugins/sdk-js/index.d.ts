/**
 * Types of the crawlhost JavaScript SDK (`index.js` and the modules it
 * re-exports), for editors and `tsc --checkJs`. The contract is
 * `crawlhost:plugin@0.3.0` (wit/plugin.wit).
 */

// ---- errors.js: the contract's `crawl-error` ------------------------------

/** The variants of `crawl-error`. */
export type CrawlErrorTag = 'retryable' | 'blocked' | 'parse' | 'other';

/** Why a call failed; the host picks its reaction from the subclass. */
export class CrawlError extends Error {
  constructor(tag: CrawlErrorTag, message: string);
  /** The `crawl-error` variant name. */
  readonly tag: CrawlErrorTag;
  /** The variant as jco hands it to the host. */
  readonly payload: { tag: CrawlErrorTag; val: string };
}
/** A transient failure (timeout, HTTP 5xx): the host retries with backoff. */
export class Retryable extends CrawlError { constructor(message: string); }
/** The site refused the crawler (HTTP 403/429, a captcha): longer backoff. */
export class Blocked extends CrawlError { constructor(message: string); }
/** The response did not have the expected shape: not retried. */
export class ParseError extends CrawlError { constructor(message: string); }
/** Anything else: not retried, reported with the message. */
export class Other extends CrawlError { constructor(message: string); }

/** The error an HTTP status maps to (5xx/408 retryable, 403/429 blocked, else other), null for 2xx. */
export function statusError(status: number, url: string): CrawlError | null;

// ---- run.js ---------------------------------------------------------------

/** Context of the current run. */
export class Run {
  constructor(info: { runId: string; startedAtMs: bigint | number; config: [string, string][] });
  /** Unique id of the run. */
  readonly id: string;
  /** Run start, milliseconds since the Unix epoch (the plugin's only clock). */
  readonly startedAtMs: number;
  /** Operator values merged over the manifest defaults. */
  readonly configMap: Map<string, string>;
  /** A configuration value, or null when unset. */
  config(key: string): string | null;
  /** A configuration value that must be set (`Other` otherwise). */
  require(key: string): string;
  /** A non-negative integer configuration value, `fallback` when unset (`Other` when not a number). */
  configInt(key: string, fallback: number): number;
  /** The run date as `YYYY-MM-DD` in UTC shifted by `offsetHours`. */
  date(offsetHours: number): string;
}

// ---- the plugin definition (index.js) --------------------------------------

/** A configuration key the plugin understands. */
export interface ConfigKeyInit {
  name: string;
  description?: string;
  /** Used when the operator sets nothing. */
  defaultValue?: string;
  /** The host refuses to run the plugin when a required key is unset. Default false. */
  required?: boolean;
}

/** What a plugin is and what it needs (the contract's `plugin-manifest`). */
export interface ManifestInit {
  /** Lower case letters, digits and `-`. */
  name: string;
  /** The plugin's own semver version. */
  version: string;
  description?: string;
  /** Cron (`sec min hour day-of-month month day-of-week`); absent: on demand / triggers only. */
  schedule?: string;
  /** Topics the plugin writes to. */
  topics: string[];
  /** `host`, `host:port`, `*.domain` or `{config-key}`. */
  hosts: string[];
  config?: ConfigKeyInit[];
  /** Topics whose records trigger `plan`. */
  triggers?: string[];
}

/** A record of a trigger topic. */
export interface BusRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  timestampMs: number;
}

/** Why `plan` was called. */
export type PlanInput = { kind: 'scheduled' } | { kind: 'trigger'; record: BusRecord };

/** One unit of work (the contract's `task`). */
export interface Task {
  key: string;
  kind: string;
  /** JSON text; read it with `out.payload(task)`. */
  payload: string;
  phase: number;
}

/** A record to publish (the contract's `out-record`); build it with `out.record`. */
export interface OutRecord {
  topic: string;
  key?: string;
  /** JSON text. */
  value: string;
  timestampMs?: bigint;
}

/** What one `crawl` call produced; missing lists are empty. */
export interface CrawlOutput {
  records?: OutRecord[];
  tasks?: Task[];
}

/** A plugin: its manifest and its two synchronous entry points. */
export interface PluginDefinition {
  manifest: ManifestInit | (() => ManifestInit);
  plan(run: Run, input: PlanInput): Task[];
  crawl(run: Run, task: Task): CrawlOutput;
}

/** The component's `crawler` export (what jco binds to the WIT export). */
export interface CrawlerExport {
  manifest(): object;
  plan(run: object, input: object): Task[];
  crawl(run: object, task: Task): { records: OutRecord[]; tasks: Task[] };
}

/** The `crawler` export of a plugin: `export const crawler = definePlugin({...})`. */
export function definePlugin(plugin: PluginDefinition): CrawlerExport;
/** The manifest in the contract's shape (optional fields filled in). */
export function manifestOf(m: ManifestInit): object;
/** `plan`'s input in the SDK's shape. */
export function planInputOf(input: { tag: 'scheduled' } | { tag: 'trigger'; val: object }): PlanInput;

// ---- html.js ----------------------------------------------------------------

/** Queries documents and elements share. */
declare class Queryable {
  /** Elements below this node that match `css`, in document order. */
  select(css: string): Element[];
  /** The first element below this node that matches `css`, or null. */
  selectFirst(css: string): Element | null;
  /** The text of every match, in one call. */
  texts(css: string): string[];
  /** The own text of every match, in one call. */
  ownTexts(css: string): string[];
  /** Attribute `name` of every match (null where absent), in one call. */
  attrValues(css: string, name: string): (string | null)[];
  /** Free the host handle now instead of at the end of the call. */
  dispose(): void;
}

/** A document parsed by the host. */
export class Document extends Queryable {
  /** Parse HTML (`Other` over the host's caps). */
  static parse(text: string): Document;
}

/** One element of a parsed document. */
export class Element extends Queryable {
  /** Tag name, lower case. */
  name(): string;
  attr(name: string): string | null;
  /** The attribute with surrounding whitespace removed, or null. */
  attrTrimmed(name: string): string | null;
  attrs(): [string, string][];
  /** `textContent`. */
  text(): string;
  /** The text with whitespace runs collapsed to one space, trimmed. */
  textTrimmed(): string;
  ownText(): string;
  innerHtml(): string;
  outerHtml(): string;
  matches(css: string): boolean;
}

// ---- extract.js ---------------------------------------------------------------

/** Whether a value carries anything (not null/undefined, blank text, an empty array, NaN). */
export function isFilled(value: unknown): boolean;

/** Thrown by `Item.identity`; `Tally.item` turns it into a counted skip. */
export class Missing extends Error {
  constructor(field: string);
  readonly field: string;
}

/** The fields of one item being read. */
export class Item {
  readonly misses: string[];
  /** An identity field: missing or blank ends the item. */
  identity<T>(field: string, value: T | null | undefined): T;
  /** An optional field: missing or blank becomes null, counted as a miss. */
  optional<T>(field: string, value: T | null | undefined): T | null;
  /** Count a miss of `field` by hand. */
  miss(field: string): void;
}

/** What one task could and could not read of one topic's items. */
export class Tally {
  constructor(topic: string);
  readonly topic: string;
  /** Items read. */
  readonly kept: number;
  readonly skips: Map<string, { count: number; firstAt: string }>;
  readonly misses: Map<string, number>;
  /** Read one item; null (and counted) when an identity field is missing. */
  item<T>(at: string | (() => string), read: (item: Item) => T): T | null;
  /** Count an item skipped for `field` outside `item`. */
  skip(field: string, at: string | (() => string)): void;
  /** Add `where` to each first-skip place. */
  located(where: string): this;
  merge(other: Tally): void;
  skipped(): number;
  skippedBy(field: string): number;
  missesOf(field: string): number;
  logLines(): ['warn' | 'debug', string][];
  /** Log and report skipped items to the host (`quality`): once per task. */
  report(): void;
  reportWith(
    log: (level: 'warn' | 'debug', message: string) => void,
    skipped: (topic: string, field: string, count: number) => void,
  ): void;
}

// ---- http.js, out.js, state.js, log.js, quality.js ------------------------------

/** Request headers: an object or `[name, value]` pairs. */
export type HeaderInit = Record<string, string> | [string, string][];
export interface RequestOptions {
  headers?: HeaderInit;
  /** Query parameters appended (percent-encoded). */
  query?: Record<string, string | number>;
}

export namespace http {
  /** A response from the host (any status). */
  class Response {
    readonly status: number;
    readonly finalUrl: string;
    readonly headers: { name: string; value: string }[];
    readonly bytes: Uint8Array;
    readonly charset: string | null;
    /** First header with this name (case-insensitive), or null. */
    header(name: string): string | null;
    /** This response when 2xx, else throws the status's error. */
    ensureOk(): this;
    /** Body decoded with the detected charset. */
    text(): string;
    /** Body as JSON (`ParseError` when it is not). */
    json(): any;
    /** Body parsed by the host. */
    html(): Document;
  }
  function get(url: string, options?: RequestOptions): Response;
  function postJson(url: string, value: unknown, options?: RequestOptions): Response;
  function request(request: RequestOptions & { method: string; url: string; body?: Uint8Array | string }): Response;
  function buildUrl(url: string, query?: Record<string, string | number>): string;
  function decode(bytes: Uint8Array, charset?: string | null): string;
}

/** A response from the host (`http.Response`). */
export type HttpResponse = http.Response;

export namespace out {
  function record(topic: string, key: string | null, value: unknown, options?: { timestampMs?: number | bigint }): OutRecord;
  function task(kind: string, key: string, payload: unknown, options?: { phase?: number }): Task;
  function payload(task: { key: string; payload: string }): any;
}

export namespace state {
  function get(key: string): Uint8Array | null;
  function put(key: string, value: Uint8Array | string): void;
  function remove(key: string): void;
  function getJson(key: string): any;
  function putJson(key: string, value: unknown): void;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export namespace log {
  function write(level: LogLevel, message: string): void;
  function trace(message: string): void;
  function debug(message: string): void;
  function info(message: string): void;
  function warn(message: string): void;
  function error(message: string): void;
}

export namespace quality {
  function skipped(topic: string, field: string, count: number): void;
}
