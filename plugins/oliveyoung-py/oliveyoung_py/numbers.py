"""Numbers in card text: amounts of money, review counts, ratings, discount rates.

Pure functions, ported rule for rule from the Rust plugin's `parse.rs` so both
plugins read the same values (Rust's parsing and rounding rules included:
`parse::<u32>` accepts an optional `+` and ASCII digits only, `f64::round`
rounds halves away from zero).
"""

import math
import re
from typing import List, NamedTuple, Optional

U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1
_UNSIGNED = re.compile(r"\+?[0-9]+\Z")
# Rust's `f64::from_str`: decimal or exponent forms, inf and NaN; no `_`, no spaces.
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z|[+-]?(?:inf|infinity|nan)\Z", re.I)


def parse_unsigned(text: str, limit: int) -> Optional[int]:
    """`text` as Rust's `u32`/`u64` `from_str` reads it (no trimming), `None` past `limit`."""
    if not _UNSIGNED.match(text):
        return None
    value = int(text)
    return value if value <= limit else None


def parse_float(text: str) -> Optional[float]:
    """`text` as Rust's `f64::from_str` reads it (no trimming)."""
    return float(text) if _FLOAT.match(text) else None


def round_half_away(x: float) -> float:
    """Rust's `f64::round`: halves away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def is_space(c: str) -> bool:
    """Rust's `char::is_whitespace` (Unicode White_Space)."""
    return c.isspace() and c not in "\x1c\x1d\x1e\x1f"


class Number(NamedTuple):
    """One number in a text: its digits (with `,` and one `.`), the next and
    previous characters that are not spaces, and whether it is in parentheses."""

    text: str
    prev: Optional[str]
    next: Optional[str]
    nested: bool


def numbers(text: str) -> List[Number]:
    """Every number of `text`, in order."""
    out: List[Number] = []
    n = len(text)
    i = 0
    depth = 0
    scanned = 0  # the parentheses depth counts characters before `scanned`
    while i < n:
        if not ("0" <= text[i] <= "9"):
            i += 1
            continue
        start = i
        dot = False
        while i < n:
            c = text[i]
            digit_follows = i + 1 < n and "0" <= text[i + 1] <= "9"
            if "0" <= c <= "9" or (c == "," and digit_follows) or (c == "." and not dot and digit_follows):
                dot = dot or c == "."
                i += 1
            else:
                break
        prev = None
        for j in range(start - 1, -1, -1):
            if not is_space(text[j]):
                prev = text[j]
                break
        nxt = None
        for j in range(i, n):
            if not is_space(text[j]):
                nxt = text[j]
                break
        for c in text[scanned:start]:
            if c == "(" or c == "（":
                depth += 1
            elif (c == ")" or c == "）") and depth > 0:
                depth -= 1
        scanned = start
        out.append(Number(text[start:i], prev, nxt, depth > 0))
    return out


def parse_amount(text: str) -> Optional[int]:
    """The first amount in the text: `25,600원` -> 25600; not decimals, not rates (`23%`)."""
    for num in numbers(text):
        if "." not in num.text and num.next != "%":
            value = parse_unsigned(num.text.replace(",", ""), U64_MAX)
            if value is not None:
                return value
    return None


def parse_count(text: str) -> Optional[int]:
    """A review count: `(1,234)` -> 1234, `(1.2만)` -> 12000, `2천` -> 2000; not rates."""
    found = numbers(text)
    if not found:
        return None
    num = found[0]
    value = parse_float(num.text.replace(",", ""))
    if value is None:
        return None
    if num.next == "%":
        return None
    if num.next == "만":
        scale = 10_000.0
    elif num.next == "천":
        scale = 1_000.0
    elif "." in num.text:
        return None
    else:
        scale = 1.0
    count = round_half_away(value * scale)
    return int(count) if math.isfinite(count) and 0.0 <= count < 1e15 else None


def parse_rating(text: str) -> Optional[float]:
    """The rating out of 5: the last number followed by `점`, else the only number."""
    found = numbers(text)
    chosen = next((n for n in reversed(found) if n.next == "점"), None)
    if chosen is None:
        if len(found) != 1:
            return None
        chosen = found[0]
    rating = parse_float(chosen.text.replace(",", ""))
    if rating is None or not math.isfinite(rating) or not 0.0 <= rating <= 5.0:
        return None
    return rating


def rating_from_width(style: str) -> Optional[float]:
    """A star bar's fill, `width:94%`, as a rating out of 5 (4.7)."""
    rest = None
    for decl in style.split(";"):
        d = decl.strip()
        if d.startswith("width"):
            after = d[len("width"):].strip()
            if after.startswith(":"):
                rest = after[1:]
                break
    if rest is None:
        return None
    rest = rest.strip()
    if not rest.endswith("%"):
        return None
    pct = parse_float(rest[:-1].strip())
    if pct is None or not 0.0 <= pct <= 100.0:
        return None
    return round_half_away(pct / 20.0 * 10.0) / 10.0


def has_rate(text: str) -> bool:
    """Whether a text shows a discount rate: a number from 1 to 99 followed by `%`."""
    for num in numbers(text):
        if num.next == "%":
            value = parse_unsigned(num.text, U32_MAX)
            if value is not None and 1 <= value <= 99:
                return True
    return False


def money(text: str) -> List[int]:
    """Amounts of money in a price block's text (`19,800원`, `₩19,800`), not rates,
    not asides in parentheses, not unit prices (`10ml당 1,320원`)."""
    out: List[int] = []
    for num in numbers(text):
        if "." in num.text or num.nested or num.prev == "당":
            continue
        if num.next == "원" or num.prev in ("₩", "￦", "W"):
            value = parse_unsigned(num.text.replace(",", ""), U64_MAX)
            if value is not None:
                out.append(value)
    return out
