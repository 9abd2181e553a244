"""Column types of the models: datetimes stored as UTC and returned aware, and ids that auto-increment everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY, so ids are BIGINT elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC on every database and always returns them aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (naive on SQLite, which has no zone type)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """On SQLite, the stored text straight to an aware datetime, in one function.

        A feed page reads three or four of these per row; the default chain (SQLAlchemy's text parser, then
        process_result_value) costs about 1.5 us more per value. The text is what process_bind_param stored
        through SQLAlchemy's SQLite DateTime: ISO 8601 with a space and always six digits of microseconds
        (26 characters, a dot at 19), read as UTC by parsing it with "+00:00" appended: 0.16 us, where parsing
        and then `replace(tzinfo=UTC)` costs 1.1 us (replace alone 0.8 us, on CPython 3.11). Any other text
        (written by hand, with an offset or without microseconds) is parsed and converted like any value.
        """
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def to_utc(value: str | None) -> datetime | None:
            if value is None:
                return None
            if len(value) == 26 and value[19] == ".":   # six digits end the text (else parsing fails: an offset)
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            moment = parse(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return to_utc
