import { test } from 'node:test';
import assert from 'node:assert/strict';

const { host } = await import('./fakes/host.js');
const { Run } = await import('../run.js');
const out = await import('../out.js');
const state = await import('../state.js');
const { Other } = await import('../errors.js');
const { definePlugin } = await import('../index.js');

const runAt = (ms) => new Run({ runId: 'r', startedAtMs: BigInt(ms), config: [['n', '7'], ['bad', 'x']] });

test('dates follow the offset; config reads', () => {
  // 2024-08-19T20:00:00Z is already 2024-08-20 in Seoul.
  assert.equal(runAt(1_724_097_600_000).date(0), '2024-08-19');
  assert.equal(runAt(1_724_097_600_000).date(9), '2024-08-20');
  assert.equal(runAt(951_782_400_000).date(0), '2000-02-29');
  const run = runAt(0);
  assert.equal(run.configInt('n', 1), 7);
  assert.equal(run.configInt('missing', 3), 3);
  assert.throws(() => run.configInt('bad', 1), Other);
  assert.throws(() => run.require('missing'), /config key `missing` is not set/);
});

test('records, tasks and payloads', () => {
  assert.deepEqual(out.record('t', 'k', { a: 1 }, { timestampMs: 5 }), { topic: 't', key: 'k', value: '{"a":1}', timestampMs: 5n });
  assert.deepEqual(out.task('page', 'u', { url: 'u' }, { phase: 2 }), { key: 'u', kind: 'page', payload: '{"url":"u"}', phase: 2 });
  assert.deepEqual(out.payload({ key: 'k', payload: '{"x":1}' }), { x: 1 });
  assert.throws(() => out.payload({ key: 'k', payload: '{' }), Other);
});

test('state round-trips JSON; the quota is an Other error', () => {
  host.reset();
  state.putJson('c', { n: 1 });
  assert.deepEqual(state.getJson('c'), { n: 1 });
  assert.equal(state.getJson('missing'), null);
  assert.throws(() => state.put('big', 'x'.repeat(17)), /state quota exceeded/);
  state.remove('c');
  assert.equal(state.get('c'), null);
});

test('definePlugin maps errors and fills the manifest', () => {
  const crawler = definePlugin({
    manifest: { name: 'p', version: '0.1.0', topics: ['p'], hosts: [], config: [{ name: 'k' }] },
    plan: (_run, input) => { throw new TypeError(input.kind); },
    crawl: () => ({ records: [out.record('p', 'k', 1)] }),
  });
  assert.deepEqual(crawler.manifest().config, [{ name: 'k', description: '', defaultValue: undefined, required: false }]);
  assert.throws(() => crawler.plan({ runId: 'r', startedAtMs: 0n, config: [] }, { tag: 'scheduled' }),
    (e) => e.payload.tag === 'other' && e.payload.val === 'TypeError: scheduled');
  assert.deepEqual(crawler.crawl({ runId: 'r', startedAtMs: 0n, config: [] }, {}).tasks, []);
});
