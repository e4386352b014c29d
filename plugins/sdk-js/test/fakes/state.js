/** Fake `crawlhost:plugin/state`: an in-memory map with a 16-byte quota. */
import { host } from './host.js';

export function get(key) {
  return host.state.get(key);
}
export function put(key, value) {
  if (value.length > 16) throw Object.assign(new Error('quota'), { payload: 'state quota exceeded' });
  host.state.set(key, value);
}
function remove(key) {
  host.state.delete(key);
}
export { remove as delete };
