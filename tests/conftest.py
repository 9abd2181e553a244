"""Shared fixtures: an app on a fresh database per test, its client, CLI runner and an API key.

The database is a SQLite file per test, or a schema of its own on the PostgreSQL server named by
OPEN311_TEST_DATABASE_URL (see tests/databases.py).
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from open311 import create_app
from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.db import create_schema
from tests import databases, pg_cluster
from tests.fuzz.tally import CASES, EXAMPLES, RANDOM, SERVER_ERRORS, STATUSES

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

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


def pytest_report_header(config: pytest.Config) -> str:
    url = databases.postgres_url()
    return f"database: {'PostgreSQL ' + url if url else 'SQLite'}"


def pytest_configure(config: pytest.Config) -> None:
    """On PostgreSQL, every xdist worker after the first runs on a server of its own (tests/pg_cluster.py)."""
    url = databases.postgres_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker in (None, "gw0"):
        return
    try:
        cluster = pg_cluster.start_beside(url)
    except pg_cluster.ClusterError as exc:
        raise pytest.UsageError(f"worker {worker} cannot start a PostgreSQL server of its own ({exc}); "
                                "run the PostgreSQL pass on one worker: make pytest-postgresql PG_WORKERS=0") from exc
    if cluster is not None:
        os.environ[databases.ENV] = cluster.url
        config.add_cleanup(cluster.stop)


def pytest_sessionstart(session: pytest.Session) -> None:
    """On PostgreSQL, check the server once; optional runs (make test off CI) end quietly without it."""
    url = databases.postgres_url()
    if url is None:
        return
    problem = databases.reachable(url)
    if problem is None:
        return
    if os.environ.get(databases.OPTIONAL):
        pytest.exit(f"PostgreSQL pass skipped: {url} is not reachable ({problem})", returncode=0)
    pytest.exit(f"{databases.ENV}={url} is not reachable: {problem}", returncode=1)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    """An engine for creating test schemas on PostgreSQL (None on SQLite); sweeps stale ones first."""
    url = databases.postgres_url()
    if url is None:
        yield None
        return
    admin = databases.admin_engine(url)
    databases.sweep_stale(admin)
    yield admin
    admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, postgres_admin: Engine | None) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a schema of its own on PostgreSQL.

    Ask for it when the test needs an empty database (migrations, `db upgrade`); `make_app` then
    uses it too.
    """
    base = databases.postgres_url()
    if postgres_admin is None or base is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with databases.fresh_schema(postgres_admin, base) as url:
        yield url


