"""HTML parsed natively by the host (the `html` import), queried with CSS selectors.

A thin, typed wrapper over the generated resources: errors become this SDK's
exceptions (an invalid selector is `ParseError`, a document over one of the
host's caps `Other`). Each query crosses the sandbox boundary, so read in bulk:
`texts`, `own_texts` and `attr_values` return one list for all matches in one
call, where selecting elements and reading each costs a call per read.
"""

from typing import List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import html as _raw

from .errors import from_err


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace collapsed to one space, ends trimmed."""
    return " ".join(text.split())


class _Queries:
    """The queries a document and an element share, over their `raw`
    resource: a document is searched whole, an element below itself."""

    __slots__ = ()
    raw: "_raw.Document | _raw.Element"

    def select(self, css: str) -> List["Element"]:
        """Elements matching `css`, in document order."""
        try:
            return [Element(e) for e in self.raw.select(css)]
        except Err as e:
            raise from_err(e) from None

    def select_first(self, css: str) -> Optional["Element"]:
        """The first element matching `css`."""
        try:
            found = self.raw.select_first(css)
        except Err as e:
            raise from_err(e) from None
        return None if found is None else Element(found)

    def texts(self, css: str) -> List[str]:
        """The text of every element matching `css`, in one call."""
        try:
            return self.raw.texts(css)
        except Err as e:
            raise from_err(e) from None

    def own_texts(self, css: str) -> List[str]:
        """The own text of every element matching `css`, in one call."""
        try:
            return self.raw.own_texts(css)
        except Err as e:
            raise from_err(e) from None

    def attr_values(self, css: str, name: str) -> List[Optional[str]]:
        """Attribute `name` of every element matching `css` (`None` where absent), in one call."""
        try:
            return self.raw.attr_values(css, name)
        except Err as e:
            raise from_err(e) from None


class Element(_Queries):
    """One element of a parsed document; it keeps its document alive."""

    __slots__ = ("raw",)

    def __init__(self, raw: _raw.Element) -> None:
        self.raw = raw

    def name(self) -> str:
        """The tag name, lower case."""
        return self.raw.name()

    def attr(self, name: str) -> Optional[str]:
        """Attribute `name` as written, `None` when absent."""
        return self.raw.attr(name)

    def attr_trimmed(self, name: str) -> Optional[str]:
        """Attribute `name` with surrounding whitespace removed."""
        value = self.raw.attr(name)
        return None if value is None else value.strip()

    def attrs(self) -> List[Tuple[str, str]]:
        """Every attribute as `(name, value)`, in name order."""
        return self.raw.attrs()

    def text(self) -> str:
        """All text below the element, as written (`textContent`)."""
        return self.raw.text()

    def text_trimmed(self) -> str:
        """All text below the element, whitespace collapsed."""
        return collapse_whitespace(self.raw.text())

    def own_text(self) -> str:
        """The text of the element's own text children only."""
        return self.raw.own_text()

    def inner_html(self) -> str:
        """The element's content as HTML."""
        return self.raw.inner_html()

    def outer_html(self) -> str:
        """The element and its content as HTML."""
        return self.raw.outer_html()

    def matches(self, css: str) -> bool:
        """Whether the element itself matches `css`."""
        try:
            return self.raw.matches(css)
        except Err as e:
            raise from_err(e) from None


class Document(_Queries):
    """A document the host parsed (HTML5 tree building: malformed markup is repaired)."""

    __slots__ = ("raw",)

    def __init__(self, raw: _raw.Document) -> None:
        self.raw = raw

    @staticmethod
    def parse(text: str) -> "Document":
        """Parse a document or fragment; `Other` when it is over one of the host's caps."""
        try:
            return Document(_raw.Document.parse(text))
        except Err as e:
            raise from_err(e) from None
