"""Fuzz runs count their cases and server errors and report both at the end of the session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.tally import CASES, EXAMPLES, RANDOM, SERVER_ERRORS, STATUSES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per fuzzer, then the totals: cases tried and server errors (5xx) seen."""
    if not CASES:
        return
    terminalreporter.section("fuzz")
    for name, count in sorted(CASES.items()):
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.get(name, {}).items()))
        terminalreporter.write_line(f"{name}: {count} cases ({statuses})")
    terminalreporter.write_line(f"fuzz: {sum(CASES.values())} cases tried, {len(SERVER_ERRORS)} server errors "
                                f"({'random' if RANDOM else 'derandomized'}, FUZZ_EXAMPLES={EXAMPLES})")
    for error in SERVER_ERRORS[:20]:
        terminalreporter.write_line(f"  server error: {error}")


@pytest.fixture
def fuzz_app(make_app: Any) -> Any:
    """An app with the production duplicate window, so dedup paths are fuzzed too."""
    app = make_app(OPEN311_DUPLICATE_WINDOW=600)
    yield app
    app.extensions["open311"].engine.dispose()
