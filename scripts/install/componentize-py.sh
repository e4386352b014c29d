#!/usr/bin/env bash
# The Python plugin toolchain: componentize-py (pinned; it bundles CPython
# compiled to WebAssembly and turns a Python package into a component of the
# `plugin` world), installed into the project-local virtualenv `.venv` (the
# one scripts/install/moto.sh uses). Skips when it is already there; safe to
# run twice.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv
COMPONENTIZE_PY_VERSION=0.25.1
# Pure-Python libraries a plugin may bundle (plugins/oliveyoung-bs4 runs the
# original crawler's BeautifulSoup code), installed apart from the venv's own
# packages so only they go into a component that asks for them.
PLUGIN_LIBS="$VENV/python-plugin-libs"
PLUGIN_LIB_SPECS=(beautifulsoup4==4.12.3 soupsieve==2.6)

source scripts/lib/python-venv.sh
ensure_venv "$VENV"

# `pip show` prints the installed version; compare it with the pin.
installed_version() {
  "$VENV/bin/python" -m pip show --disable-pip-version-check "$1" 2>/dev/null \
    | sed -n 's/^Version: //p'
}

if [ -x "$VENV/bin/componentize-py" ] \
  && [ "$(installed_version componentize-py)" = "$COMPONENTIZE_PY_VERSION" ]; then
  echo "componentize-py $COMPONENTIZE_PY_VERSION already installed in $VENV"
else
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION"
  "$VENV/bin/componentize-py" --version >/dev/null
  echo "installed componentize-py $COMPONENTIZE_PY_VERSION into $VENV"
fi

libs_stamp="$PLUGIN_LIBS/.installed"
if [ -f "$libs_stamp" ] && [ "$(cat "$libs_stamp")" = "${PLUGIN_LIB_SPECS[*]}" ]; then
  echo "plugin libraries already installed in $PLUGIN_LIBS"
else
  rm -rf "$PLUGIN_LIBS"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$PLUGIN_LIBS" "${PLUGIN_LIB_SPECS[@]}"
  echo "${PLUGIN_LIB_SPECS[*]}" > "$libs_stamp"
  echo "installed ${PLUGIN_LIB_SPECS[*]} into $PLUGIN_LIBS"
fi
