#!/usr/bin/env bash
# make bench: every benchmark in one command, each against its peer in the
# same run on the same machine, then a table of figures and ratios
# (BENCHMARKS.md explains them). Not part of `make test`.
#
#   BENCH_CONCURRENCY  tasks/requests in flight, every runner (default 16)
#   BENCH_SCALE        fixture-site --scale of the crawl (default 40: 28,800
#                      pages, ~30 s for crawlhost, 2.5-5 min for each peer)
#   BENCH_REPEAT       runs per runner, interleaved (default 1 for the crawl,
#                      3 for the sink parts)
#   BENCH_QUICK=1      short criterion runs (for trying the setup out)
#   BENCH_ONLY         any of crawl,sandbox,sink,memory (default all four)
#   BENCH_SINK_RECORDS records in the sink throughput topic (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

JOBS="${JOBS:-2}"
CONCURRENCY="${BENCH_CONCURRENCY:-16}"
SCALE="${BENCH_SCALE:-40}"
CRAWL_REPEAT="${BENCH_REPEAT:-1}"
REPEAT="${BENCH_REPEAT:-3}"
ONLY="${BENCH_ONLY:-crawl,sandbox,sink,memory}"
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="$TARGET/bench"
mkdir -p "$OUT"

log "bench: Python peers (.venv-bench)"
bash bench/venv.sh

log "bench: component toolchains (componentize-py, jco)"
bash scripts/install/componentize-py.sh
bash scripts/install/jco.sh

log "bench: release builds (host, fixture site, plugins, guests)"
cargo build -j"$JOBS" --release -p crawlhost -p crawlhost-tests --bins
make --no-print-directory plugins guests script-plugins JOBS="$JOBS"
# Peak RSS is read with GNU time (%M); Debian package `time`.
if [ ! -x /usr/bin/time ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

if [[ ",$ONLY," == *",crawl,"* ]]; then
  log "bench: crawl throughput (crawlhost with the Rust and the Python plugin vs Scrapy vs urllib+BeautifulSoup), scale $SCALE, concurrency $CONCURRENCY, $CRAWL_REPEAT runs each"
  .venv-bench/bin/python bench/crawl.py --python .venv-bench/bin/python \
    --concurrency "$CONCURRENCY" --repeat "$CRAWL_REPEAT" --scale "$SCALE" --out "$OUT/crawl.json"
fi

if [[ ",$ONLY," == *",sandbox,"* ]]; then
  log "bench: sandbox cost (criterion)"
  rm -rf "$TARGET/criterion/task_overhead" "$TARGET/criterion/extraction"
  CRITERION_ARGS=()
  if [ "${BENCH_QUICK:-}" = 1 ]; then
    CRITERION_ARGS=(--warm-up-time 1 --measurement-time 2 --sample-size 10)
  fi
  cargo bench -j"$JOBS" -p crawlhost --bench sandbox -- "${CRITERION_ARGS[@]}"
fi

SINK_PARTS=()
[[ ",$ONLY," == *",sink,"* ]] && SINK_PARTS+=(sink)
[[ ",$ONLY," == *",memory,"* ]] && SINK_PARTS+=(memory)
rm -f "$OUT/sink.json"
if [ ${#SINK_PARTS[@]} -gt 0 ]; then
  log "bench: sink throughput and memory ($(IFS=,; echo "${SINK_PARTS[*]}")): tansu + moto, crawlhost sink vs raw rdkafka vs Python"
  bash scripts/install/tansu.sh
  bash scripts/install/moto.sh
  .venv-bench/bin/python bench/sink.py --only "$(IFS=,; echo "${SINK_PARTS[*]}")" \
    --crawlhost "$TARGET/release/crawlhost" --kafka-bench "$TARGET/release/kafka-bench" \
    --records "${BENCH_SINK_RECORDS:-200000}" --repeat "$REPEAT" --out "$OUT/sink.json"
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
python3 bench/report.py --dir "$OUT" --criterion "$TARGET/criterion"
