"""PostgreSQL sessions run in UTC (storage/db.py:_postgresql_utc): psycopg returns `timezone.utc` datetimes,
which UTCDateTime passes through; what was written in any zone reads back as the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text

from open311.services import Services
from open311.storage.models import ServiceRequest


def test_postgresql_sessions_are_in_utc_and_moments_round_trip(gateway: Services) -> None:
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    pacific = timezone(timedelta(hours=-8))
    written = datetime(2026, 3, 1, 9, 30, 0, 250, tzinfo=pacific)
    with gateway.engine.begin() as connection:
        assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
        new_id = connection.execute(insert(ServiceRequest).values(
            jurisdiction_id="lacounty.gov", service_code="DPW-GRAFFITI", service_name="x", department="DPW",
            status="open", requested_datetime=written, updated_datetime=written, token="zone-test", attributes={},
        ).returning(ServiceRequest.id)).scalar_one()
        raw = connection.execute(text("SELECT requested_datetime FROM service_requests WHERE id = :i"),
                                 {"i": new_id}).scalar_one()
        read = connection.execute(select(ServiceRequest.requested_datetime).where(ServiceRequest.id == new_id)
                                  ).scalar_one()
    assert raw.tzinfo is UTC and raw == written   # the driver's own value, before UTCDateTime
    assert read.tzinfo is UTC and read == written and read.hour == 17
    with gateway.session() as session, session.begin():   # and through an ORM session, as the views read
        row = session.get(ServiceRequest, new_id)
        assert row is not None and row.requested_datetime == written and row.requested_datetime.tzinfo is UTC
