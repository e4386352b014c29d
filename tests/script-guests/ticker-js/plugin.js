/**
 * The `ticker` test guest in JavaScript, for the per-task overhead benchmark
 * (`host/benches/sandbox.rs`): the Rust guest's behaviour
 * (`tests/guests/ticker`), on the JavaScript SDK. `plan` starts `chains`
 * chains; each task emits one record and queues the next task of its chain,
 * up to `limit`. Its own work is a few JSON values, so a task measures what a
 * JavaScript component costs the host: a fresh instance from the build-time
 * snapshot, the call, the output.
 */

import { definePlugin, out } from '../../../plugins/sdk-js/index.js';

/** @param {number} chain @param {number} n */
const key = (chain, n) => `c${chain}:${n}`;

export const crawler = definePlugin({
  manifest: {
    name: 'ticker-js',
    version: '1.0.0',
    description: 'endless chains of tiny tasks (test guest, JavaScript)',
    topics: ['ticks'],
    hosts: [],
    config: [
      { name: 'chains', description: 'parallel chains of tasks', defaultValue: '4' },
      { name: 'limit', description: 'tasks per chain', defaultValue: '1000000' },
    ],
    triggers: [],
  },

  plan(run) {
    const chains = run.configInt('chains', 4);
    const tasks = [];
    for (let c = 0; c < chains; c++) tasks.push(out.task('tick', key(c, 0), { chain: c, n: 0 }));
    return tasks;
  },

  crawl(run, task) {
    const limit = run.configInt('limit', 1000000);
    const p = out.payload(task);
    const chain = Number(p.chain ?? 0);
    const n = Number(p.n ?? 0);
    const records = [out.record('ticks', task.key, { version: '1.0.0', chain, n })];
    const tasks = n + 1 < limit ? [out.task('tick', key(chain, n + 1), { chain, n: n + 1 })] : [];
    return { records, tasks };
  },
});
