"""Shared fixtures: an app on a fresh database per test, its client, CLI runner and an API key."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311 import create_app
from open311.gateway import Gateway
from open311.keys import create_key

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
FIXED_NOW = datetime(2026, 3, 10, 17, 30, 0, tzinfo=UTC)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when the reference material is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material {path} is absent")
    return path


class Clock:
    """A settable clock for the app under test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite file per test."""
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def make_app(database_url: str, clock: Clock, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    """Build an app on the test database; keyword arguments override config."""
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))

    def build(config_path: Path | None = None, **overrides: Any) -> Flask:
        settings = {
            "TESTING": True,
            "OPEN311_CONFIG": str(config_path or ROOT / "jurisdictions.yaml"),
            "OPEN311_DATABASE_URL": database_url,
            "OPEN311_CREATE_SCHEMA": True,
            "OPEN311_CLOCK": clock,
            # Many tests post the same report twice on purpose; tests/integration/test_duplicates.py
            # turns the duplicate-fingerprint window (600 s in production) back on.
            "OPEN311_DUPLICATE_WINDOW": 0,
            **overrides,
        }
        return create_app(settings)

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    application = make_app()
    yield application
    application.extensions["open311"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def gateway(app: Flask) -> Gateway:
    gw: Gateway = app.extensions["open311"]
    return gw


@pytest.fixture
def api_key(gateway: Gateway) -> str:
    """A fresh key for lacounty.gov."""
    with gateway.session() as session:
        _, plaintext = create_key(session, "lacounty.gov", "tests", gateway.clock())
    return plaintext


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's own settings."""
    for name in ("OPEN311_CONFIG", "OPEN311_DATABASE_URL"):
        if name in os.environ:
            monkeypatch.delenv(name)


@pytest.fixture
def multi_app(make_app: Callable[..., Flask]) -> Flask:
    """The two-jurisdiction test configuration."""
    return make_app(DATA / "multi" / "jurisdictions.yaml")


@pytest.fixture
def multi_client(multi_app: Flask) -> FlaskClient:
    return multi_app.test_client()


@pytest.fixture
def multi_key(multi_app: Flask) -> str:
    gw: Gateway = multi_app.extensions["open311"]
    with gw.session() as session:
        _, plaintext = create_key(session, "a.example", "tests", gw.clock())
    return plaintext
