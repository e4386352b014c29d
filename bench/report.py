"""The table `make bench` ends with: figures and ratios against the goals of
issue 7, from target/bench/crawl.json and criterion's estimates. Writes the
same table to target/bench/table.md for BENCHMARKS.md."""

import argparse
import json
import os


def estimate(criterion, group, name):
    """Criterion's mean estimate in nanoseconds, or None when not run."""
    path = os.path.join(criterion, group, name, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"]


def fmt_ns(ns):
    if ns is None:
        return "not run"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--criterion", required=True)
    args = ap.parse_args()
    rows = []  # (figure, value, ratio, goal, verdict)

    def verdict(ok):
        return "meets" if ok else "MISSES"

    crawl_path = os.path.join(args.dir, "crawl.json")
    if os.path.exists(crawl_path):
        with open(crawl_path) as f:
            c = json.load(f)
        r = c["runners"]
        note = f"{c['records']} records each, concurrency {c['concurrency']}, best of {c['repeat']}"
        for name in ("crawlhost", "scrapy", "original"):
            if name in r:
                x = r[name]
                rows.append((f"crawl {name} (pages/s)", f"{x['pages_per_s']:.0f} (median {x['pages_per_s_median']:.0f}; {x['pages']} pages in {x['seconds_best']:.2f} s)", "", "", note))
        if "crawlhost" in r:
            h = r["crawlhost"]["pages_per_s"]
            if "scrapy" in r:
                q = h / r["scrapy"]["pages_per_s"]
                rows.append(("crawl: crawlhost / Scrapy", "", f"{q:.1f}x", ">= 10x", verdict(q >= 10)))
            if "original" in r:
                q = h / r["original"]["pages_per_s"]
                rows.append(("crawl: crawlhost / original", "", f"{q:.1f}x", ">= 20x", verdict(q >= 20)))

    crit = args.criterion
    for mode in ("on", "off"):
        ns = estimate(crit, "task_overhead", f"pooling_{mode}")
        if ns is not None:
            rows.append((f"per-task overhead, pooling {mode}", fmt_ns(ns), "", "<= 50 µs", verdict(ns <= 50_000)))
    for page in ("goods", "brand_list"):
        native = estimate(crit, "extraction", f"native_{page}")
        wasm = estimate(crit, "extraction", f"wasm_{page}")
        one = estimate(crit, "extraction", f"wasm_{page}_one_call")
        if native is not None and wasm is not None:
            q = wasm / native
            rows.append((f"extraction {page}: native / wasm / wasm one task", f"{fmt_ns(native)} / {fmt_ns(wasm)} / {fmt_ns(one)}", f"{q:.2f}x", "<= 1.5x", verdict(q <= 1.5)))

    rows.append(("sink throughput, sink memory, host memory", "not measured (TODO, see BENCHMARKS.md)", "", "", ""))

    head = ("figure", "value", "ratio", "goal", "")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    machine = ""
    mpath = os.path.join(args.dir, "machine.txt")
    if os.path.exists(mpath):
        with open(mpath) as f:
            machine = f.read()
    text = machine + "\n" + "\n".join(lines) + "\n"
    with open(os.path.join(args.dir, "table.md"), "w") as f:
        f.write(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
