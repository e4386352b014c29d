"""Crawl throughput: crawlhost (fetch -> wasm parse -> bus) against Scrapy and
the original urllib + BeautifulSoup + multiprocessing crawler, on the
Oliveyoung fixture site with politeness off, its catalogue multiplied by
--scale (so a run measures throughput, not start-up). Each runner gets a
fresh fixture-site process (its own process, the same seed and scale) per
repeat, so the site's per-instance faults hit every runner alike.

Pages/s = HTTP requests answered / crawl seconds. Crawl seconds exclude
process start-up (Python imports; crawlhost reads its compiled plugin from a
warm cache), and the wall time including start-up is reported alongside.
CPU ms/page = user + system CPU of the runner's process tree (its own
threads and every child it waited for, e.g. the original crawler's
multiprocessing pool; start-up included) / pages; the fixture site's own CPU
per page, over the same run, shows whether the site was the limit.
Fails loudly when the runners' record or page counts do not add up.

Runner `crawlhost-py` is the same host with the Oliveyoung plugin ported to
Python (plugins/oliveyoung-py, componentize-py); it must land the Rust
plugin's record count. Each crawlhost run's peak RSS is read with GNU time
(`/usr/bin/time -f %M`). After the crawls, `crawlhost plugin compile` times
the first load (compile) and the cached load of each --load component.

Writes the figures as JSON to --out; scripts/bench.sh prints the table."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def children_cpu():
    """User + system CPU seconds of this process's children that have ended
    and been waited for (each with its own waited-for children)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Fixture:
    """fixture-site in its own process, on a free loopback port."""

    def __init__(self, seed, scale):
        self.dir = tempfile.mkdtemp(prefix="bench-fixture-")
        url_file = os.path.join(self.dir, "url")
        self.proc = subprocess.Popen(
            [os.path.join(target_dir(), "release", "fixture-site"), "--addr", "127.0.0.1:0",
             "--url-file", url_file, "--seed", str(seed), "--scale", str(scale)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(url_file):
            if self.proc.poll() is not None:
                sys.exit(f"fixture-site exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.close()
                sys.exit("fixture-site did not write its URL within 60 s")
            time.sleep(0.05)
        with open(url_file) as f:
            self.url = f.read().strip()

    def cpu(self):
        """User + system CPU seconds the server has used so far, all threads
        (utime and stime of /proc/<pid>/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # fields[0] is field 3
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def crawlhost_config(work, base_url, concurrency, name):
    # Limits not set here stay at their defaults (at scale 40 no task fails; by
    # count none binds up to scale 100):
    # [run] max_tasks_per_run (1,000,000; a run has under 400 tasks per unit of
    # scale), [sandbox] max_follow_ups_per_task (100,000; the brand list
    # schedules 300 per unit) and task_timeout_secs (120 s per task, not per
    # run), [http] max_response_bytes (16 MiB; the brand list, the largest
    # page, is 2 MB at scale 40), [html] max_results (100,000; the brand list
    # has 24,000 links at scale 40).
    return f"""[host]
plugins_dir = "{work}/plugins"
data_dir = "{work}/data"
[http]
allow_private_addresses = true
[http.politeness]
requests_per_second = 100000.0
burst = 10000
concurrency = 64
jitter_ms = 0
[http.retry]
max_attempts = 1
[http.circuit]
failure_threshold = 0
[run]
concurrency = {concurrency}
max_attempts = 1
[plugins.{name}]
config = {{ base_url = "{base_url}" }}
"""


def run_crawlhost(crawlhost, plugin, name, base_url, concurrency, cache):
    """One `crawlhost run --once --json` of plugin `name` in a fresh data
    directory whose compile cache is shared across repeats (so a run does not
    compile). Peak RSS comes from GNU time when it is installed."""
    work = tempfile.mkdtemp(prefix="bench-crawlhost-")
    try:
        os.makedirs(f"{work}/plugins")
        os.makedirs(f"{work}/data")
        os.symlink(cache, f"{work}/data/cache")
        shutil.copy(plugin, f"{work}/plugins/{name}.wasm")
        conf = f"{work}/crawlhost.toml"
        with open(conf, "w") as f:
            f.write(crawlhost_config(work, base_url, concurrency, name))
        rss_file = f"{work}/rss"
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss_file] if os.path.exists("/usr/bin/time") else []
        started = time.perf_counter()
        p = subprocess.run(
            timed + [crawlhost, "--config", conf, "run", "--once",
                     "--json", "--quiet", "--plugin", name],
            capture_output=True, text=True, env={**os.environ, "RUST_LOG": "error"})
        wall = time.perf_counter() - started
        try:
            summary = json.loads(p.stdout)
        except json.JSONDecodeError:
            sys.exit(f"crawlhost printed no JSON summary (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
        if isinstance(summary, list):
            summary = summary[0]
        if summary.get("fatal"):
            sys.exit(f"crawlhost run failed: {summary['fatal']}")
        rss_mib = None
        if timed:
            with open(rss_file) as f:
                rss_mib = int(f.read().strip().splitlines()[-1]) / 1024
        return {"peer": name, "pages": summary["fetch"]["requests"],
                "records": summary["records"], "seconds": summary["duration_ms"] / 1000.0,
                "wall": wall, "tasks_failed": len(summary.get("tasks_failed", [])),
                "peak_rss_mib": rss_mib}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_times(crawlhost, wasm):
    """`crawlhost plugin compile` of `wasm` into an empty compile cache, then
    again from the cache: (compile seconds, cached-load seconds), as the
    command reports them (read, compile or cache load, contract check,
    `manifest()`)."""
    work = tempfile.mkdtemp(prefix="bench-load-")
    try:
        conf = f"{work}/crawlhost.toml"
        with open(conf, "w") as f:
            f.write(f'[host]\nplugins_dir = "{work}"\ndata_dir = "{work}/data"\n')
        seconds = []
        for want in ("compiled", "cached"):
            p = subprocess.run([crawlhost, "--config", conf, "plugin", "compile", wasm],
                               capture_output=True, text=True, env={**os.environ, "RUST_LOG": "error"})
            line = p.stdout.splitlines()[0] if p.stdout else ""
            if p.returncode != 0 or not line.startswith(want):
                sys.exit(f"plugin compile {wasm}: expected `{want}`, got:\n{p.stdout}\n{p.stderr}")
            seconds.append(float(line.rsplit(" in ", 1)[1].split()[0]))
        return {"bytes": os.path.getsize(wasm), "compile_s": seconds[0], "cached_s": seconds[1]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_peer(python, script, base_url, concurrency):
    out = tempfile.mktemp(prefix="bench-peer-", suffix=".ndjson")
    try:
        started = time.perf_counter()
        p = subprocess.run([python, os.path.join(ROOT, "bench", "peers", script), "--base-url",
                            base_url, "--concurrency", str(concurrency), "--out", out],
                           capture_output=True, text=True)
        wall = time.perf_counter() - started
        if p.returncode != 0:
            sys.exit(f"{script} failed (exit {p.returncode}):\n{p.stderr[-4000:]}")
        result = json.loads(p.stdout.strip().splitlines()[-1])
        with open(out, encoding="utf-8") as f:
            written = sum(1 for line in f if line.strip())
        if written != result["records"]:
            sys.exit(f"{script} reported {result['records']} records but wrote {written}")
        result["wall"] = wall
        return result
    finally:
        if os.path.exists(out):
            os.remove(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="the bench venv's python")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=40,
                    help="fixture-site --scale: the catalogue times N (1 = 720 pages)")
    ap.add_argument("--only", default="crawlhost,crawlhost-py,scrapy,original")
    ap.add_argument("--crawlhost", default=os.path.join(target_dir(), "release", "crawlhost"))
    wasm_dir = os.path.join(target_dir(), "wasm32-wasip2", "release")
    ap.add_argument("--plugin", default=os.path.join(wasm_dir, "oliveyoung.wasm"))
    ap.add_argument("--plugin-py", default=os.path.join(wasm_dir, "oliveyoung-py.wasm"),
                    help="the Oliveyoung plugin ported to Python (runner crawlhost-py)")
    ap.add_argument("--load", default=",".join(os.path.join(wasm_dir, f) for f in
                                               ("oliveyoung.wasm", "oliveyoung-py.wasm", "ticker-js.wasm")),
                    help="components whose compile and cached-load times are measured")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    cache = tempfile.mkdtemp(prefix="bench-cache-")
    runners = {
        "crawlhost": lambda url: run_crawlhost(args.crawlhost, args.plugin, "oliveyoung", url,
                                               args.concurrency, cache),
        "crawlhost-py": lambda url: run_crawlhost(args.crawlhost, args.plugin_py, "oliveyoung-py", url,
                                                  args.concurrency, cache),
        "scrapy": lambda url: run_peer(args.python, "scrapy_peer.py", url, args.concurrency),
        "original": lambda url: run_peer(args.python, "original_bs4.py", url, args.concurrency),
    }
    chosen = [r for r in args.only.split(",") if r]
    try:
        for name in ("crawlhost", "crawlhost-py"):
            if name not in chosen:
                continue
            # Warm-up: fills the compile cache; not counted (scale 1: only
            # the cache matters).
            fx = Fixture(args.seed, 1)
            try:
                runners[name](fx.url)
            finally:
                fx.close()
        runs = {name: [] for name in chosen}
        # Interleaved, so load from other processes on the machine spreads
        # over every runner rather than landing on one.
        for i in range(args.repeat):
            for name in chosen:
                fx = Fixture(args.seed, args.scale)
                try:
                    # The runner is the only child waited for in between
                    # (the fixture is reaped after), so the delta is its tree.
                    cpu, site_cpu = children_cpu(), fx.cpu()
                    r = runners[name](fx.url)
                    r["cpu_seconds"] = children_cpu() - cpu
                    r["site_cpu_seconds"] = fx.cpu() - site_cpu
                finally:
                    fx.close()
                r["cpu_ms_per_page"] = 1000 * r["cpu_seconds"] / r["pages"]
                r["site_cpu_ms_per_page"] = 1000 * r["site_cpu_seconds"] / r["pages"]
                print(f"  crawl {name} #{i + 1}: {r['pages']} pages, {r['records']} records, "
                      f"{r['seconds']:.2f} s ({r['pages'] / r['seconds']:.0f} pages/s), wall {r['wall']:.2f} s, "
                      f"CPU {r['cpu_ms_per_page']:.2f} ms/page, fixture CPU {r['site_cpu_ms_per_page']:.2f} ms/page",
                      file=sys.stderr)
                runs[name].append(r)
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    # Each runner must be consistent across repeats; the peers must agree
    # with each other. crawlhost may do more than the peers, never less:
    # since issue 14 the plugin keeps the six brands the fixture breaks on
    # purpose (their records, and their products from the landing page),
    # which the peers, like the original crawler, drop. The extra pages it
    # fetches for them count in its pages/s like any other.
    records = {name: {r["records"] for r in rs} for name, rs in runs.items()}
    if any(len(v) != 1 for v in records.values()):
        sys.exit(f"RECORD COUNTS DIFFER between repeats: {records}")
    own_runners = ("crawlhost", "crawlhost-py")
    if "crawlhost" in records and "crawlhost-py" in records and records["crawlhost"] != records["crawlhost-py"]:
        sys.exit(f"THE PYTHON PORT LANDED OTHER RECORD COUNTS than the Rust plugin: {records}")
    peer_records = {v for name, vs in records.items() if name not in own_runners for v in vs}
    if len(peer_records) > 1:
        sys.exit(f"RECORD COUNTS DIFFER between the peers: {records}")
    peer_count = peer_records.pop() if peer_records else None
    own = next(iter(records.get("crawlhost", {0})))
    if peer_count is not None and "crawlhost" in records and own < peer_count:
        sys.exit(f"crawlhost extracted fewer records than the peers: {records}")
    pages = {name: {r["pages"] for r in rs} for name, rs in runs.items()}
    peer_pages = {p for name, ps in pages.items() if name not in own_runners for p in ps}
    if len(peer_pages) > 1:
        sys.exit(f"PAGE COUNTS DIFFER between the peers: {pages}")
    # crawlhost also fetches robots.txt once (the peers do not).
    if peer_pages and "crawlhost" in pages and min(pages["crawlhost"]) - 1 < min(peer_pages):
        sys.exit(f"crawlhost fetched fewer pages than the peers: {pages}")
    result = {"concurrency": args.concurrency, "repeat": args.repeat, "seed": args.seed, "scale": args.scale,
              "records": {k: sorted(v) for k, v in records.items()}, "pages": {k: sorted(v) for k, v in pages.items()},
              "runners": {}}
    for name, rs in runs.items():
        best = min(rs, key=lambda r: r["seconds"])
        med = sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2]
        result["runners"][name] = {
            "pages": best["pages"], "seconds_best": best["seconds"], "seconds_median": med["seconds"],
            "pages_per_s": best["pages"] / best["seconds"],
            "pages_per_s_median": med["pages"] / med["seconds"],
            "wall_median": sorted(r["wall"] for r in rs)[len(rs) // 2],
            "cpu_ms_per_page": statistics.median(r["cpu_ms_per_page"] for r in rs),
            "site_cpu_ms_per_page": statistics.median(r["site_cpu_ms_per_page"] for r in rs),
            "peak_rss_mib": max((r.get("peak_rss_mib") or 0) for r in rs) or None,
            "runs": rs,
        }
    result["load"] = {}
    for wasm in [w for w in args.load.split(",") if w]:
        if os.path.exists(wasm):
            result["load"][os.path.basename(wasm)] = x = load_times(args.crawlhost, wasm)
            print(f"  load {os.path.basename(wasm)}: {x['bytes'] / 1e6:.1f} MB, compile {x['compile_s']:.2f} s, "
                  f"cached {x['cached_s']:.2f} s", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
