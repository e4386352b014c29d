#!/usr/bin/env bash
# make bench: every benchmark in one command, each against its peer in the
# same run on the same machine, then a table of figures and ratios
# (BENCHMARKS.md explains them). Not part of `make test`.
#
#   BENCH_CONCURRENCY  tasks/requests in flight, every runner (default 16)
#   BENCH_REPEAT       crawl runs per runner, interleaved (default 3)
#   BENCH_QUICK=1      short criterion runs (for trying the setup out)
#   BENCH_ONLY         crawl,sandbox (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

JOBS="${JOBS:-2}"
CONCURRENCY="${BENCH_CONCURRENCY:-16}"
REPEAT="${BENCH_REPEAT:-3}"
ONLY="${BENCH_ONLY:-crawl,sandbox}"
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="$TARGET/bench"
mkdir -p "$OUT"

log "bench: Python peers (.venv-bench)"
bash bench/venv.sh

log "bench: release builds (host, fixture site, plugin, guests)"
cargo build -j"$JOBS" --release -p crawlhost -p crawlhost-tests --bins
make --no-print-directory plugins guests JOBS="$JOBS"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

if [[ ",$ONLY," == *",crawl,"* ]]; then
  log "bench: crawl throughput (crawlhost vs Scrapy vs urllib+BeautifulSoup), concurrency $CONCURRENCY, $REPEAT runs each"
  .venv-bench/bin/python bench/crawl.py --python .venv-bench/bin/python \
    --concurrency "$CONCURRENCY" --repeat "$REPEAT" --out "$OUT/crawl.json"
fi

if [[ ",$ONLY," == *",sandbox,"* ]] && [ ! -e host/benches/sandbox.rs ]; then
  log "bench: sandbox cost NOT RUN: the criterion bench is parked in bench/pending/ (see its README)"
elif [[ ",$ONLY," == *",sandbox,"* ]]; then
  log "bench: sandbox cost (criterion)"
  rm -rf "$TARGET/criterion/task_overhead" "$TARGET/criterion/extraction"
  CRITERION_ARGS=()
  if [ "${BENCH_QUICK:-}" = 1 ]; then
    CRITERION_ARGS=(--warm-up-time 1 --measurement-time 2 --sample-size 10)
  fi
  cargo bench -j"$JOBS" -p crawlhost --bench sandbox -- "${CRITERION_ARGS[@]}"
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
python3 bench/report.py --dir "$OUT" --criterion "$TARGET/criterion"
