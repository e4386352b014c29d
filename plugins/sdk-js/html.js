/**
 * HTML parsed natively by the host (the contract's `html` capability) and
 * queried with CSS selectors through handles, so a plugin carries no parser.
 *
 * Absent values are `null` (an attribute an element lacks, no first match).
 * Each query crosses the sandbox boundary: read in bulk where you can
 * (`texts`, `ownTexts`, `attrValues` return one list in one call). Handles
 * are freed when the call ends; `dispose()` frees one earlier, for a task
 * that parses many documents or selects very many elements (the host caps
 * both, `[html]`). An invalid selector is a `ParseError` naming it.
 *
 * @module crawlhost/html
 */

import { Document as HostDocument } from 'crawlhost:plugin/html@0.3.0';
import { fromHost } from './errors.js';

/**
 * @param {(string | undefined)[]} values
 * @returns {(string | null)[]}
 */
const nullable = (values) => values.map((v) => v ?? null);

/** Queries shared by documents and elements (both answer them the same way). */
class Queryable {
  /** @param {any} handle the host resource */
  constructor(handle) {
    /** @protected */
    this.handle = handle;
  }

  /**
   * Elements below this node that match `css`, in document order.
   * @param {string} css
   * @returns {Element[]}
   */
  select(css) {
    return fromHost(() => this.handle.select(css)).map((h) => new Element(h));
  }

  /**
   * The first element below this node that matches `css`, or null.
   * @param {string} css
   * @returns {Element | null}
   */
  selectFirst(css) {
    const h = fromHost(() => this.handle.selectFirst(css));
    return h === undefined ? null : new Element(h);
  }

  /**
   * The text (`textContent`) of every match of `css`, in one call.
   * @param {string} css
   * @returns {string[]}
   */
  texts(css) {
    return fromHost(() => this.handle.texts(css));
  }

  /**
   * The own text (text children only) of every match of `css`, in one call.
   * @param {string} css
   * @returns {string[]}
   */
  ownTexts(css) {
    return fromHost(() => this.handle.ownTexts(css));
  }

  /**
   * Attribute `name` of every match of `css` (null where absent), in one call.
   * @param {string} css
   * @param {string} name
   * @returns {(string | null)[]}
   */
  attrValues(css, name) {
    return nullable(fromHost(() => this.handle.attrValues(css, name)));
  }

  /** Free the host handle now instead of at the end of the call. */
  dispose() {
    this.handle[Symbol.dispose ?? Symbol.for('dispose')]();
  }
}

/** A parsed HTML document. */
export class Document extends Queryable {
  /**
   * Parse a document (a fragment parses as the body of one); `Other` when it
   * is over the host's byte, node or depth cap.
   * @param {string} text
   * @returns {Document}
   */
  static parse(text) {
    return new Document(fromHost(() => HostDocument.parse(text)));
  }
}

/** One element of a parsed document; it keeps its document alive. */
export class Element extends Queryable {
  /** The tag name, lower case. @returns {string} */
  name() {
    return this.handle.name();
  }

  /**
   * The value of attribute `name`, or null.
   * @param {string} name
   * @returns {string | null}
   */
  attr(name) {
    return this.handle.attr(name) ?? null;
  }

  /**
   * Attribute `name` with surrounding whitespace removed, or null when absent.
   * @param {string} name
   * @returns {string | null}
   */
  attrTrimmed(name) {
    return this.attr(name)?.trim() ?? null;
  }

  /** Every attribute as `[name, value]`, in name order. @returns {[string, string][]} */
  attrs() {
    return this.handle.attrs();
  }

  /** All text below the element (`textContent`). @returns {string} */
  text() {
    return this.handle.text();
  }

  /** The text with runs of whitespace collapsed to one space, trimmed. @returns {string} */
  textTrimmed() {
    return this.text().replace(/\s+/g, ' ').trim();
  }

  /** The text of the element's own text children only. @returns {string} */
  ownText() {
    return this.handle.ownText();
  }

  /** The element's content as HTML. @returns {string} */
  innerHtml() {
    return this.handle.innerHtml();
  }

  /** The element and its content as HTML. @returns {string} */
  outerHtml() {
    return this.handle.outerHtml();
  }

  /**
   * Whether this element itself matches `css`.
   * @param {string} css
   * @returns {boolean}
   */
  matches(css) {
    return fromHost(() => this.handle.matches(css));
  }
}
