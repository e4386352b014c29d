# Sourced, not run: `ensure_venv DIR` creates the virtualenv DIR with
# $PYTHON (default: python3 from PATH) unless it is already there, installing
# Debian's python3-venv when the interpreter lacks the venv module. Used by
# the installers in scripts/install/ and by bench/venv.sh.

ensure_venv() {
  local venv=$1
  [ -x "$venv/bin/python" ] && return 0
  local python="${PYTHON:-$(command -v python3 || true)}"
  if [ -z "$python" ]; then
    echo "python3 not found: install Python 3 (with venv and pip) first" >&2
    exit 1
  fi
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv "$venv"
    else
      echo "cannot create a virtualenv with $python (install python3-venv)" >&2
      exit 1
    fi
  fi
  echo "created virtualenv $venv" >&2
}
