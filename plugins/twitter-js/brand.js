/**
 * The brand a trigger record names, and what the plugin searches for it
 * (a port of plugins/twitter/src/brand.rs and of the brand record reader,
 * plugins/brand-record/src/reader.rs). Pure functions.
 *
 * Trigger records are the `oliveyoung` plugin's brand records in either
 * layout: current (`brand`, `brand_code`, `brand_name_en`, `query_keyword`)
 * or legacy (`{"<brand>": {query_keyword, brand_shop_detail_url, ...}}`).
 * Unknown fields are ignored, a field that is missing, blank or of the wrong
 * type counts as absent, and only the brand's name is required.
 */

/** The topic brand records are written to (the plugin's trigger topic). */
export const TRIGGER_TOPIC = 'oliveyoung';

/** The longest query X accepts on the basic access level. */
export const MAX_QUERY_CHARS = 512;

/**
 * @typedef {object} Brand a brand to search for
 * @property {string} code identity: brand code, else record key, else the Korean name
 * @property {string} name_ko Korean name
 * @property {string} name_en English name, empty when unknown
 * @property {string[]} keywords searched for, in order, without ASCII-case-insensitive repeats
 */

/**
 * `s` trimmed, unless blank or not a string.
 * @param {unknown} s
 * @returns {string | null}
 */
function trimmed(s) {
  if (typeof s !== 'string') return null;
  const t = s.trim();
  return t === '' ? null : t;
}

/**
 * The brand code in a brand shop URL (`...?onlBrndCd=A000123`), or null.
 * @param {string} url
 * @returns {string | null}
 */
export function brandCodeOfUrl(url) {
  const q = url.indexOf('?');
  if (q < 0) return null;
  for (const pair of url.slice(q + 1).split(/[&#]/)) {
    if (pair.startsWith('onlBrndCd=')) {
      const code = pair.slice('onlBrndCd='.length).trim();
      return /^[A-Za-z0-9]+$/.test(code) ? code : null;
    }
  }
  return null;
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** @param {string} s */
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The brand the record `value` (with record key `key`) names; throws an
 * `Error` saying why when it names none.
 * @param {string | null} key
 * @param {string} value
 * @returns {Brand}
 */
export function brandFromRecord(key, value) {
  let v;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new Error(`the record is not JSON: ${/** @type {Error} */ (e).message}`);
  }
  if (!isObject(v)) throw new Error('the record is not a JSON object');
  const entries = Object.entries(v);
  // The legacy layout: one entry, brand name -> an object of fields.
  const legacy = entries.length === 1 && !('brand' in v) && isObject(entries[0][1]);
  const fields = /** @type {Record<string, unknown>} */ (legacy ? entries[0][1] : v);
  const legacyName = legacy ? trimmed(entries[0][0]) : null;
  const listedRaw = Array.isArray(fields.query_keyword) ? fields.query_keyword : [];
  const seedKeywords = /** @type {string[]} */ (listedRaw.map(trimmed).filter((k) => k !== null));
  const name = trimmed(fields.brand) ?? legacyName ?? seedKeywords[0] ?? null;
  if (name === null) throw new Error('the record names no brand (`brand`, a legacy message\'s key or `query_keyword`)');
  const nameEn = trimmed(fields.brand_name_en) ?? seedKeywords[1] ?? '';
  const shopUrl = trimmed(fields.brand_shop_detail_url);
  const code = trimmed(fields.brand_code) ?? (shopUrl === null ? null : brandCodeOfUrl(shopUrl)) ?? trimmed(key) ?? name;
  // A double quote would end the quoted phrase early.
  const listed = seedKeywords.map((k) => k.replaceAll('"', ' ').trim()).filter((k) => k !== '');
  const candidates = listed.length === 0 ? [name, nameEn] : listed;
  /** @type {string[]} */
  const keywords = [];
  for (const k of candidates) {
    if (k !== '' && !keywords.some((x) => asciiLower(x) === asciiLower(k))) keywords.push(k);
  }
  return { code, name_ko: name, name_en: nameEn, keywords };
}

/**
 * The search query: every keyword as a quoted phrase, joined by `OR`;
 * throws when it is longer than X accepts.
 * @param {Brand} brand
 * @returns {string}
 */
export function queryOf(brand) {
  const q = brand.keywords.map((k) => `"${k}"`).join(' OR ');
  if ([...q].length > MAX_QUERY_CHARS) {
    throw new Error(`the query for brand ${brand.code} is longer than ${MAX_QUERY_CHARS} characters`);
  }
  return q;
}

const ALNUM = /[\p{Alphabetic}\p{N}]/u;

/**
 * Whether `term` occurs in `text`, ignoring case, and not glued to a letter
 * or digit on either side (`Moma` is not in `Momara`, `#모마` names `모마`).
 * @param {string} text
 * @param {string} term
 * @returns {boolean}
 */
export function termMatches(text, term) {
  const t = text.toLowerCase();
  const k = term.toLowerCase();
  if (k === '') return false;
  const glued = (/** @type {string | undefined} */ c) => c !== undefined && ALNUM.test(c);
  // Every occurrence, overlapping ones included.
  for (let at = t.indexOf(k); at >= 0; at = t.indexOf(k, at + ((t.codePointAt(at) ?? 0) > 0xffff ? 2 : 1))) {
    const before = [...t.slice(0, at)].at(-1);
    const after = [...t.slice(at + k.length)][0];
    if (!glued(before) && !glued(after)) return true;
  }
  return false;
}

/**
 * The brand's keywords that occur in `text`.
 * @param {Brand} brand
 * @param {string} text
 * @returns {string[]}
 */
export function matchedKeywords(brand, text) {
  return brand.keywords.filter((k) => termMatches(text, k));
}
