"""HTTP through the host's `fetch` import: requests, the status policy, text decoding.

Transport failures come back from the host as `crawl-error`s and are raised as
this SDK's exceptions; any HTTP status comes back as a `Response`.
`Response.ensure_ok()` (or `get(..., ok=True)`) maps a non-2xx status to the
error the host's retry policy expects.
"""

import json
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote_plus

from componentize_py_types import Err
from wit_world.imports import fetch as _raw
from wit_world.imports.types import Header, HttpRequest, HttpResponse

from .errors import Blocked, CrawlError, Other, ParseError, Retryable, from_err
from .html import Document

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
"""Request headers: a mapping or `(name, value)` pairs."""
Query = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
"""Query parameters: a mapping or `(name, value)` pairs, in order."""


def _pairs(items: Union[Headers, Query, None]) -> List[Tuple[str, str]]:
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [(str(k), str(v)) for k, v in items.items()]
    return [(str(k), str(v)) for k, v in items]


def form_encode(value: str) -> str:
    """`application/x-www-form-urlencoded` encoding of one name or value, byte for byte
    what the WHATWG URL standard (and Rust's `url` crate) writes: `*-._` and
    alphanumerics kept, space as `+`, everything else percent-encoded."""
    return quote_plus(value, safe="*").replace("~", "%7E")


def with_query(url: str, query: Query) -> str:
    """`url` with the query parameters appended (form-encoded, in order)."""
    pairs = _pairs(query)
    if not pairs:
        return url
    encoded = "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in pairs)
    base, hash_mark, fragment = url.partition("#")
    sep = "&" if "?" in base else "?"
    if base.endswith("?") or base.endswith("&"):
        sep = ""
    return f"{base}{sep}{encoded}{hash_mark}{fragment}"


class Response:
    """A response from the host: status, headers, body and the URL that answered."""

    __slots__ = ("raw",)

    def __init__(self, raw: HttpResponse) -> None:
        self.raw = raw

    @property
    def status(self) -> int:
        """HTTP status."""
        return self.raw.status

    @property
    def final_url(self) -> str:
        """The URL that answered, after redirects."""
        return self.raw.final_url

    @property
    def charset(self) -> Optional[str]:
        """The charset the host detected, lower case, if any."""
        return self.raw.charset

    @property
    def body(self) -> bytes:
        """Raw body bytes."""
        return self.raw.body

    def header(self, name: str) -> Optional[str]:
        """The first header called `name` (case-insensitive)."""
        lower = name.lower()
        for h in self.raw.headers:
            if h.name.lower() == lower:
                return h.value
        return None

    def ensure_ok(self) -> "Response":
        """This response when its status is 2xx, else raise what `status_error` maps it to."""
        error = status_error(self.raw.status, self.raw.final_url)
        if error is not None:
            raise error
        return self

    def text(self) -> str:
        """The body decoded with the detected charset (UTF-8 when unknown; bad bytes become U+FFFD)."""
        return decode(self.raw.body, self.raw.charset)

    def json(self) -> Any:
        """The body parsed as JSON (`ParseError` when it is not JSON)."""
        try:
            return json.loads(self.raw.body)
        except ValueError as e:
            raise ParseError(f"{self.raw.final_url} is not the expected JSON: {e}") from None

    def html(self) -> Document:
        """The body parsed as HTML by the host (see `crawlhost.html`)."""
        return Document.parse(self.text())


def fetch(method: str, url: str, headers: Optional[Headers] = None, body: Optional[bytes] = None) -> Response:
    """Send one request through the host; failures to get any response raise `CrawlError`."""
    request = HttpRequest(
        method=method.upper(),
        url=url,
        headers=[Header(name=k, value=v) for k, v in _pairs(headers)],
        body=body,
    )
    try:
        return Response(_raw.fetch(request))
    except Err as e:
        raise from_err(e) from None


def get(url: str, headers: Optional[Headers] = None, query: Optional[Query] = None, ok: bool = False) -> Response:
    """`GET url` (with `query` appended); `ok=True` also requires a 2xx status."""
    response = fetch("GET", with_query(url, query) if query else url, headers)
    return response.ensure_ok() if ok else response


def post_json(url: str, value: Any, headers: Optional[Headers] = None) -> Response:
    """`POST url` with `value` as a JSON body."""
    pairs = _pairs(headers) + [("content-type", "application/json")]
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return fetch("POST", url, pairs, body)


def status_error(status: int, url: str) -> Optional[CrawlError]:
    """The error a status maps to, `None` for 2xx: 5xx and 408 are `Retryable`,
    403 and 429 `Blocked`, the rest `Other` naming the status and URL."""
    if 200 <= status <= 299:
        return None
    message = f"HTTP {status} from {url}"
    if status == 408 or 500 <= status <= 599:
        return Retryable(message)
    if status in (403, 429):
        return Blocked(message)
    return Other(message)


# WHATWG labels whose Python codec differs in name or coverage.
_CODECS = {
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
}


def decode(body: bytes, charset: Optional[str]) -> str:
    """Bytes decoded with a charset label (`utf-8`, `euc-kr`, ...), UTF-8 when unknown."""
    label = (charset or "utf-8").strip().lower()
    codec = _CODECS.get(label, label)
    try:
        return body.decode(codec, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
