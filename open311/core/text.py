"""Text that may not reach a feed: the characters XML cannot carry, and cleaning back offices' text of them."""

from __future__ import annotations

import re

# Two sets, because the two sources are treated differently:
# - NOT_XML: what XML 1.0 cannot carry at all (C0 controls but tab, LF and CR; lone surrogates; U+FFFE and
#   U+FFFF). A client's input or a catalog text holding one is refused (georeport.parsing.clean, catalog.checks),
#   and an error message has them replaced (georeport.respond): nothing stored or shown can break an XML answer.
# - BACK_OFFICE_UNSAFE: NOT_XML plus CR, DEL and the C1 controls (U+007F-U+009F), which XML carries but no
#   reader wants to see. A back office's answer cannot be refused, so clean_text removes them silently (line
#   ends are normalised to LF first, so CR never reaches it as a line break).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BACK_OFFICE_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_text(value: object, limit: int) -> str | None:
    """Return `value` as text without control characters, trimmed and cut to `limit`; None when empty."""
    if value is None:
        return None
    text = BACK_OFFICE_UNSAFE.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def clean_token(value: object, limit: int) -> str | None:
    """Return a one-line identifier or code (no whitespace runs), or None when empty or too long."""
    text = clean_text(value, 10 * limit)
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else None
