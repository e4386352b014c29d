// Unit tests of twitter-js's pure parts (cases ported from plugins/twitter):
//   node --import ../sdk-js/test/register.mjs --test test/*.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { brandFromRecord, queryOf, termMatches } = await import('../brand.js');
const { parseCreatedAt, unescapeText, readPage } = await import('../records.js');
const { newer, newestOf, hostOf } = await import('../flow.js');
const { parsePage, sinceIdRefused, statusError } = await import('../api.js');
const { Blocked, Other } = await import('../../sdk-js/index.js');

test('brand records in both layouts', () => {
  const b = brandFromRecord('A000123', '{"brand":"라운드랩","brand_code":"A000123","brand_name_en":"Round Lab","query_keyword":["라운드랩","Round Lab"],"items":{},"category":[]}');
  assert.deepEqual(b, { code: 'A000123', name_ko: '라운드랩', name_en: 'Round Lab', keywords: ['라운드랩', 'Round Lab'] });
  assert.equal(queryOf(b), '"라운드랩" OR "Round Lab"');
  const legacy = brandFromRecord('롬앤', '{"롬앤":{"query_keyword":["롬앤","rom&nd"],"brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777"}}');
  assert.deepEqual([legacy.code, legacy.name_ko, legacy.name_en], ['A000777', '롬앤', 'rom&nd']);
  assert.deepEqual(brandFromRecord(null, '{"brand":"Moma","query_keyword":["Moma","MOMA"," say \\"hi\\" "]}').keywords, ['Moma', 'say  hi']);
  assert.deepEqual(brandFromRecord(null, '{"brand":"모마","brand_name_en":"Moma"}').keywords, ['모마', 'Moma']);
  assert.throws(() => brandFromRecord(null, '{"a":1,"b":2}'), /names no brand/);
  assert.throws(() => brandFromRecord(null, '[1]'), /not a JSON object/);
});

test('keywords match whole words only', () => {
  assert.ok(termMatches('I love #모마 today', '모마'));
  assert.ok(!termMatches('Momara is not it', 'Moma'));
  assert.ok(termMatches('MOMARA and moma', 'Moma'));
});

test('times, escapes and ids', () => {
  assert.equal(parseCreatedAt('2024-08-20T03:00:00.000Z'), 1_724_122_800_000);
  assert.equal(parseCreatedAt('2024-08-20T03:00:01.5Z'), 1_724_122_801_500);
  assert.equal(parseCreatedAt('1970-01-01T00:00:00.000Z'), 0);
  assert.equal(parseCreatedAt('2024-08-20T03:00:00+09:00'), null);
  assert.equal(parseCreatedAt('2024-13-20T03:00:00.000Z'), null);
  assert.equal(unescapeText('rom&amp;nd &lt;3 -&gt; ok &amp;lt; &quot;'), 'rom&nd <3 -> ok &lt; &quot;');
  assert.ok(newer('10', '9') && !newer('9', '10') && !newer('5', '5') && newer('010', '9'));
  assert.equal(newestOf(['9', '10', 'x', '2']), '10');
  assert.equal(hostOf('http://127.0.0.1:8080/x'), '127.0.0.1:8080');
});

test('a page: identity skips, optional nulls, statuses', () => {
  const body = JSON.stringify({
    data: [
      { id: '2', text: 'Moma &amp; me', created_at: '2024-08-20T03:00:00.000Z', author_id: 'u1', lang: 'en', public_metrics: { like_count: 1 } },
      { text: 'no id' },
      { id: '3', text: 'moma', author_id: 'gone' },
    ],
    includes: { users: [{ id: 'u1', username: 'amy', name: 'Amy' }] },
    meta: { newest_id: '3', next_token: '' },
    errors: [{ type: 'https://api.twitter.com/2/problems/resource-not-found', resource_type: 'user', value: 'gone' }],
  });
  const page = parsePage(body, 'u');
  assert.equal(page.meta.nextToken, null);
  const brand = { code: 'A1', name_ko: '모마', name_en: 'Moma', keywords: ['Moma'] };
  const { reads, tally } = readPage(page, brand, '"Moma"', 'u');
  assert.deepEqual(reads.map((r) => r.record.id), ['2', '3']);
  assert.equal(reads[0].record.url, 'https://x.com/amy/status/2');
  assert.equal(reads[0].record.text, 'Moma & me');
  assert.equal(reads[0].timestampMs, 1_724_122_800_000);
  assert.equal(reads[1].record.url, 'https://x.com/i/status/3');
  assert.equal(tally.skippedBy('id'), 1);
  assert.equal(tally.missesOf('metrics.retweet_count'), 1);
  assert.equal(tally.missesOf('author.username'), 1);
  assert.ok(statusError(429, '', 'u', 'h', '17') instanceof Blocked);
  assert.ok(statusError(401, '{"title":"Unauthorized"}', 'u', 'h', null) instanceof Other);
  assert.ok(sinceIdRefused('{"errors":[{"parameters":{"since_id":["1"]}}]}'));
});
