"""Issue #16's reproducers: padded numbers, forged cursors and loose spellings of query parameters are a 400
naming the parameter (never a 500, never a way past the 1,000-row cap), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.core.numbers import MAX_ID
from open311.services import Services
from tests.api.test_feed_paging import seed
from tests.helpers import errors_of

FEED_FORMATS = ["json", "xml", "csv", "geojson"]
UPDATE_FORMATS = ["json", "xml"]
HUGE = "00000000000199999999999999999999"   # passed int(raw[:12]), then overflowed the database's BIGINT
PADDED_5000 = "000000000005000"             # passed int(raw[:12]) == 5, then asked for 5000 rows
STAMP = "2026-03-10T17:30:00Z"


def token(text: str) -> str:
    """A cursor token spelled as the server spells its own: unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def error_fmt(fmt: str) -> str:
    """Errors come as XML for .xml, else as JSON (the exports included)."""
    return "xml" if fmt == "xml" else "json"


def refused(client: FlaskClient, path: str, fmt: str) -> list[str]:
    """The descriptions of the 400 a GET must get."""
    r = client.get(path)
    assert r.status_code == 400, (path, r.status_code, r.data[:200])
    errors = errors_of(r, error_fmt(fmt))
    assert {code for code, _ in errors} == {400}
    return [description for _, description in errors]


@pytest.mark.parametrize("fmt", FEED_FORMATS)
@pytest.mark.parametrize("name", ["page_size", "per_page", "page"])
def test_padded_huge_numbers_on_the_requests_feed(client: FlaskClient, gateway: Services, fmt: str,
                                                  name: str) -> None:
    seed(gateway, 3)
    low, high = (0, 10_000_000) if name == "page" else (1, 1000)
    assert refused(client, f"/open311/v2/requests.{fmt}?{name}={HUGE}", fmt) == [
        f"{name} must be a whole number from {low} to {high}, got {HUGE!r}."]


@pytest.mark.parametrize("fmt", UPDATE_FORMATS)
def test_padded_huge_page_size_on_the_update_feed(client: FlaskClient, fmt: str) -> None:
    assert refused(client, f"/open311/v2/servicerequestupdates.{fmt}?page_size={HUGE}", fmt) == [
        f"page_size must be a whole number from 1 to 1000, got {HUGE!r}."]


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_padded_page_size_does_not_pass_the_row_cap(client: FlaskClient, gateway: Services, fmt: str) -> None:
    seed(gateway, 1005)
    url = f"/open311/v2/requests.{fmt}?updated_after=2000-01-01T00:00:00Z&page_size="
    assert refused(client, url + PADDED_5000, fmt) == [
        f"page_size must be a whole number from 1 to 1000, got {PADDED_5000!r}."]
    # Leading zeros are read (the range check is on the value): 0000001000 is the largest page, 1000 rows.
    r = client.get(url + "0000001000")
    assert r.status_code == 200
    assert r.headers["X-Page-Size"] == "1000"
    if fmt == "json":
        assert len(r.get_json()) == 1000


FORGED_REQUEST_CURSORS = [f"{STAMP}|{MAX_ID + 1}", f"{STAMP}|{2**64}", f"{STAMP}|{'9' * 40}", f"{STAMP}|1_0",
                          f"{STAMP}| 5 ", f"{STAMP}|-5", f"{STAMP}|+5", f"{STAMP}|05", f"{STAMP}|0", f"{STAMP}|",
                          f"{STAMP}|5|6", "2026-03-10T17:30:00+00:00|5", " 2026-03-10T17:30:00Z|5", f"{STAMP}|\u0665"]


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_forged_request_cursors(client: FlaskClient, gateway: Services, fmt: str) -> None:
    seed(gateway, 3)
    forged = [token(text) for text in FORGED_REQUEST_CURSORS]
    forged += [token(f"{STAMP}|5") + "=", token(f"{STAMP}|5") + ".", "A" * 200, "%C3%A9"]
    for cursor in forged:
        assert refused(client, f"/open311/v2/requests.{fmt}?after={cursor}", fmt) == [
            "after is not a cursor this server issued."], cursor
    # The largest id a cursor may carry is still one (an empty page after it is no error).
    assert client.get(f"/open311/v2/requests.{fmt}?after={token(f'{STAMP}|{MAX_ID}')}").status_code == 200


FORGED_UPDATE_CURSORS = [f"u1.{MAX_ID + 1}", f"u{MAX_ID + 1}.1", f"u1.{'9' * 40}", "u1.1_0", "u1_0.1", "u1. 5 ",
                         "u 5 .1", "u-1.5", "u1.-5", "u01.5", "u1.05", "u1.0", "u1.", "u.5", "u1.5.6", "1.5", "uu1.5",
                         "U1.5", "u+1.5", "u1.\u0665"]


