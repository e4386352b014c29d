"""Builders for what `crawl` returns: records, follow-up tasks, and task payloads.

Values are written as compact JSON with non-ASCII text kept as is, the bytes
`serde_json` writes for the same value in a Rust plugin.
"""

import json
from typing import Any, List, Optional, Sequence

from wit_world.imports.types import CrawlOutput, OutRecord, Task

from .errors import Other

__all__ = ["CrawlOutput", "OutRecord", "Task", "dumps", "record", "task", "payload", "output"]


def dumps(value: Any) -> str:
    """`value` as compact JSON (`Other` when it is not serializable)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise Other(f"not JSON: {e}") from None


def record(topic: str, key: Optional[str], value: Any, timestamp_ms: Optional[int] = None) -> OutRecord:
    """A record of `value` (any JSON-serializable value) for `topic` under `key`."""
    return OutRecord(topic=topic, key=key, value=dumps(value), timestamp_ms=timestamp_ms)


def task(kind: str, key: str, payload: Any, phase: int = 0) -> Task:
    """A follow-up task with a JSON `payload`; tasks of a higher `phase` wait for lower ones."""
    return Task(key=key, kind=kind, payload=dumps(payload), phase=phase)


def payload(t: Task) -> Any:
    """The JSON payload of a task (`Other` when it does not parse)."""
    try:
        return json.loads(t.payload)
    except ValueError as e:
        raise Other(f"task `{t.key}` has a bad payload: {e}") from None


def output(records: Sequence[OutRecord] = (), tasks: Sequence[Task] = ()) -> CrawlOutput:
    """What one `crawl` call returns."""
    out_records: List[OutRecord] = list(records)
    out_tasks: List[Task] = list(tasks)
    return CrawlOutput(records=out_records, tasks=out_tasks)
