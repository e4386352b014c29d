#!/usr/bin/env bash
# The S3 server the sink tests talk to: moto's standalone server
# (`moto_server`, an S3-compatible HTTP API), installed into the project-local
# virtualenv `.venv`. Skips when it is already there; safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv
MOTO_SPEC='moto[server]>=5,<6'

if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c 'import moto, flask' >/dev/null 2>&1; then
  echo "moto_server already installed in $VENV"
  exit 0
fi

PYTHON="${PYTHON:-$(command -v python3 || true)}"
if [ -z "$PYTHON" ]; then
  echo "python3 not found: install Python 3 (with venv and pip) first" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    else
      echo "cannot create a virtualenv with $PYTHON (install python3-venv)" >&2
      exit 1
    fi
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_SPEC"
"$VENV/bin/moto_server" --help >/dev/null
echo "installed moto_server into $VENV"
