"""Database engine and sessions: SQLite (embedded default, WAL + synchronous=FULL) or PostgreSQL.

Transactions: code that writes Core statements runs them in `with writing(session) as connection:`, one
transaction of its own, committed when the block ends (rolled back on an error); code that reads a few Core
statements runs them in `with reading(session) as connection:` (`single=True` for one statement). Both work on
a plain connection of the session's engine, so the hot paths (the POST store, the key and claim look-ups, the
feed, the relay's claim and settle) skip the ORM's bookkeeping; `reading` joins the session's transaction when
one is open. A function that works inside its caller's transaction takes that transaction's `Connection`
(the relay records a batch's outcomes and claims the next batch in one), so a signature says which it is:
`f(session, ...)` owns its transaction, `f(connection, ...)` runs in the caller's. Loading or changing ORM
objects keeps `with session.begin():`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Connection, Engine, bindparam, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from open311.storage.models import Base

T = TypeVar("T")


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


def _postgresql_utc(dbapi_connection: Any, _record: Any) -> None:
    """Every PostgreSQL session in UTC: psycopg then returns timestamptz values in `timezone.utc`, which
    UTCDateTime passes through (astimezone to the zone a value already has is free), instead of in the server's
    zone (`Etc/UTC` here, as a ZoneInfo: 0.4 us a value to convert). No SQL of ours depends on the session's
    zone: every column is timestamptz and every date is computed in Python in the jurisdiction's zone."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True   # a SET outside any transaction, as SQLAlchemy documents for search_path
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


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
    engine = create_engine(url, pool_pre_ping=True, pool_size=max(pool_size, 1), max_overflow=max(pool_size, 1))
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _postgresql_utc)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit and begin no transaction by themselves."""
    return sessionmaker(engine, expire_on_commit=False, autobegin=False)


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet, all in one transaction."""
    if engine.dialect.name != "sqlite":
        Base.metadata.create_all(engine)   # PostgreSQL's DDL is transactional as SQLAlchemy runs it
        return
    with engine.connect() as connection:
        # Python's sqlite3 begins no transaction for DDL, so each CREATE would commit (and, with synchronous=FULL,
        # sync the file) on its own: about 70 of them, 65 ms on this machine. One BEGIN makes it one commit, and
        # a failure leaves no half-made schema behind.
        connection.exec_driver_sql("BEGIN")
        Base.metadata.create_all(connection)
        connection.commit()


@contextmanager
def writing(session: Session) -> Iterator[Connection]:
    """Run the block in a transaction of its own, committed when it ends (rolled back on an error).

    The connection is a plain one of the session's engine (the session's own when it is bound to a connection).
    The session must have no transaction open: work inside a caller's transaction takes its Connection instead.
    """
    if session.in_transaction():
        raise RuntimeError("the session already has a transaction open: pass its connection instead")
    bind = session.get_bind()
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        with session.begin():
            yield session.connection()


@contextmanager
def reading(session: Session, *, single: bool = False) -> Iterator[Connection]:
    """Run the block's reads in one transaction: the session's when it has one open, else a plain connection's.

    The plain connection is one of the session's engine: the ORM's bookkeeping would cost more than a few
    statements' own Python. `single`: the block runs one statement, so on PostgreSQL it runs in autocommit (no
    BEGIN and ROLLBACK round trips); SQLite's driver begins no transaction for a SELECT anyway, and switching its
    isolation level costs more than the read.
    """
    if session.in_transaction():
        yield session.connection()
        return
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        with session.begin():
            yield session.connection()
        return
    with bind.connect() as connection:
        if not single:
            with connection.begin():
                yield connection
        elif bind.dialect.name == "sqlite":
            yield connection
        else:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")


MAX_IN = 256    # values in one padded IN list at most


def in_placeholders(column: ColumnElement[Any], size: int, prefix: str = "b_id") -> ColumnElement[bool]:
    """`column IN (:b_id0, ... :b_id<size-1>)`, the IN list of a statement built once per size.

    Plain placeholders: the statement is reused as compiled (an expanding IN is rewritten on every execution,
    which costs more than a small query). padded_chunks gives the values.
    """
    return column.in_(placeholders(size, prefix))


def placeholders(size: int, prefix: str = "b_id") -> list[BindParameter[Any]]:
    """The bound parameters `<prefix>0` ... `<prefix><size-1>` of a padded IN list."""
    return [bindparam(f"{prefix}{i}") for i in range(size)]


def padded_chunks(values: Sequence[T], limit: int = MAX_IN) -> Iterator[tuple[int, list[T]]]:
    """Yield (size, chunk): `values` in chunks of at most `limit`, padded to a power of two `size`.

    A chunk is padded by repeating its last value (a repeat matches or changes nothing more), so only a few sizes,
    hence a few statements built once per size, ever exist.
    """
    for start in range(0, len(values), limit):
        chunk = list(values[start:start + limit])
        size = _power_of_two(len(chunk))
        yield size, chunk + chunk[-1:] * (size - len(chunk))


def padded_values(params: dict[str, Any], prefix: str, values: Sequence[Any]) -> int:
    """Put `values` (at least one) in `params` as `<prefix>0` ... padded; return the padded size.

    One list, however long, for the placeholders of in_placeholders/placeholders: up to MAX_IN values padded to a
    power of two, beyond it to a multiple of MAX_IN (so a long list gains fewer than MAX_IN placeholders: SQLite
    allows 32,766 in a statement). A padding value repeats the last one, which matches nothing more.
    """
    count = len(values)
    size = _power_of_two(count) if count <= MAX_IN else -(-count // MAX_IN) * MAX_IN
    params.update({f"{prefix}{i}": value for i, value in enumerate(values)})
    params.update({f"{prefix}{i}": values[-1] for i in range(count, size)})
    return size


def _power_of_two(count: int) -> int:
    """The least power of two holding `count` (at least 1) values."""
    return 1 << (count - 1).bit_length()


def has_tables(engine: Engine) -> bool:
    """True when the database already holds our tables (`open311 db upgrade` has run)."""
    return "service_requests" in inspect(engine).get_table_names()
