"""Duplicate submissions: Idempotency-Key replays, the fingerprint window, and both under concurrency."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import OutboxMessage, ServiceRequest, SubmissionKey
from tests.conftest import Clock
from tests.helpers import GRAFFITI, errors_of, json_of
from tests.integration.live import serve

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
URL = "/open311/v2/requests.json"


def counts(gateway: Services) -> tuple[int, int]:
    """(service requests, outbox rows) stored."""
    with gateway.session() as s, s.begin():
        return (int(s.scalar(select(func.count()).select_from(ServiceRequest)) or 0),
                int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0))


def new_key(gateway: Services, jurisdiction: str = "lacounty.gov") -> str:
    with gateway.session() as s:
        return create_key(s, jurisdiction, "dup", gateway.clock())[1]


@pytest.fixture
def dedup_app(make_app: Callable[..., Flask]) -> Flask:
    """The production defaults: 24 h idempotency, 10 min fingerprint window."""
    return make_app(OPEN311_DUPLICATE_WINDOW=600)


@pytest.fixture
def dedup_client(dedup_app: Flask) -> FlaskClient:
    return dedup_app.test_client()


@pytest.fixture
def dedup_gateway(dedup_app: Flask) -> Services:
    gw: Services = dedup_app.extensions["open311"]
    return gw


class TestIdempotencyKey:
    def test_replay_returns_the_first_response(self, dedup_client: FlaskClient, dedup_gateway: Services) -> None:
        key = new_key(dedup_gateway)
        headers = {"Idempotency-Key": "3f1c6a1e-0d5e-4a43-9a55-9d3c1f2b7e10"}
        first = dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers)
        assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
        again = dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers)
        assert (again.status_code, again.data) == (first.status_code, first.data)
        assert again.headers["Idempotent-Replayed"] == "true"
        # The same payload as a JSON body, the key in a header: still the same request.
        as_json = {k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")}
        as_json["attributes"] = {"surface_type": "wall", "property_type": "public"}
        third = dedup_client.post(URL, data=json.dumps(as_json), content_type="application/json",
                                  headers={**headers, "Authorization": f"Bearer {key}"})
        assert third.data == first.data
        xml = dedup_client.post("/open311/v2/requests.xml", data={**GRAFFITI, "api_key": key}, headers=headers)
        assert xml.status_code == 200 and b"<service_request_id>1</service_request_id>" in xml.data
        assert counts(dedup_gateway) == (1, 1)

    @pytest.mark.parametrize("fmt", ["xml", "json"])
    def test_other_payload_with_the_same_key_is_422(self, dedup_client: FlaskClient, dedup_gateway: Services,
                                                    fmt: str) -> None:
        key = new_key(dedup_gateway)
        headers = {"Idempotency-Key": "order-1"}
        assert dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers).status_code == 200
        r = dedup_client.post(f"/open311/v2/requests.{fmt}", headers=headers,
                              data={**GRAFFITI, "api_key": key, "description": "another wall"})
        assert r.status_code == 422
        assert errors_of(r, fmt) == [(422, "Idempotency-Key was already used with a different request; "
                                           "use a new key for a new request.")]
        assert counts(dedup_gateway) == (1, 1)

    def test_keys_are_scoped_per_api_key(self, dedup_client: FlaskClient, dedup_gateway: Services) -> None:
        headers = {"Idempotency-Key": "same-key"}
        a = dedup_client.post(URL, data={**GRAFFITI, "api_key": new_key(dedup_gateway)}, headers=headers)
        b = dedup_client.post(URL, data={**GRAFFITI, "api_key": new_key(dedup_gateway)}, headers=headers)
        assert json_of(a)[0]["service_request_id"] == "1" and json_of(b)[0]["service_request_id"] == "2"

    def test_keys_expire(self, dedup_client: FlaskClient, dedup_gateway: Services, clock: Clock) -> None:
        key = new_key(dedup_gateway)
        headers = {"Idempotency-Key": "k-1"}
        dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers)
        clock.now += timedelta(hours=23, minutes=59)
        assert json_of(dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers))[0][
            "service_request_id"] == "1"
        clock.now += timedelta(minutes=2)
        assert json_of(dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers))[0][
            "service_request_id"] == "2"
        with dedup_gateway.session() as s, s.begin():
            rows = s.scalars(select(SubmissionKey)).all()
            assert [(r.kind, r.key, r.request_id) for r in rows] == [("idempotency", "k-1", 2)]

    def test_a_refused_submission_does_not_use_up_the_key(self, dedup_client: FlaskClient,
                                                          dedup_gateway: Services) -> None:
        key = new_key(dedup_gateway)
        headers = {"Idempotency-Key": "k-2"}
        bad = dedup_client.post(URL, data={**GRAFFITI, "api_key": key, "lat": "x"}, headers=headers)
        assert bad.status_code == 400
        assert dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers).status_code == 200

    @pytest.mark.parametrize("value", ["k" * 256, "with space", "caf\u00e9", "tab\tkey"])
    def test_malformed_keys_are_400(self, dedup_client: FlaskClient, dedup_gateway: Services, value: str) -> None:
        r = dedup_client.post(URL, data={**GRAFFITI, "api_key": new_key(dedup_gateway)},
                              headers={"Idempotency-Key": value.encode("utf-8").decode("latin-1")})
        assert errors_of(r, "json") == [(400, "Idempotency-Key must be 1 to 255 visible ASCII characters "
                                              "(a UUID is a good choice).")]
        assert counts(dedup_gateway) == (0, 0)


class TestFingerprint:
    def test_identical_report_within_the_window_returns_the_first(self, dedup_client: FlaskClient,
                                                                  dedup_gateway: Services, clock: Clock) -> None:
        key = new_key(dedup_gateway)
        first = dedup_client.post(URL, data={**GRAFFITI, "api_key": key})
        clock.now += timedelta(minutes=9)
        # Whitespace, case and trailing zeros do not make a report new; the answer comes in the asked format.
        same = {**GRAFFITI, "api_key": key, "lat": "34.02390", "description": "  tag on the wall OF the library "}
        again = dedup_client.post("/open311/v2/requests.xml", data=same)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert b"<service_request_id>1</service_request_id>" in again.data
        assert json_of(first)[0]["service_request_id"] == "1"
        assert counts(dedup_gateway) == (1, 1)

    def test_what_makes_a_report_new(self, dedup_client: FlaskClient, dedup_gateway: Services, clock: Clock) -> None:
        key = new_key(dedup_gateway)
        dedup_client.post(URL, data={**GRAFFITI, "api_key": key})
        variants: list[dict[str, Any]] = [
            {"description": "Another tag"}, {"lat": "34.0240"}, {"address_string": "1 Main St"},
            {"api_key": new_key(dedup_gateway)},
            {"service_code": "DRP-INOPERABLE", "attribute[vehicle_count]": "1"},  # same place and text
        ]
        ids = []
        for variant in variants:
            r = dedup_client.post(URL, data={**GRAFFITI, "api_key": key, **variant})
            assert r.status_code == 200, r.data
            ids.append(json_of(r)[0]["service_request_id"])
        assert len(set(ids)) == len(ids) == len(variants) and "1" not in ids
        clock.now += timedelta(minutes=10, seconds=1)
        assert json_of(dedup_client.post(URL, data={**GRAFFITI, "api_key": key}))[0]["service_request_id"] not in (
            "1", *ids)

    def test_window_zero_turns_it_off(self, make_app: Callable[..., Flask]) -> None:
        app = make_app(OPEN311_DUPLICATE_WINDOW=0)
        gw: Services = app.extensions["open311"]
        client, key = app.test_client(), new_key(gw)
        assert client.post(URL, data={**GRAFFITI, "api_key": key}).data != client.post(
            URL, data={**GRAFFITI, "api_key": key}).data
        assert counts(gw) == (2, 2)


@pytest.fixture(params=["sqlite", "postgresql"])
def live_app(request: pytest.FixtureRequest, make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """A dedup-enabled app on SQLite or on a private schema of the shared PostgreSQL."""
    if request.param == "sqlite":
        app = make_app(OPEN311_DUPLICATE_WINDOW=600)
        yield app
        app.extensions["open311"].engine.dispose()
        return
    schema = f"issue8_dup_{secrets.token_hex(4)}"
    try:
        admin = sqlalchemy.create_engine(POSTGRES)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sqlalchemy.exc.OperationalError:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    try:
        app = make_app(OPEN311_DUPLICATE_WINDOW=600,
                       OPEN311_DATABASE_URL=f"{POSTGRES}?options=-csearch_path%3D{schema}")
        yield app
        app.extensions["open311"].engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _concurrently(url: str, n: int, **kwargs: Any) -> list[requests.Response]:
    """POST the same thing n times at once (a barrier releases all threads together)."""
    barrier = threading.Barrier(n)

    def post(_: int) -> requests.Response:
        barrier.wait(timeout=10)
        return requests.post(url, timeout=30, **kwargs)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(post, range(n)))


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "fingerprint"])
def test_concurrent_duplicates_make_one_ticket(live_app: Flask, with_key: bool) -> None:
    gw: Services = live_app.extensions["open311"]
    key = new_key(gw)
    headers = {"Idempotency-Key": "burst-1"} if with_key else {}
    with serve(live_app) as base:
        for round_ in range(3):
            data = {**GRAFFITI, "api_key": key, "description": f"burst {round_}"}
            replies = _concurrently(f"{base}/requests.json", 8, data=data, headers=headers)
            if with_key:
                headers = {"Idempotency-Key": f"burst-{round_ + 2}"}
            assert [r.status_code for r in replies] == [200] * 8, [r.text for r in replies]
            assert len({r.content for r in replies}) == 1
            assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in replies) == 7
    assert counts(gw) == (3, 3)


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "fingerprint"])
def test_the_unique_constraint_not_the_lookup_stops_the_second_ticket(
        dedup_client: FlaskClient, dedup_gateway: Services, monkeypatch: pytest.MonkeyPatch, with_key: bool) -> None:
    """Blind the look-up shortcut once, as a race would: the insert itself must fail and the answer replay."""
    from open311.intake import dedup

    key = new_key(dedup_gateway)
    headers = {"Idempotency-Key": "race-1"} if with_key else {}
    first = dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers)
    real, calls = dedup._live_claim, []

    def blind_once(*args: Any) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(dedup, "_live_claim", blind_once)
    again = dedup_client.post(URL, data={**GRAFFITI, "api_key": key}, headers=headers)
    assert len(calls) == 2  # blinded look-up, failed insert, second look-up
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert counts(dedup_gateway) == (1, 1)
