#!/usr/bin/env bash
# Install what builds and tests need, skipping what is already there.
# Sourced by demo.sh and test.sh; safe to run twice.
set -euo pipefail

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The toolchain and the wasm target come from rust-toolchain.toml; asking
# rustup for them here makes a fresh machine fetch them once, up front.
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    log "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
  fi
fi
