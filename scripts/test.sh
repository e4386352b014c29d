#!/usr/bin/env bash
# make test: everything the test suite needs, then the suite. On a fresh
# machine this installs the wasm target, builds the plugins and the test guest
# components, and runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

JOBS="${JOBS:-2}"
# Services the integration tests start on loopback (broker, S3 server, ...):
# each installer skips what is already installed.
for installer in scripts/install/*.sh; do
  [ -e "$installer" ] || continue
  log "install: $(basename "$installer" .sh)"
  bash "$installer"
done

log "building plugins and test guests (wasm32-wasip2)"
make --no-print-directory plugins guests script-plugins JOBS="$JOBS"

log "building the host binary the CLI tests drive"
cargo build -j"$JOBS" -p crawlhost --bins

log "running the Python and JavaScript SDK and plugin unit tests"
for dir in plugins/sdk-python plugins/oliveyoung-py; do
  (cd "$dir" && ../../.venv/bin/python -m unittest discover -q -s tests -t .)
done
(cd plugins/sdk-js && node --import ./test/register.mjs --test test/*.test.js)
(cd plugins/twitter-js && node --import ../sdk-js/test/register.mjs --test test/*.test.js)

log "running the tests"
cargo test -j"$JOBS" --workspace --exclude guest-wrong-world --exclude guest-future-contract --exclude guest-echo --exclude guest-hostile --exclude guest-ticker --exclude guest-fetcher --exclude guest-bad --exclude guest-parsebench --exclude guest-legacy-v01 --exclude guest-legacy-v02 --exclude guest-browser
