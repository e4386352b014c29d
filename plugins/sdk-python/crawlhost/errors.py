"""The `crawl-error` variants as Python exceptions, and the conversions both ways.

A plugin raises `Retryable`, `Blocked`, `ParseError` or `Other` (all
`CrawlError`); the export adapter turns them into the WIT
`result<_, crawl-error>`, which componentize-py expresses as a raised
`componentize_py_types.Err`. Errors the host raises through an import come back
the same way and are turned into these exceptions by the SDK's wrappers, so a
plugin never sees `Err`.
"""

from componentize_py_types import Err
from wit_world.imports import types


class CrawlError(Exception):
    """Why a call failed; the subclass decides the host's reaction."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wit(self) -> types.CrawlError:
        """The WIT variant of this error."""
        return types.CrawlError_Other(self.message)


class Retryable(CrawlError):
    """A transient failure (timeout, 5xx): the host retries the task with backoff."""

    def to_wit(self) -> types.CrawlError:
        return types.CrawlError_Retryable(self.message)


class Blocked(CrawlError):
    """The site refused the crawler (403/429, captcha, host not allowed): longer backoff."""

    def to_wit(self) -> types.CrawlError:
        return types.CrawlError_Blocked(self.message)


class ParseError(CrawlError):
    """The response did not have the expected shape: not retried, reported."""

    def to_wit(self) -> types.CrawlError:
        return types.CrawlError_Parse(self.message)


class Other(CrawlError):
    """Anything else: not retried, reported with the message."""


def from_wit(error: types.CrawlError) -> CrawlError:
    """The exception for a `crawl-error` the host returned."""
    if isinstance(error, types.CrawlError_Retryable):
        return Retryable(error.value)
    if isinstance(error, types.CrawlError_Blocked):
        return Blocked(error.value)
    if isinstance(error, types.CrawlError_Parse):
        return ParseError(error.value)
    return Other(error.value)


def from_err(err: Err) -> CrawlError:
    """The exception for an `Err` an import raised (its value is a `crawl-error`)."""
    return from_wit(err.value)
