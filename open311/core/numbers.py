"""Numbers sent as text (query parameters, form fields), collected as problems: the parsers of
open311.core.params ("a decimal within [low, high]", request ids) in the shape intake and the routes use."""

from __future__ import annotations

import re
from collections.abc import Sequence

from open311.core.params import BETWEEN, FROM_TO, MAX_ID, MAX_ID_LENGTH, Wording, decimal, identifiers
from open311.errors import BadRequest

__all__ = ["BETWEEN", "FROM_TO", "MAX_ID", "MAX_ID_LENGTH", "Wording", "number_in", "parse_ids"]


def number_in(raw: str | None, name: str, low: float, high: float, problems: list[str], *,
              wording: Wording = BETWEEN, syntax: re.Pattern[str] | None = None) -> float | None:
    """The finite number within [low, high] that `raw` spells (open311.core.params.decimal); None when absent,
    or when bad (noted in `problems`). `syntax`, when given, must match the whole text as well."""
    if raw is None:
        return None
    if syntax is not None and not syntax.fullmatch(raw):
        problems.append(wording.not_a_number.format(name=name, low=low, high=high, raw=repr(raw[:40])))
        return None
    try:
        return decimal(raw, name, low, high, wording)
    except BadRequest as exc:
        problems.extend(exc.descriptions)
        return None


def parse_ids(raw: Sequence[str]) -> list[int]:
    """Keep the ids that can exist (positive integers); others match nothing; absurd ones are a 400."""
    return identifiers(raw)
