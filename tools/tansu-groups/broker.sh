#!/usr/bin/env bash
# Start tansu 0.6 exactly as the project's tests do (SQLite storage), in ./run-$1 on port $2.
# Usage: ./broker.sh NAME PORT   -> prints the pid; log in run-NAME/tansu.log
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/run-$1"; port=$2
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
url=tcp://127.0.0.1:$port
env -u STORAGE_ENGINE -u LISTENER_URL -u ADVERTISED_LISTENER_URL RUST_LOG=${RUST_LOG:-warn,tansu_broker::coordinator::group::administrator=info} \
  "${TANSU:-$(command -v tansu || echo ~/.cargo/bin/tansu)}" broker --listener-url $url --advertised-listener-url $url \
  --storage-engine sqlite://tansu.db >tansu.log 2>&1 </dev/null &
echo $! > tansu.pid
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
cat tansu.pid
