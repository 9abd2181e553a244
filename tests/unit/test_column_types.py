"""UTCDateTime on a real SQLite database: what it stores comes back aware and equal, through its own result
processor, whatever text form the column holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from open311.storage.column_types import UTCDateTime

METADATA = MetaData()
MOMENTS = Table("moments", METADATA, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))


def test_round_trip_and_hand_written_texts() -> None:
    engine = create_engine("sqlite://")
    METADATA.create_all(engine)
    pacific = timezone(timedelta(hours=-8))
    given = [datetime(2026, 12, 7, 15, 4, 5, 123456, tzinfo=UTC), datetime(2026, 3, 1, 9, 30, tzinfo=pacific),
             datetime(1850, 1, 1, tzinfo=UTC), None]
    with engine.begin() as connection:
        connection.execute(insert(MOMENTS), [{"id": i, "at": at} for i, at in enumerate(given)])
        stored = connection.execute(text("SELECT at FROM moments WHERE id = 1")).scalar()
        assert stored == "2026-03-01 17:30:00.000000"   # UTC, naive, as SQLAlchemy's SQLite DateTime writes it
        # what raw SQL or an older writer may have left: no fraction, a T, an explicit offset
        connection.execute(text("INSERT INTO moments VALUES (10, '2026-12-07 15:04:05'), "
                                "(11, '2026-12-07T15:04:05'), (12, '2026-12-07 07:04:05-08:00'), "
                                "(13, '2026-12-07T15:04:05.000000'), (14, '2026-12-07 07:04:05.0-0800')"))
    with engine.connect() as connection:
        back = dict(connection.execute(select(MOMENTS.c.id, MOMENTS.c.at)).all())
    assert [back[i] for i in range(4)] == given
    assert all(back[i].tzinfo is UTC for i in range(3))
    # 13 and 14 have the stored form's length and dot (26 characters, "." at 19); 14 ends in an offset
    assert back[10] == back[11] == back[12] == back[13] == back[14] == datetime(2026, 12, 7, 15, 4, 5, tzinfo=UTC)
    assert all(back[i].tzinfo is UTC for i in (10, 11, 12, 13, 14))


def test_naive_datetimes_are_refused() -> None:
    engine = create_engine("sqlite://")
    METADATA.create_all(engine)
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as connection:
        connection.execute(insert(MOMENTS), {"id": 1, "at": datetime(2026, 1, 1)})
