"""Extraction that survives markup drift: identity and optional fields, with a tally.

A record kind names the few fields without which an item means nothing (a
product's goods number and name): its *identity*. Only those drop an item,
and a dropped item is skipped and counted, never its siblings. Every other
field is *optional*: missing or empty becomes `None` (JSON `null`) and counts
as a miss of that field. The host measures field coverage from the records;
what it cannot see, the skipped items, `Tally.report()` tells it through the
`quality` import. The same design as the Rust SDK's `extract::Tally`.

    tally = Tally("shop-products")
    for i, card in enumerate(cards):
        product = tally.item(lambda: f"card #{i + 1}", lambda item: {
            "sku": item.identity("sku", card.attr("data-sku")),
            "price": item.optional("price", parse_price(card)),
        })
    tally.report()
"""

import math
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from . import log as _log
from . import quality as _quality

T = TypeVar("T")

LogSink = Callable[[str, str], None]
"""`(level, message)` with level one of `warn`, `debug`."""
SkipSink = Callable[[str, str, int], None]
"""`(topic, field, count)`."""


class Missing(Exception):
    """An identity field was missing or unreadable: the item is skipped."""

    def __init__(self, field: str) -> None:
        super().__init__(f"identity field `{field}` is missing")
        self.field = field


def filled(value: Any) -> bool:
    """Whether a value carries anything: `None`, blank text, empty lists and NaN do not."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple, dict)):
        return len(value) > 0
    return True


class Item:
    """The fields of one item being read (see `Tally.item`)."""

    __slots__ = ("misses",)

    def __init__(self) -> None:
        self.misses: List[str] = []

    def identity(self, field: str, value: Optional[T]) -> T:
        """An identity field: a missing or empty value raises `Missing` (the item is skipped)."""
        if value is None or not filled(value):
            raise Missing(field)
        return value

    def optional(self, field: str, value: Optional[T]) -> Optional[T]:
        """An optional field: a missing or empty value becomes `None`, counted as a miss."""
        if value is None or not filled(value):
            self.misses.append(field)
            return None
        return value

    def miss(self, field: str) -> None:
        """Record a miss of `field` by hand (a value the plugin chose to drop)."""
        self.misses.append(field)


class Tally:
    """What one task could and could not read of one topic's items."""

    __slots__ = ("topic", "kept", "_skips", "_misses")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        """The topic the items are meant for."""
        self.kept = 0
        """Items read."""
        self._skips: Dict[str, List[Any]] = {}
        self._misses: Dict[str, int] = {}

    def item(self, at: Callable[[], str], read: Callable[[Item], T]) -> Optional[T]:
        """Read one item with `read`.

        When `read` raises `Missing` the item is skipped (`None`) and counted
        with the place `at()` describes (called only then); otherwise its
        optional misses are counted and its value returned.
        """
        item = Item()
        try:
            value = read(item)
        except Missing as m:
            self.skip(m.field, at)
            return None
        self.kept += 1
        misses = self._misses
        for field in item.misses:
            misses[field] = misses.get(field, 0) + 1
        return value

    def skip(self, field: str, at: Callable[[], str]) -> None:
        """Count one item skipped for its identity field `field` (outside `item`)."""
        skips = self._skips.get(field)
        if skips is None:
            self._skips[field] = [1, at()]
        else:
            skips[0] += 1

    def located(self, place: str) -> "Tally":
        """This tally with `place` (a URL) added to where each first skip was."""
        for skips in self._skips.values():
            skips[1] = f"{skips[1]} on {place}"
        return self

    def merge(self, other: "Tally") -> None:
        """Add another tally of the same topic (e.g. one per page) to this one."""
        self.kept += other.kept
        for field, (count, first_at) in other._skips.items():
            mine = self._skips.get(field)
            if mine is None:
                self._skips[field] = [count, first_at]
            else:
                mine[0] += count
        for field, n in other._misses.items():
            self._misses[field] = self._misses.get(field, 0) + n

    def copy(self) -> "Tally":
        """An independent copy (to merge one tally twice)."""
        twin = Tally(self.topic)
        twin.merge(self)
        return twin

    def skipped(self) -> int:
        """Items skipped, all identity fields together."""
        return sum(count for count, _ in self._skips.values())

    def skipped_by(self, field: str) -> int:
        """Items skipped for the identity field `field`."""
        skips = self._skips.get(field)
        return skips[0] if skips else 0

    def skips(self) -> Dict[str, Tuple[int, str]]:
        """Skips by identity field: `(count, first place)`, fields in name order."""
        return {field: (s[0], s[1]) for field, s in sorted(self._skips.items())}

    def misses_of(self, field: str) -> int:
        """Misses of the optional field `field` among the items read."""
        return self._misses.get(field, 0)

    def misses(self) -> Dict[str, int]:
        """Misses by optional field, in name order."""
        return dict(sorted(self._misses.items()))

    def log_lines(self) -> List[Tuple[str, str]]:
        """What `report` logs: `(level, message)`, a `warn` per identity field that
        dropped items (naming the first place) and one `debug` line of misses."""
        lines: List[Tuple[str, str]] = []
        total = self.kept + self.skipped()
        for field, (count, first_at) in self.skips().items():
            lines.append((
                "warn",
                f"skipped {count} of {total} `{self.topic}` items without `{field}` (first at {first_at})",
            ))
        if self._misses:
            listed = ", ".join(f"{field} {n}" for field, n in self.misses().items())
            lines.append(("debug", f"{self.kept} `{self.topic}` items read; optional fields left null: {listed}"))
        return lines

    def report_with(self, log: LogSink, skipped: SkipSink) -> None:
        """`report` through the caller's own log and skip sinks (tests, other hosts)."""
        for level, line in self.log_lines():
            log(level, line)
        for field, (count, _) in self.skips().items():
            skipped(self.topic, field, count)

    def report(self) -> None:
        """Log the tally and report its skipped items to the host: once at the end of a task."""
        levels = {"warn": _log.warn, "debug": _log.debug}
        self.report_with(lambda level, line: levels[level](line), _quality.skipped)
