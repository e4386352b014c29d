#!/usr/bin/env bash
# The browser the browser-capability tests drive: Debian's `chromium` and
# `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver). The tests start
# chromedriver themselves on a free loopback port. Skipped when both
# `chromium` and `chromedriver` are already on PATH. Installing needs root
# (apt-get); on CI (CI=true, as root) it runs unattended.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: apt-get not found: install chromium and chromedriver by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "chromium.sh: not root and no sudo: run as root to install chromium and chromium-driver" >&2
    exit 1
  fi
fi

echo "chromium.sh: installing chromium and chromium-driver with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver
