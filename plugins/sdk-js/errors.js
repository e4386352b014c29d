/**
 * The contract's `crawl-error` as JavaScript errors, and the conversions at
 * both edges of the component.
 *
 * A plugin throws `Retryable`, `Blocked`, `ParseError` or `Other`; the
 * exports (`definePlugin`) hand the host the matching `crawl-error` variant.
 * jco represents an error result of an export as a thrown value whose own
 * `payload` property is the variant (`{tag, val}`), and an error result of an
 * import as a thrown `ComponentError` with the same `payload`: `CrawlError`
 * carries its variant as `payload`, and `fromHost` turns an import's error
 * into the matching class, so a failed host call can simply propagate.
 *
 * @module crawlhost/errors
 */

/** The variants of `crawl-error`, in contract order. */
export const TAGS = Object.freeze(['retryable', 'blocked', 'parse', 'other']);

/** Why a call failed; the host picks its reaction from the subclass. */
export class CrawlError extends Error {
  /**
   * @param {'retryable'|'blocked'|'parse'|'other'} tag the `crawl-error` variant
   * @param {string} message what happened, for the host's report
   */
  constructor(tag, message) {
    super(message);
    this.name = new.target.name;
    /** The `crawl-error` variant name. */
    this.tag = tag;
    // An own `payload` is what jco's export glue hands the host as the error.
    Object.defineProperty(this, 'payload', { value: { tag, val: String(message) }, enumerable: false });
  }
}

/** A transient failure (timeout, HTTP 5xx): the host retries with backoff. */
export class Retryable extends CrawlError {
  /** @param {string} message */
  constructor(message) { super('retryable', message); }
}

/** The site refused the crawler (HTTP 403/429, a captcha): longer backoff. */
export class Blocked extends CrawlError {
  /** @param {string} message */
  constructor(message) { super('blocked', message); }
}

/** The response did not have the expected shape: not retried. */
export class ParseError extends CrawlError {
  /** @param {string} message */
  constructor(message) { super('parse', message); }
}

/** Anything else: not retried, reported with the message. */
export class Other extends CrawlError {
  /** @param {string} message */
  constructor(message) { super('other', message); }
}

const CLASSES = { retryable: Retryable, blocked: Blocked, parse: ParseError, other: Other };

/**
 * The `CrawlError` for anything a plugin or a host call threw: a
 * `CrawlError` as it is, an import's `ComponentError` (payload `{tag, val}`)
 * as its class, and any other value as `Other` naming it.
 * @param {unknown} e
 * @returns {CrawlError}
 */
export function toCrawlError(e) {
  if (e instanceof CrawlError) return e;
  const payload = e !== null && typeof e === 'object' ? /** @type {any} */ (e).payload : undefined;
  if (payload && typeof payload === 'object' && TAGS.includes(payload.tag)) {
    return new CLASSES[/** @type {keyof CLASSES} */ (payload.tag)](String(payload.val));
  }
  if (e instanceof Error) return new Other(`${e.name}: ${e.message}`);
  return new Other(`uncaught ${typeof e}: ${String(e)}`);
}

/**
 * Call a host import and rethrow its error as a `CrawlError` subclass, so a
 * plugin can `catch (e) { if (e instanceof Retryable) ... }`.
 * @template T
 * @param {() => T} call
 * @returns {T}
 */
export function fromHost(call) {
  try {
    return call();
  } catch (e) {
    throw toCrawlError(e);
  }
}

/**
 * The error an HTTP status maps to, or null for 2xx: 5xx and 408 are
 * retryable, 403 and 429 blocked, the rest other, naming status and URL.
 * @param {number} status
 * @param {string} url
 * @returns {CrawlError | null}
 */
export function statusError(status, url) {
  const message = `HTTP ${status} from ${url}`;
  if (status >= 200 && status <= 299) return null;
  if (status === 408 || (status >= 500 && status <= 599)) return new Retryable(message);
  if (status === 403 || status === 429) return new Blocked(message);
  return new Other(message);
}
