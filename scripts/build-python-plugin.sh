#!/usr/bin/env bash
# Build a Python plugin directory into a crawlhost component:
#   scripts/build-python-plugin.sh SRC_DIR OUT.wasm
# SRC_DIR holds the app module `app.py` (which defines `Crawler`, usually
# `Crawler = crawlhost.export(MyPlugin)`) and any modules of its own. The SDK
# (plugins/sdk-python, package `crawlhost`) is put on the Python path, and the
# component is built against this repository's wit/ (world `plugin`) with the
# componentize-py of the project virtualenv. Offline: nothing is downloaded;
# only SRC_DIR, the SDK and the standard library bundled in componentize-py go
# into the component (no site-packages).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 SRC_DIR OUT.wasm" >&2
  exit 2
fi
SRC=$1
OUT=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMPONENTIZE_PY="$ROOT/.venv/bin/componentize-py"

if [ ! -x "$COMPONENTIZE_PY" ]; then
  echo "componentize-py is not installed in $ROOT/.venv: run scripts/install/componentize-py.sh" >&2
  exit 1
fi
if [ ! -f "$SRC/app.py" ]; then
  echo "$SRC/app.py not found: a Python plugin's app module is app.py" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
# Absolute paths: componentize-py runs in SRC's parent-independent way, and
# VIRTUAL_ENV unset so it does not bundle the virtualenv's site-packages.
SRC_ABS="$(cd "$SRC" && pwd)"
OUT_ABS="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
# A plugin that bundles third-party pure-Python libraries says so with a file
# `uses-plugin-libs` in its directory: then the libraries installed by
# scripts/install/componentize-py.sh (.venv/python-plugin-libs) are on the
# path too. Other plugins get only the SDK and the standard library.
LIBS=()
if [ -f "$SRC_ABS/uses-plugin-libs" ]; then
  if [ ! -d "$ROOT/.venv/python-plugin-libs" ]; then
    echo "$ROOT/.venv/python-plugin-libs is missing: run scripts/install/componentize-py.sh" >&2
    exit 1
  fi
  LIBS=(-p "$ROOT/.venv/python-plugin-libs")
fi
cd "$SRC_ABS"
env -u VIRTUAL_ENV "$COMPONENTIZE_PY" --quiet -d "$ROOT/wit" -w plugin componentize \
  -p "$SRC_ABS" -p "$ROOT/plugins/sdk-python" "${LIBS[@]}" app -o "$OUT_ABS"
echo "built $OUT ($(wc -c < "$OUT_ABS") bytes)"
