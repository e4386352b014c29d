"""Unit tests of the plugin's pure parts, run natively:

    cd plugins/oliveyoung-py && ../../.venv/bin/python -m unittest discover -s tests -t .

The SDK and the bindings come the way the SDK's own tests get them (its
`tests/__init__.py` generates `wit_world` with componentize-py; no component
is built).
"""

import importlib.util
import os
import sys

_SDK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "sdk-python"))
sys.path.insert(0, _SDK)
_spec = importlib.util.spec_from_file_location("sdk_tests", os.path.join(_SDK, "tests", "__init__.py"))
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))
