"""The fuzzers' app (their tally is reported by tests/conftest.py, which the xdist controller loads too)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def fuzz_app(make_app: Any) -> Any:
    """An app with the production duplicate window, so dedup paths are fuzzed too."""
    app = make_app(OPEN311_DUPLICATE_WINDOW=600)
    yield app
    app.extensions["open311"].engine.dispose()
