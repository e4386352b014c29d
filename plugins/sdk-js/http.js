/**
 * HTTP through the host's `fetch` import: request building, the status
 * policy the host's retries expect, charset-aware text, JSON and HTML.
 *
 * Any HTTP status comes back as a `Response` (error pages can be read);
 * `response.ensureOk()` turns a non-2xx status into the error the retry
 * policy expects (5xx/408 `Retryable`, 403/429 `Blocked`, else `Other`).
 * Failures to get any response (allow-list, timeouts after the host's
 * retries) are thrown as the host's `crawl-error`.
 *
 * @module crawlhost/http
 */

import { fetch as hostFetch } from 'crawlhost:plugin/fetch@0.3.0';
import { Other, ParseError, fromHost, statusError } from './errors.js';
import { Document } from './html.js';

/**
 * @typedef {Record<string, string> | [string, string][]} HeaderInit
 * @typedef {{headers?: HeaderInit, query?: Record<string, string | number>}} RequestOptions
 */

/**
 * Headers as `[name, value]` pairs, from an object or a list of pairs.
 * @param {HeaderInit | undefined} headers
 * @returns {[string, string][]}
 */
function headerPairs(headers) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers ?? {});
  return pairs.map(([name, value]) => [name, String(value)]);
}

/**
 * `url` with `query` appended (percent-encoded); `Other` when it is not an
 * absolute URL.
 * @param {string} url
 * @param {Record<string, string | number> | undefined} query
 * @returns {string}
 */
export function buildUrl(url, query) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Other(`invalid URL \`${url}\``);
  }
  for (const [name, value] of Object.entries(query ?? {})) {
    parsed.searchParams.append(name, String(value));
  }
  return parsed.href;
}

/**
 * Send one request; any status comes back as a `Response`.
 * @param {{method: string, url: string, headers?: HeaderInit, query?: Record<string, string | number>, body?: Uint8Array | string}} request
 * @returns {Response}
 */
export function request({ method, url, headers, query, body }) {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const raw = fromHost(() => hostFetch({
    method: method.toUpperCase(),
    url: buildUrl(url, query),
    headers: headerPairs(headers).map(([name, value]) => ({ name, value })),
    body: bytes,
  }));
  return new Response(raw);
}

/**
 * `GET url`.
 * @param {string} url
 * @param {RequestOptions} [options]
 * @returns {Response}
 */
export function get(url, options = {}) {
  return request({ method: 'GET', url, ...options });
}

/**
 * `POST url` with a JSON body (and `content-type: application/json`).
 * @param {string} url
 * @param {unknown} value
 * @param {RequestOptions} [options]
 * @returns {Response}
 */
export function postJson(url, value, options = {}) {
  const headers = [['content-type', 'application/json'], ...headerPairs(options.headers)];
  return request({ method: 'POST', url, query: options.query, headers, body: JSON.stringify(value) });
}

/**
 * Decode body bytes with a charset label (UTF-8 when none). Malformed
 * sequences become U+FFFD; a charset the JS runtime cannot decode is `Other`.
 * @param {Uint8Array} bytes
 * @param {string | null | undefined} charset
 * @returns {string}
 */
export function decode(bytes, charset) {
  let decoder;
  try {
    decoder = new TextDecoder(charset ?? 'utf-8');
  } catch {
    throw new Other(`cannot decode charset \`${charset}\` in a JS plugin (its runtime decodes UTF-8)`);
  }
  return decoder.decode(bytes);
}

/** A response from the host, after redirects and decompression. */
export class Response {
  /** @param {{status: number, headers: {name: string, value: string}[], body: Uint8Array, finalUrl: string, charset?: string}} raw */
  constructor(raw) {
    /** HTTP status. */
    this.status = raw.status;
    /** The URL that answered, after redirects. */
    this.finalUrl = raw.finalUrl;
    /** Headers of the final hop, `{name, value}`. */
    this.headers = raw.headers;
    /** Raw body bytes. */
    this.bytes = raw.body;
    /** The charset the host detected (lower case), or null. */
    this.charset = raw.charset ?? null;
  }

  /**
   * The first header with this name (case-insensitive), or null.
   * @param {string} name
   * @returns {string | null}
   */
  header(name) {
    const lower = name.toLowerCase();
    return this.headers.find((h) => h.name.toLowerCase() === lower)?.value ?? null;
  }

  /**
   * This response when its status is 2xx; else throw the error the host's
   * retry policy expects for the status.
   * @returns {this}
   */
  ensureOk() {
    const error = statusError(this.status, this.finalUrl);
    if (error) throw error;
    return this;
  }

  /** The body decoded with the detected charset. @returns {string} */
  text() {
    return decode(this.bytes, this.charset);
  }

  /** The body parsed as JSON (`ParseError` when it is not). @returns {any} */
  json() {
    const text = this.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ParseError(`${this.finalUrl} is not the expected JSON: ${/** @type {Error} */ (e).message}`);
    }
  }

  /** The body parsed as HTML by the host. @returns {Document} */
  html() {
    return Document.parse(this.text());
  }
}
