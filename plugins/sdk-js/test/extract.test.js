import { test } from 'node:test';
import assert from 'node:assert/strict';

const { host } = await import('./fakes/host.js');
const { Tally, isFilled } = await import('../extract.js');

test('identity fails the item, optional does not', () => {
  const tally = new Tally('t');
  const kept = tally.item('a', (i) => ({
    id: i.identity('id', 'x'),
    price: i.optional('price', null),
    note: i.optional('note', '  '),
  }));
  assert.deepEqual(kept, { id: 'x', price: null, note: null });
  // A blank identity is missing; optional fields read before it do not
  // count as misses of a skipped item.
  const skipped = tally.item(() => 'page 2 card #3', (i) => {
    i.optional('price', undefined);
    return i.identity('id', ' ');
  });
  assert.equal(skipped, null);
  tally.item('second', (i) => i.identity('id', undefined));
  assert.equal(tally.kept, 1);
  assert.equal(tally.skipped(), 2);
  assert.equal(tally.skippedBy('id'), 2);
  assert.equal(tally.skips.get('id').firstAt, 'page 2 card #3');
  assert.equal(tally.missesOf('price'), 1);
  assert.equal(tally.missesOf('note'), 1);
  assert.ok(!isFilled(NaN) && isFilled(0) && isFilled(false) && !isFilled([]));
  assert.throws(() => tally.item('x', () => { throw new TypeError('bug'); }), TypeError);
});

test('merge, located and report to the host', () => {
  host.reset();
  const a = new Tally('t');
  a.skip('id', 'u1');
  a.item('x', (i) => i.optional('p', null));
  const b = new Tally('t');
  b.skip('id', 'u2');
  b.skip('name', () => 'u3');
  b.item('x', (i) => i.optional('p', 1));
  a.merge(b);
  assert.deepEqual([a.kept, a.skipped()], [2, 3]);
  assert.equal(a.skips.get('id').firstAt, 'u1');
  a.located('https://x/p?n=1');
  assert.equal(a.skips.get('name').firstAt, 'u3 on https://x/p?n=1');
  a.report();
  const quality = host.calls.filter((c) => c.iface === 'quality').map((c) => c.args);
  assert.deepEqual(quality, [['t', 'id', 2], ['t', 'name', 1]]);
  const logs = host.calls.filter((c) => c.iface === 'log').map((c) => c.args);
  assert.deepEqual(logs[0], ['warn', 'skipped 2 of 5 `t` items without `id` (first at u1 on https://x/p?n=1)']);
  assert.ok(logs.some(([, m]) => m.includes('p 1')));
  // Nothing to say about a clean tally.
  assert.deepEqual(new Tally('t').logLines(), []);
});
