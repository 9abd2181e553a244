"""The response cache in front of the app: a repeated GET gets the very same answer, and never a stale one."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import update

from open311.georeport.response_cache import ResponseCache
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.api.test_feed_paging import seed
from tests.conftest import Clock
from tests.helpers import json_of

FEED = "/open311/v2/requests.json?page_size=5"


def _cache(client: FlaskClient) -> ResponseCache:
    cache = client.application.wsgi_app
    assert isinstance(cache, ResponseCache)
    return cache


def test_a_repeated_get_is_answered_from_the_cache_with_the_same_bytes_and_headers(
        client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 8)
    for url in ("/open311/v2/services.json", "/open311/v2/services.xml?callback=x", FEED,
                "/open311/v2/requests.xml?page_size=5&callback=cb", "/open311/v2/requests.json?callback=cb"):
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.data == second.data
        assert sorted(first.headers.items()) == sorted(second.headers.items())
    sqlite = gateway.engine.url.get_backend_name() == "sqlite"  # PostgreSQL: no data version, feeds not kept
    assert len(_cache(client).entries) == (5 if sqlite else 2)


def test_a_change_to_the_data_is_seen_at_once(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 3)
    before = client.get(FEED)
    assert json_of(client.get(FEED)) == json_of(before)
    with gateway.session() as session, session.begin():
        session.execute(update(ServiceRequest).where(ServiceRequest.id == 1).values(status="open"))
    after = client.get(FEED)
    assert json_of(before)[0]["status"] == "closed" and json_of(after)[0]["status"] == "open"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_conditionals_errors_and_languages_are_not_mixed_up(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 2)
    first = client.get(FEED)
    assert client.get(FEED, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get(FEED).status_code == 200
    assert client.get("/open311/v2/requests.json?page_size=0").status_code == 400
    assert client.get("/open311/v2/requests.json?page_size=0").status_code == 400
    english = client.get("/open311/v2/services.json", headers={"Accept-Language": "en"})
    spanish = client.get("/open311/v2/services.json", headers={"Accept-Language": "es"})
    assert english.headers["Content-Language"] == "en" and spanish.headers["Content-Language"] == "es"
    assert english.data != spanish.data
    assert client.get("/open311/v2/services.json", headers={"Accept-Language": "es"}).data == spanish.data


def test_varied_query_strings_cannot_grow_the_cache_beyond_its_byte_budget(
        client: FlaskClient, monkeypatch: object) -> None:
    from open311.georeport import response_cache

    services = len(client.get("/open311/v2/services.json").data)
    monkeypatch.setattr(response_cache, "MAX_BYTES", 3 * services)  # type: ignore[attr-defined]
    for i in range(10):  # an unknown parameter changes the key, not the answer
        assert client.get(f"/open311/v2/services.json?x={i}").status_code == 200
    cache = _cache(client)
    assert 0 < cache.size <= 3 * services
    assert cache.size == sum(len(entry.body) for entry in cache.entries.values())
    assert len(cache.entries) == 3


def test_one_request_by_id_is_kept_until_the_next_write_whatever_the_clock(
        client: FlaskClient, gateway: Services, clock: Clock) -> None:
    seed(gateway, 3)
    url = "/open311/v2/requests/1.json"
    first = client.get(url)
    cache = _cache(client)
    kept = {key[1]: entry.mark for key, entry in cache.entries.items()}
    sqlite = gateway.engine.url.get_backend_name() == "sqlite"   # PostgreSQL: no data version, nothing kept
    assert first.status_code == 200 and kept.get(url) == (("record",) if sqlite else None)
    clock.advance(3 * 3600)   # a feed page would be recomputed in a new second; a record is not
    again = client.get(url)
    assert again.data == first.data and sorted(again.headers.items()) == sorted(first.headers.items())
    with gateway.session() as session, session.begin():
        session.execute(update(ServiceRequest).where(ServiceRequest.id == 1).values(status="open",
                                                                                     status_notes="Reopened."))
    after = client.get(url)
    assert json_of(first)[0]["status"] == "closed"
    assert json_of(after)[0]["status"] == "open" and json_of(after)[0]["status_notes"] == "Reopened."
    assert after.headers["ETag"] != first.headers["ETag"]
    # with extensions=true (notes, photos and SLA figures that depend on the clock) nothing is kept
    client.get(url + "?extensions=true")
    assert all(key[2] != "extensions=true" for key in cache.entries)
