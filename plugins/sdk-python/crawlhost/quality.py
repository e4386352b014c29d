"""Reporting extraction quality to the host (the contract's `quality` import).

Most plugins call it through `Tally.report()`.
"""

from wit_world.imports import quality as _raw


def skipped(topic: str, field: str, count: int) -> None:
    """Tell the host `count` items meant for `topic` were skipped for a missing `field`.

    Counts add up over a run; a zero count is not sent.
    """
    if count > 0:
        _raw.skipped(topic, field, min(count, 0xFFFF_FFFF))
