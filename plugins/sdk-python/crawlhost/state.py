"""The plugin's private, persistent key-value state: raw bytes and JSON."""

import json
from typing import Any, Optional

from componentize_py_types import Err
from wit_world.imports import state as _raw

from .errors import Other


def get(key: str) -> Optional[bytes]:
    """The bytes stored under `key`, if any."""
    return _raw.get(key)


def put(key: str, value: bytes) -> None:
    """Store `value` under `key` (`Other` when the state quota would be exceeded)."""
    try:
        _raw.put(key, value)
    except Err as e:
        raise Other(f"state put `{key}`: {e.value}") from None


def delete(key: str) -> None:
    """Remove `key`; a missing key is fine."""
    _raw.delete(key)


def get_json(key: str) -> Optional[Any]:
    """The JSON value under `key`, if any; a stored value that does not parse is `Other`."""
    raw = _raw.get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise Other(f"state `{key}` is not valid JSON: {e}") from None


def put_json(key: str, value: Any) -> None:
    """Store `value` as compact JSON under `key`."""
    put(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
