"""Lenient parsing and strict rendering of W3C datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from open311.core.dates import format_w3c, parse_datetime

LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(("text", "expected"), [
    ("2010-01-01T00:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
    ("2010-01-01T00:00:00z", datetime(2010, 1, 1, tzinfo=UTC)),
    ("2010-01-01T00:00:00-08:00", datetime(2010, 1, 1, 8, tzinfo=UTC)),
    ("2010-01-01T00:00:00.999999Z", datetime(2010, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)),
    ("2010-01-01T00:00:00.5+00:00", datetime(2010, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ("2010-01-01T00:00:00.1234567891Z", datetime(2010, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ("2010-01-01 00:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
    ("2010-01-01T08:00:00 08:00", datetime(2010, 1, 1, 0, tzinfo=UTC)),  # '+' decoded to a space
    ("2010-01-01T08:00 0800", datetime(2010, 1, 1, 0, tzinfo=UTC)),
    ("2010-01-01", datetime(2010, 1, 1, tzinfo=UTC)),
    ("  2010-01-01T00:00:00Z ", datetime(2010, 1, 1, tzinfo=UTC)),
])
def test_parses_what_clients_send(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def test_value_without_zone_is_local_time() -> None:
    assert parse_datetime("2010-07-01T00:00:00", LA) == datetime(2010, 7, 1, 7, tzinfo=UTC)
    assert parse_datetime("2010-01-01", LA) == datetime(2010, 1, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2010-13-01", "2010-01-32T00:00:00Z", "1066-10-14",
                                  "9999-01-01T00:00:00Z", "2010-01-01T25:00:00Z", "x" * 100, "2010.01.01"])
def test_refuses_what_is_not_a_datetime(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_renders_w3c_with_offset_and_no_fraction() -> None:
    moment = datetime(2010, 4, 14, 14, 37, 38, 123456, tzinfo=UTC)
    assert format_w3c(moment) == "2010-04-14T14:37:38Z"
    assert format_w3c(moment, LA) == "2010-04-14T07:37:38-07:00"
    assert format_w3c(datetime(2010, 1, 14, 14, 37, 38, tzinfo=UTC), LA) == "2010-01-14T06:37:38-08:00"
    assert format_w3c(None) is None
