/** Fake `crawlhost:plugin/html`: parsing is the host's; the tests do not parse. */
export class Document {
  static parse() {
    throw Object.assign(new Error('no parser in the unit tests'), { payload: { tag: 'other', val: 'no parser in the unit tests' } });
  }
}
