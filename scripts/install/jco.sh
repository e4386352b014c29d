#!/usr/bin/env bash
# The JavaScript plugin toolchain: jco and componentize-js (StarlingMonkey,
# SpiderMonkey compiled to WebAssembly), pinned in tools/js/package.json and
# tools/js/package-lock.json, installed with `npm ci` into
# tools/js/node_modules. `npm ci` also fills the npm cache, so a generated JS
# plugin project (`crawlhost plugin new NAME --lang js`) installs the same
# versions offline afterwards (`npm ci --offline`).
#
# Skips the install when node_modules was made from the current lock (the
# lock's hash is stamped into node_modules after a successful install);
# reinstalls when the lock changed or an earlier install was interrupted.
# Safe to run twice. Needs node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/../../tools/js"

STAMP=node_modules/.crawlhost-lock.sha256
JCO=node_modules/.bin/jco

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "jco.sh: $tool not found: install Node.js 20 or newer (with npm) first" >&2
    exit 1
  fi
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "jco.sh: node $(node --version) is too old: jco needs Node.js 20 or newer" >&2
  exit 1
fi

want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -x "$JCO" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

echo "jco.sh: installing the pinned jco and componentize-js into tools/js/node_modules (npm ci)" >&2
rm -f "$STAMP"
npm ci --no-audit --no-fund --prefer-offline
"$JCO" --version >/dev/null
echo "$want" > "$STAMP"
echo "jco.sh: jco $("$JCO" --version) ready: $(pwd)/$JCO" >&2
