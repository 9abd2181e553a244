"""Numbers sent as text (query parameters, form fields): "a number within [low, high]", and request ids."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import NamedTuple

from open311.errors import BadRequest

MAX_ID = 2**63 - 1   # service_request_id is a BIGINT
MAX_ID_LENGTH = 64


class Wording(NamedTuple):
    """How a bad number is reported; `{name}`, `{low}`, `{high}` and `{raw}` (quoted, cut) are filled in."""

    not_a_number: str
    out_of_range: str


# Where each is used: the locate routes (BETWEEN) and the feed's place filters (FROM_TO), whose tests and
# clients know these texts; POST's lat and long add "(WGS84)" to BETWEEN's first (open311.intake.submit).
BETWEEN = Wording("{name} must be a decimal number, got {raw}.",
                  "{name} must be between {low:g} and {high:g}, got {raw}.")
FROM_TO = Wording("{name} must be a number from {low:g} to {high:g}, got {raw}.",
                  "{name} must be a number from {low:g} to {high:g}, got {raw}.")


def number_in(raw: str | None, name: str, low: float, high: float, problems: list[str], *,
              wording: Wording = BETWEEN, syntax: re.Pattern[str] | None = None) -> float | None:
    """The finite number within [low, high] that `raw` spells; None when absent, or when bad (noted in `problems`).

    `syntax`, when given, must match the whole text before float() reads it: float() alone also takes "1_0",
    "infinity" or Arabic-Indic digits. A value float() reads as infinite or NaN is out of range.
    """
    if raw is None:
        return None
    shown = repr(raw[:40])
    value = _float(raw, syntax)
    if value is None:
        problems.append(wording.not_a_number.format(name=name, low=low, high=high, raw=shown))
        return None
    if not math.isfinite(value) or not low <= value <= high:
        problems.append(wording.out_of_range.format(name=name, low=low, high=high, raw=shown))
        return None
    return value


def _float(raw: str, syntax: re.Pattern[str] | None) -> float | None:
    """What float() reads in `raw` when it has the syntax (any, without one); None when it is not a number."""
    if syntax is not None and not syntax.fullmatch(raw):
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def parse_ids(raw: Sequence[str]) -> list[int]:
    """Keep the ids that can exist (positive integers); others match nothing; absurd ones are a 400."""
    huge = [v for v in raw if len(v) > MAX_ID_LENGTH or (v.isascii() and v.isdigit() and int(v) > MAX_ID)]
    if huge:
        shown = huge[0] if len(huge[0]) <= 24 else huge[0][:24] + "..."
        raise BadRequest(f"service_request_id {shown!r} is out of range: ids are integers up to {MAX_ID}.")
    return [int(v) for v in raw if v.isascii() and v.isdigit() and int(v) > 0]