@pytest.mark.parametrize("fmt", UPDATE_FORMATS)
def test_forged_update_cursors(client: FlaskClient, fmt: str) -> None:
    for text in FORGED_UPDATE_CURSORS:
        assert refused(client, f"/open311/v2/servicerequestupdates.{fmt}?after={token(text)}", fmt) == [
            "after is not a cursor this server issued."], text
    for text in (f"u0.{MAX_ID}", f"u{MAX_ID}.1"):  # SQLite's txid is 0; PostgreSQL's a BIGINT
        assert client.get(f"/open311/v2/servicerequestupdates.{fmt}?after={token(text)}").status_code == 200


def test_issued_cursors_still_page_through(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 5)
    first = client.get("/open311/v2/requests.json?page_size=2")
    cursor = first.headers["Link"].split("after=")[1].split(">")[0].split("&")[0]
    second = client.get(f"/open311/v2/requests.json?page_size=2&after={cursor}")
    assert second.status_code == 200
    assert [r["service_request_id"] for r in second.get_json()] == ["3", "4"]


LOOSE = [
    ("requests", "lat=3_4&long=-118", "lat must be a number from -90 to 90, got '3_4'."),
    ("requests", "lat=34&long=%20-118%20x", "long must be a number from -180 to 180, got '-118 x'."),
    ("requests", "lat=34&long=-118&radius=1_000", "radius must be a number from 1 to 50000, got '1_000'."),
    ("requests", "lat=34&long=-118&radius=infinity", "radius must be a number from 1 to 50000, got 'infinity'."),
    ("requests", "bbox=-118.2,33.9,-117.9,3_4",
     "bbox must be west,south,east,north in degrees (west <= east, south <= north), got '-118.2,33.9,-117.9,3_4'."),
    ("requests", "page_size=1%200", "page_size must be a whole number from 1 to 1000, got '1 0'."),
    ("requests", "page_size=1_0", "page_size must be a whole number from 1 to 1000, got '1_0'."),
    ("requests", "page_size=%2B5", "page_size must be a whole number from 1 to 1000, got '+5'."),
    ("requests", "page_size=%D9%A5", "page_size must be a whole number from 1 to 1000, got '\u0665'."),
    ("requests", "start_date=20260101",
     "start_date must be a W3C datetime such as 2026-01-01T00:00:00Z, got '20260101'."),
    ("requests", "updated_after=2026-W10-1",
     "updated_after must be a W3C datetime such as 2026-01-01T00:00:00Z, got '2026-W10-1'."),
    ("requests", f"service_request_id={MAX_ID + 1}",
     f"service_request_id '{MAX_ID + 1}' is out of range: ids are integers up to {MAX_ID}."),
    ("servicerequestupdates", f"service_request_id=1,{MAX_ID + 1}",
     f"service_request_id '{MAX_ID + 1}' is out of range: ids are integers up to {MAX_ID}."),
    ("services", "lat=3_4&long=-118.17", "lat must be a decimal number, got '3_4'."),
    ("services", "lat=34.02&long=%D9%A1%D9%A1%D9%A8", "long must be a decimal number, got '\u0661\u0661\u0668'."),
    ("facilities", "limit=00000000000000000000000000001",
     "limit must be a whole number from 1 to 1000, got '00000000000000000000000000001'."),
]


@pytest.mark.parametrize(("route", "query", "description"), LOOSE)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_loose_spellings_are_refused(client: FlaskClient, route: str, query: str, description: str,
                                     fmt: str) -> None:
    assert refused(client, f"/open311/v2/{route}.{fmt}?{query}", fmt) == [description]


def test_surrounding_whitespace_is_trimmed(make_app: Callable[..., Flask]) -> None:
    """The documented choice: blanks around a value are trimmed (and a blank value is absent); inside, refused."""
    client = make_app().test_client()
    r = client.get(f"/open311/v2/requests.json?page_size={quote(' 5 ')}&lat={quote(' 34.0 ')}&long=-118")
    assert r.status_code == 200
    assert r.headers["X-Page-Size"] == "5"


@pytest.mark.parametrize("name", ["A\u00b9", "caf\u00e9", "cb\n", "a.\u0661"])
def test_a_jsonp_callback_is_ascii_only(client: FlaskClient, name: str) -> None:
    # \w without re.ASCII took any Unicode letter or digit: "A¹" was wrapped as a callback (found by the
    # query-parameter property test once the singular definition route was added).
    errors = errors_of(client.get(f"/open311/v2/services.json?callback={quote(name)}"), "json")
    assert [code for code, _ in errors] == [400]
    assert "callback" in errors[0][1]
    assert client.get("/open311/v2/services.json?callback=app.cb_1").data.startswith(b"/**/app.cb_1(")
