"""Test databases: a SQLite file per test, or a uniquely named PostgreSQL schema per test.

`OPEN311_TEST_DATABASE_URL` (a PostgreSQL URL) switches the suite to PostgreSQL. Each test gets
its own schema, selected through the connection's `search_path`, so concurrent runs (other people,
CI) on the same database never see each other's tables. Schemas are named
`o311t_<epoch seconds>_<random>`; a run drops its own at teardown and sweeps those older than a
day that a killed run left behind.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ENV = "OPEN311_TEST_DATABASE_URL"
REDIS_ENV = "OPEN311_TEST_REDIS_URL"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
OPTIONAL = "OPEN311_TEST_DATABASE_OPTIONAL"
SCHEMA_PREFIX = "o311t_"
STALE_AFTER = 24 * 3600


def postgres_url() -> str | None:
    """The PostgreSQL server the suite runs on, or None for SQLite."""
    return os.environ.get(ENV) or None


def with_search_path(url: str, schema: str) -> str:
    """The URL whose connections see only `schema` (libpq `options`)."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def admin_engine(url: str) -> Engine:
    """An engine without pooling for creating and dropping schemas."""
    return create_engine(url, poolclass=NullPool)


def reachable(url: str) -> str | None:
    """None when the server answers, else why not."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        engine.dispose()
    return None


def sweep_stale(admin: Engine, now: float | None = None) -> list[str]:
    """Drop test schemas older than STALE_AFTER (left by killed runs); return their names."""
    now = now or time.time()
    with admin.connect() as connection:
        names = connection.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                   {"p": SCHEMA_PREFIX + "%"}).scalars().all()
    dropped = []
    for name in names:
        stamp = name[len(SCHEMA_PREFIX):].split("_", 1)[0]
        if stamp.isdigit() and now - int(stamp) > STALE_AFTER:
            drop_schema(admin, name)
            dropped.append(name)
    return dropped


def drop_schema(admin: Engine, name: str) -> None:
    """Drop one schema and everything in it, waiting at most 30 s for locks."""
    with admin.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '30s'"))
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def empty_tables(engine: Engine) -> None:
    """Delete every row of the models' tables and restart their id sequences (a fresh database, fast)."""
    from open311.storage.models import Base

    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '30s'"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        sequences = connection.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).scalars().all()
        for sequence in sequences:
            connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@contextmanager
def fresh_schema(admin: Engine, base_url: str) -> Iterator[str]:
    """Create a uniquely named empty schema; yield a URL bound to it; drop it afterwards."""
    name = f"{SCHEMA_PREFIX}{int(time.time())}_{secrets.token_hex(5)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield with_search_path(base_url, name)
    finally:
        drop_schema(admin, name)


def redis_reachable(url: str) -> str | None:
    """None when Redis answers PING, else why not."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every key containing `prefix` (the rate limiter puts it after its LIMITER namespace)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()
