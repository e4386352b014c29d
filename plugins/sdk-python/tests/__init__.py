"""Unit tests of the SDK's pure parts, run natively:

    cd plugins/sdk-python && ../../.venv/bin/python -m unittest discover -s tests -t .

The SDK imports the bindings componentize-py generates (`wit_world`); natively
those are generated here from the repository's `wit/` into a temporary
directory (`componentize-py bindings`, no component is built). Their import
functions are stubs, so only code that calls no import is tested.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _componentize_py() -> str:
    """componentize-py next to the running interpreter (the project venv), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "componentize-py")
    found = beside if os.path.exists(beside) else shutil.which("componentize-py")
    if found is None:
        raise RuntimeError("componentize-py not found: run scripts/install/componentize-py.sh")
    return found


def _generate_bindings() -> None:
    out = tempfile.mkdtemp(prefix="crawlhost-bindings-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(
        [_componentize_py(), "--quiet", "-d", os.path.join(_ROOT, "wit"), "-w", "plugin", "bindings", out],
        check=True,
    )
    sys.path.insert(0, out)


try:
    import wit_world  # noqa: F401  (already generated on the path)
except ImportError:
    _generate_bindings()
