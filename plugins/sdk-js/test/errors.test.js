import { test } from 'node:test';
import assert from 'node:assert/strict';

const { Blocked, Other, ParseError, Retryable, statusError } = await import('../errors.js');
const { toCrawlError, fromHost } = await import('../errors.js');

test('statuses map to the retry policy', () => {
  assert.equal(statusError(200, 'u'), null);
  assert.ok(statusError(503, 'u') instanceof Retryable);
  assert.ok(statusError(408, 'u') instanceof Retryable);
  assert.ok(statusError(429, 'u') instanceof Blocked);
  const notFound = statusError(404, 'u');
  assert.ok(notFound instanceof Other);
  assert.equal(notFound.message, 'HTTP 404 from u');
});

test('errors carry the crawl-error variant jco hands the host', () => {
  const e = new ParseError('no price');
  assert.deepEqual(e.payload, { tag: 'parse', val: 'no price' });
  assert.ok(Object.hasOwn(e, 'payload'));
  assert.equal(e.name, 'ParseError');
});

test('anything thrown becomes a CrawlError', () => {
  // An import's ComponentError keeps its variant.
  const fromImport = toCrawlError(Object.assign(new Error('x'), { payload: { tag: 'blocked', val: 'host not allowed' } }));
  assert.ok(fromImport instanceof Blocked);
  assert.equal(fromImport.message, 'host not allowed');
  assert.deepEqual(toCrawlError(new TypeError('boom')).payload, { tag: 'other', val: 'TypeError: boom' });
  assert.deepEqual(toCrawlError('str').payload, { tag: 'other', val: 'uncaught string: str' });
  assert.throws(() => fromHost(() => { throw { payload: { tag: 'retryable', val: 't' } }; }), Retryable);
});