@pytest.fixture(scope="session")
def shared_schema(postgres_admin: Engine | None) -> Iterator[Engine | None]:
    """On PostgreSQL, one schema for this run with the models' tables, emptied after each test that used it.

    Creating tables costs ~0.1 s per test on PostgreSQL; emptying them ~0.01 s.
    """
    base = databases.postgres_url()
    if postgres_admin is None or base is None:
        yield None
        return
    with databases.fresh_schema(postgres_admin, base) as url:
        engine = databases.admin_engine(url)
        create_schema(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def app_database_url(request: pytest.FixtureRequest, shared_schema: Engine | None) -> Iterator[str]:
    """The database `make_app` uses: the test's own when it asked for `database_url`, else a fresh one
    (a SQLite file, or on PostgreSQL the run's shared schema, emptied afterwards)."""
    if shared_schema is None or "database_url" in request.fixturenames:
        yield request.getfixturevalue("database_url")
        return
    yield shared_schema.url.render_as_string(hide_password=False)
    databases.empty_tables(shared_schema)


@pytest.fixture
def second_database_url(tmp_path: Path, postgres_admin: Engine | None) -> Iterator[str]:
    """Another fresh, empty database on the same server (e.g. to stand in for a read replica)."""
    base = databases.postgres_url()
    if postgres_admin is None or base is None:
        yield f"sqlite:///{tmp_path / 'second.sqlite3'}"
        return
    with databases.fresh_schema(postgres_admin, base) as url:
        yield url


@pytest.fixture
def on_postgresql(database_url: str) -> bool:
    """True when this run is on PostgreSQL."""
    return database_url.startswith("postgresql")


@pytest.fixture
def postgresql_url(database_url: str) -> str:
    """The test database, for tests that only make sense on PostgreSQL (they run in the PostgreSQL pass)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: runs in the PostgreSQL pass of `make test`")
    return database_url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for shared rate limits: OPEN311_TEST_REDIS_URL (then required), else the local default if it answers."""
    given = os.environ.get(databases.REDIS_ENV)
    url = given or databases.DEFAULT_REDIS
    problem = databases.redis_reachable(url)
    if problem and given:
        pytest.fail(f"{databases.REDIS_ENV}={url} is not reachable: {problem}")
    if problem:
        pytest.skip(f"Redis is not reachable at {url} (set {databases.REDIS_ENV} to require it): {problem}")
    return url


@pytest.fixture
def ratelimit_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own in Redis (other runs share the server); its keys deleted after."""
    prefix = f"o311t-{secrets.token_hex(6)}"
    yield prefix
    databases.delete_redis_keys(redis_url, prefix)


@pytest.fixture
def make_app(app_database_url: str, clock: Clock, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database; keyword arguments override config. Engines closed after."""
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    built: list[Flask] = []

    def build(config_path: Path | None = None, **overrides: Any) -> Flask:
        settings = {
            "TESTING": True,
            "OPEN311_CONFIG": str(config_path or ROOT / "jurisdictions.yaml"),
            "OPEN311_DATABASE_URL": app_database_url,
            "OPEN311_CREATE_SCHEMA": True,
            "OPEN311_CLOCK": clock,
            # Many tests post the same report twice on purpose; tests/integration/test_duplicates.py
            # turns the duplicate-fingerprint window (600 s in production) back on.
            "OPEN311_DUPLICATE_WINDOW": 0,
            "OPEN311_MEDIA_DIR": str(tmp_path / "media"),
            "OPEN311_DATA_DIR": str(tmp_path / "data"),
            **overrides,
        }
        application = create_app(settings)
        built.append(application)
        return application

    yield build
    for application in built:  # before the schema is dropped, and so PostgreSQL keeps free slots
        application.extensions["open311"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def gateway(app: Flask) -> Services:
    gw: Services = app.extensions["open311"]
    return gw


@pytest.fixture
def api_key(gateway: Services) -> str:
    """A fresh key for lacounty.gov."""
    with gateway.session() as session:
        _, plaintext = create_key(session, "lacounty.gov", "tests", gateway.clock())
    return plaintext


@pytest.fixture
def api_key_factory() -> Callable[[Flask], str]:
    """Make a fresh lacounty.gov key in any app's database."""

    def make(application: Flask) -> str:
        gw: Services = application.extensions["open311"]
        with gw.session() as session:
            _, plaintext = create_key(session, "lacounty.gov", "tests", gw.clock())
        return plaintext

    return make


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's own settings (OPEN311_TEST_* choose the test servers)."""
    for name in list(os.environ):
        if name.startswith(("OPEN311_", "PROMETHEUS_MULTIPROC")) and not name.startswith("OPEN311_TEST_"):
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
    gw: Services = multi_app.extensions["open311"]
    with gw.session() as session:
        _, plaintext = create_key(session, "a.example", "tests", gw.clock())
    return plaintext


# The fuzzers' tally (tests/fuzz/tally.py): counted in whichever process runs them, handed by each xdist worker
# to the controller, and reported once at the end.
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand this process's fuzz tally to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["fuzz"] = {"cases": dict(CASES), "statuses": {k: dict(v) for k, v in STATUSES.items()},
                          "errors": list(SERVER_ERRORS)}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller: add a finished worker's fuzz tally to the session's."""
    found = getattr(node, "workeroutput", {}).get("fuzz")
    if not found:
        return
    CASES.update(found["cases"])
    for name, counts in found["statuses"].items():
        STATUSES.setdefault(name, Counter()).update({int(code): n for code, n in counts.items()})
    SERVER_ERRORS.extend(found["errors"])


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
