"""Sink throughput and memory for `make bench` (BENCHMARKS.md explains them).

Needs: the release `crawlhost` and `kafka-bench` binaries, tansu
(scripts/install/tansu.sh), moto_server in .venv (scripts/install/moto.sh),
and this script run by .venv-bench's Python (boto3, confluent-kafka;
bench/venv.sh). Starts its own tansu broker (SQLite storage in a temporary
directory) and moto S3 server on free loopback ports.

Parts (--only):
- sink: a topic pre-filled with N product-like JSON records is written to
  S3 as NDJSON and as gzip by `crawlhost sink --once`, read raw by
  `kafka-bench read` (plain rdkafka, the limit) and written by the Python
  peer (bench/peers/sink_python.py, confluent-kafka + boto3), same key
  layout and flush.size. Every writer's objects are listed back and their
  records counted: they must equal N, and both writers must produce the
  same keys (and for NDJSON the same bytes).
- memory (= sink-memory + host-memory):
  - sink-memory: peak RSS (GNU time's %M, the child's ru_maxrss, i.e.
    VmHWM) of `crawlhost sink --once` over topics of 1, 10, 100 and 300
    partitions holding the same bytes per partition (more than one
    `s3.part.size` each, in 1 KiB values), with a flush.size no partition
    reaches, so every partition has an open file bigger than a part when
    the drain uploads them (multipart); NDJSON at every count, gzip and
    zstd at 1 and 300;
  - host-memory: peak RSS of `crawlhost run --once --plugin echo` with
    three plugins loaded and echo's plan queueing 10 / 10k / 100k tasks.

Writes the figures to --out (JSON) for bench/report.py.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config as BotoConfig

MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on {port} within {timeout} s")


def log(msg):
    print(f"[sink bench] {msg}", file=sys.stderr, flush=True)


LAST_CPU = [0.0]
TIME = "/usr/bin/time"


def run_measured(cmd, cwd=None, env=None, stdout_json=True):
    """Run `cmd`, return (wall seconds, peak RSS in MiB, parsed stdout);
    the child's CPU seconds (user + system) go to LAST_CPU[0].

    The peak comes from GNU time (`%M`, the child's ru_maxrss), not from
    this process's wait4: Linux carries a process's max RSS across exec, so
    a child forked from this Python (about 45 MiB with boto3 loaded) would
    never report less than that."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        started = time.monotonic()
        proc = subprocess.run([TIME, "-f", "%M %U %S", "-o", t.name, *cmd], cwd=cwd, env=env, capture_output=True)
        seconds = time.monotonic() - started
        measured = t.read().split()
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout.decode()}\n{err[-4000:]}")
    # GNU time may prefix a "Command exited..." line; the figures are last.
    max_kb, user, system = measured[-3:]
    LAST_CPU[0] = float(user) + float(system)
    out = proc.stdout.decode()
    parsed = json.loads(out) if stdout_json else out
    return seconds, int(max_kb) / 1024.0, parsed


