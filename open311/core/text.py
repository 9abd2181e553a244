"""Cleaning text that comes from back offices before it can reach a public feed."""

from __future__ import annotations

import re

# Control characters (tab and newline kept), and code points XML 1.0 cannot carry.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_text(value: object, limit: int) -> str | None:
    """Return `value` as text without control characters, trimmed and cut to `limit`; None when empty."""
    if value is None:
        return None
    text = _UNSAFE.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
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
