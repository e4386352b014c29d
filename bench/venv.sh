#!/usr/bin/env bash
# The Python peers of `make bench` (Scrapy, BeautifulSoup + lxml; for the
# sink, confluent-kafka + boto3) in the project-local virtualenv
# `.venv-bench`. Skips when it is already there;
# safe to run twice. Not used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-bench
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import scrapy, bs4, confluent_kafka, boto3' >/dev/null 2>&1; then
  echo "bench peers already installed in $VENV" >&2
  exit 0
fi
source scripts/lib/python-venv.sh
ensure_venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q 'scrapy>=2.11,<3' 'beautifulsoup4>=4.12,<5'
# The sink's Python peer (bench/peers/sink_python.py); the confluent-kafka
# wheel bundles a recent librdkafka (Debian's is too old for tansu).
"$VENV/bin/python" -m pip install -q 'confluent-kafka>=2.3,<3' 'boto3>=1.34,<2'
# lxml is BeautifulSoup's fast parser; Scrapy already depends on it, but a
# machine where it does not build still runs the peers on html.parser.
"$VENV/bin/python" -m pip install -q 'lxml>=5' || echo "lxml did not install: BeautifulSoup falls back to html.parser" >&2
echo "bench peers installed in $VENV" >&2
