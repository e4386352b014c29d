"""The run context handed to `plan` and `crawl`: configuration and run time."""

from typing import Dict, Optional

from wit_world.imports import types

from .errors import Other


class Run:
    """Context of the current run (the same for every call of the run)."""

    __slots__ = ("id", "started_at_ms", "_config")

    def __init__(self, info: types.RunInfo) -> None:
        self.id: str = info.run_id
        """Unique id of the run."""
        self.started_at_ms: int = info.started_at_ms
        """Run start, milliseconds since the Unix epoch (the plugin's only clock)."""
        self._config: Dict[str, str] = dict(info.config)

    def config(self, key: str) -> Optional[str]:
        """A configuration value (operator value, else the manifest default)."""
        return self._config.get(key)

    def require(self, key: str) -> str:
        """A configuration value that must be present (`Other` when unset)."""
        value = self._config.get(key)
        if value is None:
            raise Other(f"config key `{key}` is not set")
        return value

    def config_int(self, key: str, default: int) -> int:
        """A non-negative integer configuration value, `default` when unset."""
        value = self._config.get(key)
        if value is None:
            return default
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            raise Other(f"config key `{key}` must be a number, got `{value}`")
        return int(text)

    def date(self, offset_hours: int) -> str:
        """The run date as `YYYY-MM-DD` in UTC shifted by `offset_hours` (9 for Korea)."""
        return civil_date(self.started_at_ms + offset_hours * 3_600_000)


def civil_date(ms: int) -> str:
    """`YYYY-MM-DD` of a Unix time in milliseconds (proleptic Gregorian, UTC).

    Howard Hinnant's days-to-civil algorithm, as the Rust SDK uses, so the
    plugin needs no `datetime` at run time and both SDKs agree.
    """
    z = ms // 86_400_000 + 719_468
    era = z // 146_097
    doe = z % 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return f"{year:04}-{month:02}-{day:02}"
