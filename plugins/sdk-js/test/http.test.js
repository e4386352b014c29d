import { test } from 'node:test';
import assert from 'node:assert/strict';

const { host } = await import('./fakes/host.js');
const http = await import('../http.js');
const { Blocked, ParseError, Retryable } = await import('../errors.js');

const respond = (status, body, charset) => (req) => ({
  status,
  headers: [{ name: 'Content-Type', value: 'text/plain' }],
  body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  finalUrl: req.url,
  charset,
});

test('requests go through the host with query and headers', () => {
  host.reset();
  host.fetch = respond(200, '{"ok":true}', 'utf-8');
  const r = http.get('https://x.test/a?b=1', { query: { q: '결 욘' }, headers: { accept: 'application/json' } });
  const [req] = host.calls[0].args;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, 'https://x.test/a?b=1&q=%EA%B2%B0+%EC%9A%98');
  assert.deepEqual(req.headers, [{ name: 'accept', value: 'application/json' }]);
  assert.deepEqual(r.ensureOk().json(), { ok: true });
  assert.equal(r.header('content-type'), 'text/plain');
  assert.equal(r.header('x-missing'), null);
});

test('statuses, charsets and bad JSON', () => {
  host.reset();
  host.fetch = respond(503, 'busy');
  assert.throws(() => http.get('https://x.test/').ensureOk(), Retryable);
  host.fetch = respond(429, 'slow down');
  assert.throws(() => http.get('https://x.test/').ensureOk(), Blocked);
  // "올리브영" in EUC-KR.
  host.fetch = respond(200, new Uint8Array([0xbf, 0xc3, 0xb8, 0xae, 0xba, 0xea, 0xbf, 0xb5]), 'euc-kr');
  assert.equal(http.get('https://x.test/').text(), '올리브영');
  host.fetch = respond(200, 'not json');
  assert.throws(() => http.get('https://x.test/').json(), ParseError);
  // A host error (outside the allow-list) keeps its variant.
  host.fetch = () => { throw Object.assign(new Error('e'), { payload: { tag: 'blocked', val: 'host not declared' } }); };
  assert.throws(() => http.get('https://elsewhere.test/'), (e) => e instanceof Blocked && e.message === 'host not declared');
  assert.throws(() => http.get('not a url'), /invalid URL/);
});
