"""Database engine and sessions: SQLite (embedded default, WAL + synchronous=FULL) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Executable

from open311.storage.models import Base


def default_database_url(instance_path: str | Path) -> str:
    """The embedded default: a SQLite file under the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'open311.sqlite3'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Durability and integrity settings applied to every SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine for the URL, with SQLite tuned and its parent folder created.

    On PostgreSQL each process keeps up to `pool_size` connections (plus as many again in bursts):
    size it to the threads per worker.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=max(pool_size, 1), max_overflow=max(pool_size, 1))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit; every use goes through session.begin()."""
    return sessionmaker(engine, expire_on_commit=False, autobegin=False)


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    Base.metadata.create_all(engine)


def read_row(session: Session, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
    """The first row of a one-statement read on a connection of the session's engine, outside any session
    transaction: in autocommit on PostgreSQL (no BEGIN/ROLLBACK round trips); SQLite's driver begins no
    transaction for a SELECT anyway, and switching its isolation level costs more than the read."""
    bind = session.get_bind()
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            if bind.dialect.name != "sqlite":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            return connection.execute(statement, params).first()
    with session.begin():
        return session.connection().execute(statement, params).first()
