"""The `ticker` test guest in Python, for the per-task overhead benchmark
(`host/benches/sandbox.rs`): the Rust guest's behaviour (`tests/guests/ticker`),
on the Python SDK. `plan` starts `chains` chains; each task emits one record
and queues the next task of its chain, up to `limit`. Its own work is a few
JSON values, so a task measures what a Python component costs the host:
a fresh instance from the build-time snapshot, the call, the output.
"""

from typing import List

import crawlhost
from crawlhost import out


def _key(chain: int, n: int) -> str:
    return f"c{chain}:{n}"


class Ticker(crawlhost.Plugin):
    """Endless chains of tiny tasks."""

    def manifest(self) -> crawlhost.PluginManifest:
        return crawlhost.manifest(
            name="ticker-py",
            version="1.0.0",
            description="endless chains of tiny tasks (test guest, Python)",
            topics=["ticks"],
            hosts=[],
            config=[
                crawlhost.config_key("chains", "parallel chains of tasks", "4"),
                crawlhost.config_key("limit", "tasks per chain", "1000000"),
            ],
        )

    def plan(self, run: crawlhost.Run, input: crawlhost.PlanInput) -> List[crawlhost.Task]:
        chains = run.config_int("chains", 4)
        return [out.task("tick", _key(c, 0), {"chain": c, "n": 0}) for c in range(chains)]

    def crawl(self, run: crawlhost.Run, task: crawlhost.Task) -> crawlhost.CrawlOutput:
        limit = run.config_int("limit", 1_000_000)
        p = out.payload(task)
        chain, n = int(p.get("chain", 0)), int(p.get("n", 0))
        record = out.record("ticks", task.key, {"version": "1.0.0", "chain": chain, "n": n})
        tasks = [out.task("tick", _key(chain, n + 1), {"chain": chain, "n": n + 1})] if n + 1 < limit else []
        return out.output([record], tasks)


Crawler = crawlhost.export(Ticker)
