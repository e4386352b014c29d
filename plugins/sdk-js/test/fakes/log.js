/** Fake `crawlhost:plugin/log`: records the messages. */
import { host } from './host.js';

export function log(level, message) {
  host.calls.push({ iface: 'log', args: [level, message] });
}
