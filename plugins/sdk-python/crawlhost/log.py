"""Messages into the host's structured log (tagged with plugin and task by the host)."""

from wit_world.imports import log as _raw
from wit_world.imports.types import LogLevel

__all__ = ["LogLevel", "log", "trace", "debug", "info", "warn", "error"]


def log(level: LogLevel, message: str) -> None:
    """Write one message at `level`."""
    _raw.log(level, message)


def trace(message: str) -> None:
    """Log at trace level."""
    _raw.log(LogLevel.TRACE, message)


def debug(message: str) -> None:
    """Log at debug level."""
    _raw.log(LogLevel.DEBUG, message)


def info(message: str) -> None:
    """Log at info level."""
    _raw.log(LogLevel.INFO, message)


def warn(message: str) -> None:
    """Log at warn level."""
    _raw.log(LogLevel.WARN, message)


def error(message: str) -> None:
    """Log at error level."""
    _raw.log(LogLevel.ERROR, message)
