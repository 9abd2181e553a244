"""The closure vocabulary: why a closed request was closed (extended_attributes.closure_code)."""

from __future__ import annotations

CLOSURE_CODES = ("fixed", "no_action_needed", "referred", "duplicate", "not_found", "cancelled")
UNSPECIFIED = "unspecified"   # what a closed request without a code reads: never "fixed"
DUPLICATE = "duplicate"
REOPENED = "REOPENED"         # the external_status of a reopen's status update (source "reopen")
REOPEN_SOURCE = "reopen"


def closure_code_of(value: object) -> str | None:
    """A closure code from the vocabulary (case and surrounding blanks ignored), else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().casefold()
    return code if code in CLOSURE_CODES else None


def public_closure(status: str | None, code: str | None) -> str | None:
    """What outputs show: the code of a closed request (`unspecified` without one); None while open."""
    if status != "closed":
        return None
    return code if code in CLOSURE_CODES else UNSPECIFIED
