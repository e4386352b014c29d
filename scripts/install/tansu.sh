#!/usr/bin/env bash
# The Kafka-protocol broker the Kafka tests start on loopback: tansu with its
# SQLite storage engine (state survives a broker restart, which the outage test
# needs). Skipped when a `tansu` binary is already on PATH or in ~/.cargo/bin.
# A fresh build takes about ten minutes on two cores; it builds in its own
# target dir so it never holds the workspace's build lock.
set -euo pipefail

TANSU_VERSION="${TANSU_VERSION:-0.6}"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

if command -v tansu >/dev/null 2>&1 || [ -x "$CARGO_BIN/tansu" ]; then
  exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "tansu.sh: cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

echo "tansu.sh: installing tansu ${TANSU_VERSION} (SQLite storage); this takes a while" >&2
target_dir="$(mktemp -d "${TMPDIR:-/tmp}/tansu-build.XXXXXX")"
trap 'rm -rf "$target_dir"' EXIT
cargo install tansu --version "~${TANSU_VERSION}" --locked --features libsql \
  -j"${JOBS:-2}" --target-dir "$target_dir"
