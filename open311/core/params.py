"""Query parameter values, one strict parser per kind: integer, decimal, id, id list, cursor, date, enumeration.

Each parser takes the text a client sent and returns the value it spells, or raises BadRequest with one
description that names the parameter. The rules (docs/api.md, "Parameter values"):

- Surrounding whitespace is trimmed before a parser sees the text (open311.georeport.parsing.param, the spec's
  "empty means absent"); whitespace inside a value is refused, as are `_`, signs where none is meant, and
  digits other than ASCII 0-9.
- Length is bounded before anything is converted, and a range check applies to the value that is returned.
- A cursor decodes only to what this server issues: unpadded URL-safe base64 of the canonical text, numbers
  in canonical decimal within 1..MAX_ID (open311.feeds re-encode the decoded cursor and compare).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import NamedTuple

from open311.core.dates import parse_datetime
from open311.errors import BadRequest

MAX_ID = 2**63 - 1            # service_request_id is a BIGINT
MAX_ID_LENGTH = 64            # an id longer than this is a 400 (a shorter unknown one matches nothing)
MAX_DIGITS = len(str(MAX_ID))  # 19: a whole number longer than this is refused before int() reads it
MAX_DECIMAL_LENGTH = 40       # sign, digits, point and exponent of a decimal number
MAX_CURSOR_LENGTH = 128       # characters of a cursor token (ours are under 60)
DIGITS = re.compile(r"[0-9]+")  # a str pattern: [0-9] is ASCII only, unlike str.isdigit() or \d
CANONICAL = re.compile(r"0|[1-9][0-9]*")
# Plain decimal notation: what float() reads minus "1_0", "inf", "nan", hex and non-ASCII digits.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The W3C profile of ISO 8601 as clients send it (parse_datetime's leniencies: a space for T, a comma in the
# fraction, a lower-case z, "+hh:mm" arriving as " hh:mm"); not ISO's basic (20260101) or week (2026-W01) forms.
W3C = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
                 r"(?:[zZ]|[+ -][0-9]{2}(?::?[0-9]{2})?)?)?")
CURSOR_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
TRUE, FALSE = ("true", "1", "yes", "all"), ("false", "0", "no")


class Wording(NamedTuple):
    """How a bad decimal is reported; `{name}`, `{low}`, `{high}` and `{raw}` (quoted, cut) are filled in."""

    not_a_number: str
    out_of_range: str


# Where each is used: the locate routes (BETWEEN) and the feed's place filters (FROM_TO), whose tests and
# clients know these texts; POST's lat and long add "(WGS84)" to BETWEEN's first (open311.intake.submit).
BETWEEN = Wording("{name} must be a decimal number, got {raw}.",
                  "{name} must be between {low:g} and {high:g}, got {raw}.")
FROM_TO = Wording("{name} must be a number from {low:g} to {high:g}, got {raw}.",
                  "{name} must be a number from {low:g} to {high:g}, got {raw}.")


def shown(raw: str, limit: int = 40) -> str:
    """A client's value, quoted and cut, for an error description."""
    return repr(raw[:limit])


def integer(raw: str, name: str, low: int, high: int) -> int:
    """The whole number within [low, high] that `raw` spells in at most MAX_DIGITS ASCII digits."""
    if len(raw) <= MAX_DIGITS and DIGITS.fullmatch(raw) and low <= int(raw) <= high:
        return int(raw)
    raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {shown(raw)}.")


def read_decimal(raw: str) -> float | None:
    """The finite number `raw` spells in plain decimal notation (bounded length); None when it is not one."""
    if len(raw) > MAX_DECIMAL_LENGTH or not DECIMAL.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def decimal(raw: str, name: str, low: float, high: float, wording: Wording = BETWEEN) -> float:
    """The finite number within [low, high] that `raw` spells in plain decimal notation."""
    value = read_decimal(raw)
    fill = {"name": name, "low": low, "high": high, "raw": shown(raw)}
    if value is None:
        # A number too large for a float (1e309) is out of range, not "not a number".
        too_large = len(raw) <= MAX_DECIMAL_LENGTH and DECIMAL.fullmatch(raw) is not None
        raise BadRequest((wording.out_of_range if too_large else wording.not_a_number).format(**fill))
    if not low <= value <= high:
        raise BadRequest(wording.out_of_range.format(**fill))
    return value


def identifier(raw: str, name: str = "service_request_id") -> int | None:
    """A request id: the positive integer `raw` spells, or None when it names no request (not ASCII digits,
    or 0), which matches nothing; absurd ones (longer than MAX_ID_LENGTH, above MAX_ID) are a 400."""
    digits = DIGITS.fullmatch(raw) is not None
    if len(raw) > MAX_ID_LENGTH or (digits and int(raw) > MAX_ID):
        cut = raw if len(raw) <= 24 else raw[:24] + "..."
        raise BadRequest(f"{name} {cut!r} is out of range: ids are integers up to {MAX_ID}.")
    return int(raw) if digits and int(raw) > 0 else None


def identifiers(raws: Iterable[str], name: str = "service_request_id") -> list[int]:
    """The ids of a list that can exist, in order; the first absurd one is a 400."""
    found = (identifier(raw, name) for raw in raws)
    return [value for value in found if value is not None]


def moment(raw: str, name: str, tz: tzinfo) -> datetime:
    """A W3C datetime (years 1970-2200; without an offset, in `tz`), as UTC."""
    try:
        if W3C.fullmatch(raw):
            return parse_datetime(raw, tz)
    except ValueError:
        pass
    raise BadRequest(f"{name} must be a W3C datetime such as 2026-01-01T00:00:00Z, got {shown(raw)}.")


def choices(raws: Sequence[str], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """Values of an enumeration (any case), lowered; every unknown one is named in one 400."""
    lowered = tuple(raw.lower() for raw in raws)
    bad = [raw for raw, low in zip(raws, lowered, strict=True) if low not in allowed]
    if bad:
        raise BadRequest(f"{name} must be {' or '.join(allowed)}, got {', '.join(shown(b, 20) for b in bad)}.")
    return lowered


def flag(raw: str | None, name: str) -> bool:
    """A boolean: true/1/yes/all or false/0/no, any case (absent is false)."""
    value = (raw or "false").lower()
    if value not in TRUE + FALSE:
        raise BadRequest(f"{name} must be true or false, got {shown(value, 20)}.")
    return value in TRUE


def not_issued(name: str = "after") -> BadRequest:
    """The one answer to a cursor this server did not issue (it says no more about what is wrong)."""
    return BadRequest(f"{name} is not a cursor this server issued.")


def cursor_text(token: str, name: str = "after") -> str:
    """The ASCII text inside a cursor token: unpadded URL-safe base64, bounded; anything else is a 400."""
    if len(token) > MAX_CURSOR_LENGTH or len(token) % 4 == 1 or not CURSOR_TOKEN.fullmatch(token):
        raise not_issued(name)
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise not_issued(name) from None
    if base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=") != token:
        raise not_issued(name)  # stray low bits in the last character: not the canonical spelling
    return text


def cursor_number(raw: str, low: int = 1, name: str = "after") -> int:
    """A number inside a cursor: canonical ASCII decimal (no sign, space, `_` or leading zero), low..MAX_ID."""
    if len(raw) > MAX_DIGITS or not CANONICAL.fullmatch(raw) or not low <= int(raw) <= MAX_ID:
        raise not_issued(name)
    return int(raw)
