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

source scripts/lib/python-venv.sh
ensure_venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_SPEC"
"$VENV/bin/moto_server" --help >/dev/null
echo "installed moto_server into $VENV"
