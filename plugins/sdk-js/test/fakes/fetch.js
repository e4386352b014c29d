/** Fake `crawlhost:plugin/fetch`: answers with `host.fetch`. */
import { host } from './host.js';

export function fetch(request) {
  host.calls.push({ iface: 'fetch', args: [request] });
  return host.fetch(request);
}