class Services:
    """tansu + moto, stopped on exit."""

    def __init__(self, tansu, moto):
        self.dir = tempfile.mkdtemp(prefix="crawlhost-sink-bench-")
        self.kafka_port = free_port()
        url = f"tcp://127.0.0.1:{self.kafka_port}"
        env = {k: v for k, v in os.environ.items() if k not in ("STORAGE_ENGINE", "LISTENER_URL", "ADVERTISED_LISTENER_URL")}
        tdir = os.path.join(self.dir, "tansu")
        os.makedirs(tdir)
        self.tansu_bin = tansu
        self.tansu = subprocess.Popen(
            [tansu, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "sqlite://tansu.db"],
            cwd=tdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(tdir, "tansu.log"), "wb"),
            stderr=subprocess.STDOUT,
        )
        self.s3_port = free_port()
        self.moto = subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.kafka_port, "tansu")
        wait_port(self.s3_port, "moto_server")
        self.brokers = f"127.0.0.1:{self.kafka_port}"
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=BotoConfig(retries={"max_attempts": 10}),
        )

    def broker_cpu(self):
        """CPU seconds the broker has used so far (user + system)."""
        with open(f"/proc/{self.tansu.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def create_topic(self, name, partitions):
        url = f"tcp://127.0.0.1:{self.kafka_port}"
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run(
                [self.tansu_bin, "topic", "create", "--broker", url, "--partitions", str(partitions), name],
                capture_output=True,
                text=True,
            )
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                sys.exit(f"tansu topic create {name}: {r.stdout}{r.stderr}")
            time.sleep(0.5)

    def bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def objects(self, bucket):
        """key -> (size, etag)."""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"])
        return out

    def drop_bucket(self, bucket):
        for key in self.objects(bucket):
            self.s3.delete_object(Bucket=bucket, Key=key)
        self.s3.delete_bucket(Bucket=bucket)

    def stop(self):
        for p in (self.tansu, self.moto):
            p.kill()
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


KEY_RE = re.compile(r"^(?P<dir>[^/]+)/(?P<topic>[^/]+)/partition=(?P<p>\d+)/(?P=topic)\+(?P=p)\+(?P<start>\d{10})\.(?P<ext>json(\.gz)?)$")


def check_objects(svc, bucket, topic, expected_records, ext, flush_size):
    """Count the records of every object and check the keys follow the
    layout with contiguous batches of flush_size records."""
    objs = svc.objects(bucket)
    per_partition = {}
    total = 0
    for key in objs:
        if key.startswith("_crawlhost/"):
            sys.exit(f"{bucket}: a batch marker was left behind: {key}")
        m = KEY_RE.match(key)
        if not m or m["topic"] != topic or m["ext"] != ext:
            sys.exit(f"{bucket}: unexpected key {key}")
        body = svc.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if ext == "json.gz":
            body = gzip.decompress(body)
        if not body.endswith(b"\n"):
            sys.exit(f"{bucket}/{key}: no trailing newline")
        n = body.count(b"\n")
        total += n
        per_partition.setdefault(int(m["p"]), []).append((int(m["start"]), n))
    for p, batches in per_partition.items():
        batches.sort()
        nxt = 0
        for start, n in batches:
            if start != nxt:
                sys.exit(f"{bucket}: partition {p} has a batch at {start}, expected {nxt}")
            if n > flush_size:
                sys.exit(f"{bucket}: partition {p} batch {start} has {n} > flush.size records")
            nxt = start + n
    if total != expected_records:
        sys.exit(f"{bucket}: {total} records in S3, expected {expected_records}")
    return objs


# The "tuned" sink runs: what BENCHMARKS.md recommends for Kafka today (the
# bus's reader pays a fixed latency per fetch; see there).
TUNED_FETCH_MAX_RECORDS = 10_000
TUNED_KAFKA_PROPERTIES = {"fetch.wait.max.ms": "10"}


def sink_config(path, svc, topic, group, bucket, data_dir, flush_size, compression, part_size=None, tuned=False):
    lines = [
        "[host]",
        f'data_dir = "{data_dir}"',
        f'plugins_dir = "{os.path.join(data_dir, "no-plugins")}"',
        "[kafka]",
        f'bootstrap_servers = "{svc.brokers}"',
    ]
    if tuned:
        lines.append("[kafka.properties]")
        lines += [f'"{k}" = "{v}"' for k, v in TUNED_KAFKA_PROPERTIES.items()]
    lines += [
        "[sink]",
        f'topics = ["{topic}"]',
        f'group = "{group}"',
        f"flush_size = {flush_size}",
        f'compression = "{compression}"',
    ]
    if part_size:
        lines.append(f"part_size = {part_size}")
    if tuned:
        lines.append(f"fetch_max_records = {TUNED_FETCH_MAX_RECORDS}")
    lines += [
        "[sink.store]",
        'kind = "s3"',
        f'bucket = "{bucket}"',
        f'endpoint = "{svc.endpoint}"',
        'region = "us-east-1"',
        'access_key_id = "test"',
        'secret_access_key = "test"',
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_sink(args, svc, topic, tag, flush_size, compression, part_size=None, tuned=False):
    data_dir = os.path.join(svc.dir, f"host-{tag}")
    os.makedirs(os.path.join(data_dir, "no-plugins"), exist_ok=True)
    bucket = svc.bucket(f"sink-{tag}")
    config = os.path.join(data_dir, "crawlhost.toml")
    sink_config(config, svc, topic, f"bench-sink-{tag}", bucket, data_dir, flush_size, compression, part_size, tuned)
    env = dict(os.environ, RUST_LOG="warn")
    seconds, rss, report = run_measured([args.crawlhost, "--config", config, "sink", "--once", "--json"], env=env)
    return bucket, seconds, rss, report


def run_python(args, svc, topic, tag, flush_size, compression):
    bucket = svc.bucket(f"py-{tag}")
    cmd = [
        args.python, os.path.join(os.path.dirname(__file__), "peers", "sink_python.py"),
        "--brokers", svc.brokers, "--topic", topic, "--group", f"bench-py-{tag}",
        "--endpoint", svc.endpoint, "--bucket", bucket,
        "--flush-size", str(flush_size), "--compression", compression,
    ]
    seconds, rss, report = run_measured(cmd)
    return bucket, seconds, rss, report


def best_and_median(xs):
    s = sorted(xs)
    return s[0], s[len(s) // 2]


def throughput(args, svc, result):
    topic = "products"
    n = args.records
    log(f"topic {topic}: {args.partitions} partitions, filling {n} records")
    svc.create_topic(topic, args.partitions)
    secs, _, fill = run_measured([args.kafka_bench, "--brokers", svc.brokers, "fill", "--topic", topic,
                                  "--partitions", str(args.partitions), "--records", str(n)])
    value_bytes = fill["value_bytes"]
    log(f"filled {n} records, {value_bytes / MIB:.1f} MiB of values ({value_bytes / n:.0f} B each) in {secs:.1f} s")
    runs = {}  # name -> list of (seconds, rss)

    broker_mark = [svc.broker_cpu()]

    def add(name, seconds, rss):
        # Broker CPU since the previous runner finished (object checks in
        # between do not touch the broker).
        now = svc.broker_cpu()
        runs.setdefault(name, []).append({"seconds": seconds, "rss_mib": rss, "cpu_seconds": LAST_CPU[0], "broker_cpu_seconds": now - broker_mark[0]})
        broker_mark[0] = now

    raw_cmd = [args.kafka_bench, "--brokers", svc.brokers, "read", "--topic", topic]
    for k, v in TUNED_KAFKA_PROPERTIES.items():
        raw_cmd += ["-X", f"{k}={v}"]
    # Warm-up: the first read of a fresh topic pays for the broker's cold
    # caches; nobody should get that handicap.
    secs, _, _ = run_measured(raw_cmd)
    log(f"warm-up read: {n / secs:,.0f} records/s ({secs:.2f} s)")
    broker_mark[0] = svc.broker_cpu()
    for rep in range(args.repeat):
        secs, rss, raw = run_measured(raw_cmd)
        if raw["records"] != n:
            sys.exit(f"raw read got {raw['records']} records, expected {n}")
        add("raw", secs, rss)
        log(f"[{rep + 1}/{args.repeat}] raw rdkafka read: {n / secs:,.0f} records/s ({secs:.2f} s)")
        for compression, ext in (("none", "json"), ("gzip", "json.gz")):
            tag = f"{compression}-{rep}"
            sb, secs, rss, report = run_sink(args, svc, topic, tag, args.flush_size, compression, tuned=True)
            if report["records_written"] != n:
                sys.exit(f"sink reported {report['records_written']} records, expected {n}")
            sink_objs = check_objects(svc, sb, topic, n, ext, args.flush_size)
            add(f"sink_{compression}", secs, rss)
            log(f"[{rep + 1}/{args.repeat}] crawlhost sink ({compression}, tuned): {n / secs:,.0f} records/s ({secs:.2f} s, {len(sink_objs)} objects, peak RSS {rss:.0f} MiB)")
            pb, secs, rss, report = run_python(args, svc, topic, tag, args.flush_size, compression)
            py_objs = check_objects(svc, pb, topic, n, ext, args.flush_size)
            add(f"python_{compression}", secs, rss)
            log(f"[{rep + 1}/{args.repeat}] Python confluent-kafka + boto3 ({compression}): {n / secs:,.0f} records/s ({secs:.2f} s, peak RSS {rss:.0f} MiB)")
            if set(sink_objs) != set(py_objs):
                sys.exit(f"sink and Python wrote different keys: {sorted(set(sink_objs) ^ set(py_objs))[:5]}")
            if compression == "none":
                differ = [k for k in sink_objs if sink_objs[k][1] != py_objs[k][1]]
                if differ:
                    sys.exit(f"sink and Python objects differ in content: {differ[:5]}")
            svc.drop_bucket(pb)
            if compression == "none" and rep == 0 and not args.skip_defaults:
                # Out of the box ([sink] and [kafka] defaults), once: slow.
                db, secs, rss, report = run_sink(args, svc, topic, "defaults", args.flush_size, compression)
                if report["records_written"] != n:
                    sys.exit(f"sink reported {report['records_written']} records, expected {n}")
                d_objs = check_objects(svc, db, topic, n, ext, args.flush_size)
                if {k: v[1] for k, v in d_objs.items()} != {k: v[1] for k, v in sink_objs.items()}:
                    sys.exit("the sink with default settings wrote other objects than the tuned one")
                add("sink_none_defaults", secs, rss)
                log(f"[{rep + 1}/{args.repeat}] crawlhost sink ({compression}, defaults): {n / secs:,.0f} records/s ({secs:.2f} s, peak RSS {rss:.0f} MiB)")
                svc.drop_bucket(db)
            svc.drop_bucket(sb)

    figures = {}
    for name, xs in runs.items():
        best, median = best_and_median([x["seconds"] for x in xs])
        figures[name] = {
            "seconds_best": best,
            "seconds_median": median,
            "records_per_s": n / best,
            "records_per_s_median": n / median,
            "mb_per_s": value_bytes / best / 1e6,
            "rss_mib_max": max(x["rss_mib"] for x in xs),
            "cpu_seconds_min": min(x["cpu_seconds"] for x in xs),
            "records_per_cpu_s": n / min(x["cpu_seconds"] for x in xs),
            "broker_cpu_seconds_median": sorted(x["broker_cpu_seconds"] for x in xs)[len(xs) // 2],
            "runs": xs,
        }
    result["sink"] = {
        "records": n,
        "partitions": args.partitions,
        "value_bytes": value_bytes,
        "flush_size": args.flush_size,
        "repeat": args.repeat,
        "fill_seconds": fill["seconds"],
        "tuned": {"fetch_max_records": TUNED_FETCH_MAX_RECORDS, "kafka_properties": TUNED_KAFKA_PROPERTIES},
        "runners": figures,
    }


def memory(args, svc, result):
    part = args.part_mib * MIB
    per_partition = int(args.partition_mib * MIB)
    records_per_partition = per_partition // args.memory_value_bytes + 1
    counts = args.memory_partitions
    rows = []
    for partitions in counts:
        topic = f"mem{partitions}"
        n = records_per_partition * partitions
        svc.create_topic(topic, partitions)
        secs, _, fill = run_measured([args.kafka_bench, "--brokers", svc.brokers, "fill", "--topic", topic,
                                      "--partitions", str(partitions), "--records", str(n),
                                      "--value-bytes", str(args.memory_value_bytes)])
        log(f"topic {topic}: {n} records, {fill['value_bytes'] / MIB:.0f} MiB in {secs:.1f} s")
        # Compressed output at the smallest and the largest partition count:
        # a compressor per open file was what grew with partitions.
        codecs = ["none"] + ([c for c in args.memory_compressions if c != "none"]
                             if partitions in (min(counts), max(counts)) else [])
        for codec in codecs:
            tag = f"mem{partitions}-{codec}"
            bucket, secs, rss, report = run_sink(args, svc, topic, tag, 10_000_000, codec, part_size=part)
            if report["records_written"] != n:
                sys.exit(f"sink reported {report['records_written']} records at {partitions} partitions ({codec}), expected {n}")
            objs = svc.objects(bucket)
            data = [k for k in objs if not k.startswith("_crawlhost/")]
            if len(data) != partitions:
                sys.exit(f"{partitions} partitions gave {len(data)} objects ({codec})")
            smallest = min(objs[k][0] for k in data)
            multipart = sum(1 for k in data if "-" in objs[k][1])
            log(f"sink at {partitions} partitions, {codec}: peak RSS {rss:.1f} MiB ({secs:.1f} s; {len(data)} objects, smallest {smallest / MIB:.1f} MiB, {multipart} multipart)")
            rows.append({
                "partitions": partitions,
                "compression": codec,
                "records": n,
                "value_bytes": fill["value_bytes"],
                "seconds": secs,
                "rss_mib": rss,
                "objects": len(data),
                "multipart_objects": multipart,
                "smallest_object_mib": smallest / MIB,
            })
            svc.drop_bucket(bucket)
    result.setdefault("memory", {}).update({
        "part_size_mib": args.part_mib,
        "partition_mib": args.partition_mib,
        "value_bytes_each": args.memory_value_bytes,
        "goal_mib": 2 * args.part_mib + 64,
        "sink": rows,
    })


def host_memory(args, result):
    """Peak RSS of `crawlhost run --once --plugin echo` with three plugins
    loaded (oliveyoung, twitter, the echo test guest) and echo's plan
    queueing T tasks at once (each emits 3 records to the embedded bus)."""
    rows = []
    root = tempfile.mkdtemp(prefix="crawlhost-host-mem-")
    try:
        plugins = os.path.join(root, "plugins")
        os.makedirs(plugins)
        for name, path in (("oliveyoung", args.oliveyoung_wasm), ("twitter", args.twitter_wasm), ("echo", args.echo_wasm)):
            shutil.copy(path, os.path.join(plugins, f"{name}.wasm"))
        data = os.path.join(root, "data")
        warm = True
        for tasks in [10] + args.host_tasks:
            config = os.path.join(root, f"host-{tasks}.toml")
            with open(config, "w") as f:
                f.write(
                    f'[host]\nplugins_dir = "{plugins}"\ndata_dir = "{data}"\n'
                    f"[run]\nconcurrency = 8\n"
                    f'[plugins.echo]\nconfig = {{ tasks = "{tasks}", records_per_task = "3" }}\n'
                )
            listed = subprocess.run([args.crawlhost, "--config", config, "plugins", "list"], capture_output=True, text=True)
            for name in ("oliveyoung", "twitter", "echo"):
                if not any(line.split()[:1] == [name] for line in listed.stdout.splitlines()):
                    sys.exit(f"plugin {name} did not load:\n{listed.stdout}{listed.stderr}")
            cmd = [args.crawlhost, "--config", config, "run", "--once", "--plugin", "echo", "--json", "--quiet"]
            if warm:
                # The first run compiles the three components into data_dir's
                # cache (Cranelift's memory is not what this measures).
                run_measured(cmd, env=dict(os.environ, RUST_LOG="warn"))
                warm = False
            secs, rss, summary = run_measured(cmd, env=dict(os.environ, RUST_LOG="warn"))
            s0 = summary[0] if isinstance(summary, list) else summary
            if s0.get("tasks_done") != tasks:
                sys.exit(f"echo run: {s0}")
            log(f"host, 3 plugins loaded, {tasks} tasks queued by plan: peak RSS {rss:.2f} MiB ({secs:.1f} s, {s0['tasks_done']} tasks done)")
            rows.append({"tasks": tasks, "seconds": secs, "rss_mib": rss, "summary": s0})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result.setdefault("memory", {})["host"] = rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crawlhost", default="target/release/crawlhost")
    ap.add_argument("--kafka-bench", default="target/release/kafka-bench")
    ap.add_argument("--tansu", default=os.path.expanduser("~/.cargo/bin/tansu"))
    ap.add_argument("--moto", default=".venv/bin/moto_server")
    ap.add_argument("--python", default=sys.executable, help="Python of the peer (with confluent-kafka and boto3)")
    ap.add_argument("--only", default="sink,memory", help="sink, memory (= sink-memory + host-memory)")
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--flush-size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-defaults", action="store_true", help="no sink run with default fetch settings (slow)")
    ap.add_argument("--memory-partitions", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 100, 300])
    ap.add_argument("--memory-compressions", type=lambda s: s.split(","), default=["none", "gzip", "zstd"],
                    help="codecs measured at the smallest and largest partition count (none: at every count)")
    ap.add_argument("--part-mib", type=int, default=5)
    ap.add_argument("--partition-mib", type=float, default=5.5, help="bytes of values per partition in the memory runs")
    ap.add_argument("--memory-value-bytes", type=int, default=1024,
                    help="small values make each partition take several polls, the case where prefetch piles up")
    ap.add_argument("--host-tasks", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000])
    ap.add_argument("--oliveyoung-wasm", default="target/wasm32-wasip2/release/oliveyoung.wasm")
    ap.add_argument("--twitter-wasm", default="target/wasm32-wasip2/release/twitter.wasm")
    ap.add_argument("--echo-wasm", default="target/wasm32-wasip2/release/guest_echo.wasm")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    only = set(args.only.split(","))
    result = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            result = json.load(f)
    if only & {"memory", "host-memory"}:
        host_memory(args, result)
    if not only & {"sink", "memory", "sink-memory"}:
        return
    svc = Services(args.tansu, args.moto)
    try:
        if "sink" in only:
            throughput(args, svc, result)
        if only & {"memory", "sink-memory"}:
            memory(args, svc, result)
    finally:
        svc.stop()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
