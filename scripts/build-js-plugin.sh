#!/usr/bin/env bash
# Build a JavaScript plugin directory into a crawlhost component:
#
#   scripts/build-js-plugin.sh SRC_DIR OUT.wasm
#
# SRC_DIR/plugin.js is the entry module (an ES module exporting `crawler`,
# usually `export const crawler = definePlugin({...})` from plugins/sdk-js).
# Its relative imports, the SDK included, are bundled into one module; the
# contract's interfaces (`crawlhost:plugin/...@0.3.0`) stay imports
# (plugins/sdk-js/bundle.config.mjs). The
# component is built by jco + componentize-js (StarlingMonkey) against the
# repository's wit/plugin.wit, world `plugin`, offline.
#
# StarlingMonkey's own `fetch()` and its HTTP server entry point are
# disabled: a plugin reaches the network only through the contract's `fetch`
# import, and the host does not link wasi:http. What stays is what the host's
# locked-down WASI context answers: stderr (captured for trap reports), a
# clock frozen at the run's start and a seeded random source.
#
# The toolchain comes from $CRAWLHOST_JCO when set, else
# tools/js/node_modules/.bin/jco (installed by scripts/install/jco.sh).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 SRC_DIR OUT.wasm" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$(cd "$1" && pwd)"
out="$2"
entry="$src/plugin.js"
wit="$root/wit/plugin.wit"
jco="${CRAWLHOST_JCO:-$root/tools/js/node_modules/.bin/jco}"

if [ ! -x "$jco" ]; then
  echo "build-js-plugin.sh: jco not found at $jco: run scripts/install/jco.sh (or set CRAWLHOST_JCO)" >&2
  exit 1
fi
if [ ! -f "$entry" ]; then
  echo "build-js-plugin.sh: $entry not found: a JS plugin's entry module is plugin.js" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
"$jco" componentize "$entry" \
  --bundle \
  --bundle-config "$root/plugins/sdk-js/bundle.config.mjs" \
  --wit "$wit" \
  --world-name plugin \
  --disable http fetch-event \
  --out "$out"
