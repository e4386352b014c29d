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


def sink_rows(path, verdict):
    """Rows of bench/sink.py's figures (sink throughput, sink and host memory)."""
    if not os.path.exists(path):
        return [("sink throughput, sink memory, host memory", "not run", "", "", "")]
    with open(path) as f:
        s = json.load(f)
    rows = []
    t = s.get("sink")
    if t:
        r = t["runners"]
        note = f"{t['records']} records, {t['partitions']} partitions, {t['value_bytes'] / 1e6:.0f} MB of values, flush.size {t['flush_size']}, best of {t['repeat']}"
        labels = {"raw": "raw rdkafka read", "sink_none": "crawlhost sink NDJSON (tuned fetch)", "sink_gzip": "crawlhost sink gzip (tuned fetch)",
                  "sink_none_defaults": "crawlhost sink NDJSON (default fetch settings)",
                  "python_none": "Python confluent-kafka+boto3 NDJSON", "python_gzip": "Python confluent-kafka+boto3 gzip"}
        for name, label in labels.items():
            if name in r:
                x = r[name]
                rows.append((f"sink: {label} (records/s)", f"{x['records_per_s']:,.0f} ({x['mb_per_s']:.1f} MB/s; median {x['records_per_s_median']:,.0f}; {x['records_per_cpu_s']:,.0f} records/CPU-s; broker CPU {x['broker_cpu_seconds_median']:.1f} s; peak RSS {x['rss_mib_max']:.0f} MiB)", "", "", note))
        for codec in ("none", "gzip"):
            sink = r.get(f"sink_{codec}")
            if sink and "raw" in r:
                q = sink["records_per_s"] / r["raw"]["records_per_s"]
                rows.append((f"sink {codec} / raw read", "", f"{q:.2f}x", ">= 0.8x", verdict(q >= 0.8)))
            if sink and f"python_{codec}" in r:
                py = r[f"python_{codec}"]
                q = sink["records_per_s"] / py["records_per_s"]
                rows.append((f"sink {codec} / Python", "", f"{q:.1f}x", ">= 5x", verdict(q >= 5)))
                q = sink["records_per_cpu_s"] / py["records_per_cpu_s"]
                rows.append((f"sink {codec} / Python, records per CPU-second", "", f"{q:.1f}x", "(not a goal)", ""))
        d = r.get("sink_none_defaults")
        if d and "raw" in r:
            q = d["records_per_s"] / r["raw"]["records_per_s"]
            rows.append(("sink none, default fetch settings / raw read", "", f"{q:.2f}x", ">= 0.8x", verdict(q >= 0.8)))
    m = s.get("memory", {})
    if m.get("sink"):
        goal = m["goal_mib"]
        by_codec = {}
        for x in m["sink"]:
            codec = x.get("compression", "none")
            by_codec.setdefault(codec, []).append(x)
            rows.append((f"sink peak RSS, {x['partitions']} partitions, {codec}", f"{x['rss_mib']:.1f} MiB ({x['objects']} objects of >= {x['smallest_object_mib']:.1f} MiB, {x['multipart_objects']} multipart, {x['seconds']:.1f} s)", "", f"<= {goal} MiB", verdict(x["rss_mib"] <= goal)))
        for codec, xs in by_codec.items():
            if len(xs) < 2:
                continue
            lo = min(xs, key=lambda x: x["partitions"])
            hi = max(xs, key=lambda x: x["partitions"])
            q = hi["rss_mib"] / lo["rss_mib"]
            # Flat: what one more partition costs, against what Connect's
            # design costs (a part-size buffer per open partition). Goal:
            # under 1% of a part per partition.
            per = (hi["rss_mib"] - lo["rss_mib"]) * 1024 / (hi["partitions"] - lo["partitions"])
            share = per / (m["part_size_mib"] * 1024)
            rows.append((f"sink RSS {hi['partitions']} / {lo['partitions']} partitions, {codec}", f"+{per:.0f} KiB per partition ({share:.1%} of a part)", f"{q:.2f}x", "flat: < 1% of a part per partition", verdict(share < 0.01) + f"; part size {m['part_size_mib']} MiB, {m.get('value_bytes_each', '?')} B values"))
    for x in m.get("host", []):
        rows.append((f"host peak RSS, 3 plugins, {x['tasks']} tasks queued", f"{x['rss_mib']:.1f} MiB ({x['seconds']:.1f} s)", "", "", ""))
    return rows


