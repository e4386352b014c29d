/** Fake `crawlhost:plugin/quality`: records the reports. */
import { host } from './host.js';

export function skipped(topic, field, count) {
  host.calls.push({ iface: 'quality', args: [topic, field, count] });
}
