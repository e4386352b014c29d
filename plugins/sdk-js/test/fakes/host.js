/**
 * What the fake imports saw and what they answer: tests set `responses` and
 * read `calls`.
 */
export const host = {
  /** @type {{iface: string, args: unknown[]}[]} */
  calls: [],
  /** @type {((request: any) => any) | null} the fake `fetch` */
  fetch: null,
  /** @type {Map<string, Uint8Array>} */
  state: new Map(),
  reset() {
    this.calls.length = 0;
    this.fetch = null;
    this.state.clear();
  },
};
