#!/bin/sh
# Seed an empty plugins volume with the bundled plugins, then run crawlhost.
set -e
if [ -z "$(ls -A /var/lib/crawlhost/plugins 2>/dev/null)" ]; then
  cp /opt/crawlhost/plugins/*.wasm /var/lib/crawlhost/plugins/ 2>/dev/null || true
fi
exec crawlhost "$@"