def crawl_table(c):
    """The crawl runners side by side: throughput, crawlhost's lead, CPU per
    page of the runner and of the fixture site in the same run."""
    r = c["runners"]
    head = ("crawl runner", "pages", "seconds", "pages/s", "ratio (crawlhost / runner)", "CPU ms/page",
            "fixture CPU ms/page", "peak RSS")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    own = r.get("crawlhost", {}).get("pages_per_s")
    for name in ("crawlhost", "crawlhost-py", "scrapy", "original"):
        if name not in r:
            continue
        x = r[name]
        ratio = f"{own / x['pages_per_s']:.1f}x" if own and name != "crawlhost" else ""
        pps = f"{x['pages_per_s']:.0f} (median {x['pages_per_s_median']:.0f})"
        rss = f"{x['peak_rss_mib']:.0f} MiB" if x.get("peak_rss_mib") else ""
        lines.append(f"| {name} | {x['pages']:,} | {x['seconds_best']:.1f} | {pps} | {ratio} | "
                     f"{x['cpu_ms_per_page']:.2f} | {x['site_cpu_ms_per_page']:.2f} | {rss} |")
    recs = ", ".join(f"{k} {'/'.join(f'{n:,}' for n in v)}" for k, v in sorted(c["records"].items()))
    return (f"Crawl: fixture-site seed {c['seed']}, scale {c['scale']}; records {recs}; "
            f"concurrency {c['concurrency']}, best of {c['repeat']} (CPU: median)\n\n" + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--criterion", required=True)
    args = ap.parse_args()
    rows = []  # (figure, value, ratio, goal, verdict)
    crawl = ""

    def verdict(ok):
        return "meets" if ok else "MISSES"

    crawl_path = os.path.join(args.dir, "crawl.json")
    if os.path.exists(crawl_path):
        with open(crawl_path) as f:
            c = json.load(f)
        r = c["runners"]
        crawl = crawl_table(c)
        if "crawlhost" in r:
            h = r["crawlhost"]["pages_per_s"]
            if "scrapy" in r:
                q = h / r["scrapy"]["pages_per_s"]
                rows.append(("crawl: crawlhost / Scrapy", "", f"{q:.1f}x", ">= 10x", verdict(q >= 10)))
            if "original" in r:
                q = h / r["original"]["pages_per_s"]
                rows.append(("crawl: crawlhost / original", "", f"{q:.1f}x", ">= 20x", verdict(q >= 20)))
        if "crawlhost-py" in r and "scrapy" in r:
            py, scrapy = r["crawlhost-py"], r["scrapy"]
            q = py["pages_per_s"] / scrapy["pages_per_s"]
            rows.append(("crawl: Python port / Scrapy, pages/s", f"{py['pages_per_s']:.0f} / {scrapy['pages_per_s']:.0f}",
                         f"{q:.1f}x", ">= 3x", verdict(q >= 3)))
            q = py["cpu_ms_per_page"] / scrapy["cpu_ms_per_page"]
            rows.append(("crawl: Python port / Scrapy, CPU per page",
                         f"{py['cpu_ms_per_page']:.2f} / {scrapy['cpu_ms_per_page']:.2f} ms", f"{q:.2f}x", "<= 0.5x",
                         verdict(q <= 0.5)))
        if r.get("crawlhost-py", {}).get("peak_rss_mib") and r.get("crawlhost", {}).get("peak_rss_mib"):
            extra = r["crawlhost-py"]["peak_rss_mib"] - r["crawlhost"]["peak_rss_mib"]
            per = extra / c["concurrency"]
            rows.append((f"memory per Python instance (peak RSS over the Rust plugin's / {c['concurrency']} in flight)",
                         f"{per:.1f} MiB", "", "", ""))
        for name, x in c.get("load", {}).items():
            rows.append((f"load {name} ({x['bytes'] / 1e6:.1f} MB): compile / cached", f"{x['compile_s']:.2f} s / {x['cached_s']:.2f} s",
                         "", "cached < 1 s", verdict(x["cached_s"] < 1)))

    crit = args.criterion
    for mode in ("on", "off"):
        ns = estimate(crit, "task_overhead", f"pooling_{mode}")
        if ns is not None:
            rows.append((f"per-task overhead, pooling {mode}", fmt_ns(ns), "", "<= 50 µs", verdict(ns <= 50_000)))
    for lang in ("python", "js"):
        for mode in ("on", "off"):
            ns = estimate(crit, "task_overhead", f"{lang}_pooling_{mode}")
            if ns is not None:
                rows.append((f"per-task overhead, {lang} component, pooling {mode}", fmt_ns(ns), "", "< 2 ms",
                             verdict(ns < 2_000_000)))
    for page in ("goods", "brand_list"):
        native = estimate(crit, "extraction", f"native_{page}")
        wasm = estimate(crit, "extraction", f"wasm_{page}")
        one = estimate(crit, "extraction", f"wasm_{page}_one_call")
        own = estimate(crit, "extraction", f"guest_parser_{page}")
        if native is not None and wasm is not None:
            q = wasm / native
            rows.append((f"extraction {page}: native / html capability / one task", f"{fmt_ns(native)} / {fmt_ns(wasm)} / {fmt_ns(one)}", f"{q:.2f}x", "<= 1.15x", verdict(q <= 1.15)))
        if native is not None and own is not None:
            rows.append((f"extraction {page}: parser compiled into the guest", fmt_ns(own), f"{own / native:.2f}x", "(before the capability)", ""))

    rows += sink_rows(os.path.join(args.dir, "sink.json"), verdict)

    head = ("figure", "value", "ratio", "goal", "")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    machine = ""
    mpath = os.path.join(args.dir, "machine.txt")
    if os.path.exists(mpath):
        with open(mpath) as f:
            machine = f.read()
    text = machine + "\n" + (crawl + "\n" if crawl else "") + "\n".join(lines) + "\n"
    with open(os.path.join(args.dir, "table.md"), "w") as f:
        f.write(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
