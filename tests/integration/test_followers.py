"""Issue 17 part 1: duplicates without loss. Two residents at one spot both reach the department; followers are
stored write-only and delivered exactly once as additions to the delivered ticket."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from open311.delivery.relay import Relay
from open311.services import Services
from open311.settings import DeliverySettings
from open311.storage.models import RequestContact, RequestFollower, ServiceRequest
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.delivery import outbox_states, write_config
from tests.helpers import errors_of, json_of, xml_of

SECRET = "s3cret-s3cret-s3cret"
SETTINGS = DeliverySettings(max_attempts=3, backoff_base=10, backoff_cap=100, lease=60, batch=5, poll=0.01)
DUMPING = {"service_code": "DPW-DUMPING", "lat": "34.0239", "long": "-118.1720",
           "description": "Pile of junk by the curb", "attribute[items][]": "furniture",
           "attribute[approx_volume]": "medium", "attribute[location_type]": "street"}
FIRST = {"email": "first-resident@example.org", "first_name": "Ada"}
SECOND = {"email": "second-resident@example.org", "first_name": "Grace", "phone": "555-0199"}


@dataclass
class Env:
    app: Flask
    client: FlaskClient
    gateway: Services
    office: WebhookBackOffice
    key: str

    def relay(self) -> int:
        return Relay(self.gateway, SETTINGS, rng=random.Random(7)).run(once=True)


@pytest.fixture
def env(make_app: Callable[..., Flask], tmp_path: Path, api_key_factory: Callable[[Flask], str]) -> Iterator[Env]:
    """The production fingerprint window (600 s), DPW on a real webhook back office on loopback."""
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                                 "options": {"url": f"{base}/tickets", "secret": SECRET}}})
        app = make_app(config, OPEN311_DUPLICATE_WINDOW=600)
        yield Env(app, app.test_client(), app.extensions["open311"], office, api_key_factory(app))


def post(env: Env, data: dict[str, Any], path: str = "requests.json", **kwargs: Any) -> Any:
    return env.client.post(f"/open311/v2/{path}", data={**data, "api_key": env.key}, **kwargs)


def tickets_by_request(office: WebhookBackOffice) -> dict[str, dict[str, Any]]:
    return {t["ticket"]["service_request_id"]: t["ticket"] for t in office.tickets.values() if "ticket" in t}


def additions(office: WebhookBackOffice) -> list[dict[str, Any]]:
    return [t["addition"] for t in office.tickets.values() if "addition" in t]


def test_two_residents_at_one_spot_both_reach_the_department(env: Env) -> None:
    """Same service, place and text; other answers (items: hazardous) and another e-mail: never absorbed."""
    first = post(env, {**DUMPING, **FIRST})
    second = post(env, {**DUMPING, **SECOND, "attribute[items][]": ["furniture", "hazardous"]})
    assert first.status_code == second.status_code == 200, (first.data, second.data)
    assert "Idempotent-Replayed" not in second.headers
    ids = [json_of(r)[0]["service_request_id"] for r in (first, second)]
    assert ids[0] != ids[1]
    with env.gateway.session() as s, s.begin():
        stored = {str(r.id): r.attributes["items"] for r in s.scalars(select(ServiceRequest))}
        mails = {str(c.request_id): c.email for c in s.scalars(select(RequestContact))}
    assert stored == {ids[0]: ["furniture"], ids[1]: ["furniture", "hazardous"]}
    assert mails == {ids[0]: FIRST["email"], ids[1]: SECOND["email"]}
    assert env.relay() == 2
    tickets = tickets_by_request(env.office)
    assert tickets[ids[1]]["attributes"]["items"] == ["furniture", "hazardous"]
    assert tickets[ids[1]]["contact"]["email"] == SECOND["email"]
    assert tickets[ids[0]]["contact"]["email"] == FIRST["email"]


def test_a_double_tap_is_still_absorbed(env: Env) -> None:
    """The same key, body, answers and contact within the window: one request (whitespace and case aside)."""
    first = post(env, {**DUMPING, **FIRST})
    again = post(env, {**DUMPING, **FIRST, "email": " First-Resident@example.org "})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert json_of(again) == json_of(first)
    with env.gateway.session() as s, s.begin():
        assert len(s.scalars(select(ServiceRequest)).all()) == 1


def test_a_follower_reaches_the_department_once_after_its_ticket(env: Env) -> None:
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    follow = post(env, {**SECOND, "attribute[items][]": "hazardous", "description": "It smells of paint"},
                  f"requests/{request_id}/followers.json")
    assert follow.status_code == 200, follow.data
    answer = json_of(follow)
    assert answer == [{"service_request_id": request_id, "follower_id": answer[0]["follower_id"]}]
    as_xml = post(env, {"email": "third@example.org"}, f"requests/{request_id}/followers.xml")
    root = xml_of(as_xml)
    assert root.tag == "followers" and root.findtext("follower/service_request_id") == request_id
    assert env.relay() == 3
    assert outbox_states(env.gateway) == {"done": 3}
    ticket = tickets_by_request(env.office)[request_id]
    found = sorted(additions(env.office), key=lambda a: int(a["follower_id"]))
    assert [a["follower_id"] for a in found] == [answer[0]["follower_id"], root.findtext("follower/follower_id")]
    addition = found[0]
    assert addition["external_id"] == env.office.tickets[f"lacounty.gov:{request_id}"]["id"]
    assert addition["attributes"] == {"items": ["hazardous"]} and addition["description"] == "It smells of paint"
    assert addition["contact"]["email"] == SECOND["email"] and addition["contact"]["phone"] == SECOND["phone"]
    assert ticket["contact"]["email"] == FIRST["email"]
    assert set(env.office.created.values()) == {1}
    assert env.relay() == 0   # nothing is sent twice


def test_a_follower_waits_for_its_ticket(env: Env) -> None:
    """While the ticket cannot be delivered, the follower is not attempted (it names the ticket's id)."""
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    post(env, SECOND, f"requests/{request_id}/followers.json")
    env.office.mode = "error500"
    env.relay()
    assert env.office.posts[f"lacounty.gov:{request_id}"] == 1
    assert not [k for k in env.office.posts if ":follower:" in k]
    assert outbox_states(env.gateway) == {"pending": 2}


def test_reporter_count_only_with_extensions(env: Env) -> None:
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    plain_before = env.client.get(f"/open311/v2/requests/{request_id}.json").data
    feed_before = env.client.get("/open311/v2/requests.xml").data
    for n in range(2):
        post(env, {"email": f"r{n}@example.org"}, f"requests/{request_id}/followers.json")
    single = json_of(env.client.get(f"/open311/v2/requests/{request_id}.json?extensions=true"))
    assert single[0]["extended_attributes"]["reporter_count"] == 3
    feed = xml_of(env.client.get("/open311/v2/requests.xml?extensions=true"))
    assert feed.findtext("request/extended_attributes/reporter_count") == "3"
    assert env.client.get(f"/open311/v2/requests/{request_id}.json").data == plain_before
    assert env.client.get("/open311/v2/requests.xml").data == feed_before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_follower_validation(env: Env, fmt: str) -> None:
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    unknown = post(env, SECOND, f"requests/98765/followers.{fmt}")
    assert unknown.status_code == 404 and errors_of(unknown, fmt)[0][0] == 404
    bad = post(env, {"email": "x" * 400, "attribute[items][]": "spaceship"}, f"requests/{request_id}/followers.{fmt}")
    assert bad.status_code == 400
    messages = " ".join(d for _, d in errors_of(bad, fmt))
    assert "email must be at most 320 characters" in messages and "spaceship" in messages
    assert "x" * 400 not in bad.get_data(as_text=True)
    no_key = env.client.post(f"/open311/v2/requests/{request_id}/followers.{fmt}", data=SECOND)
    assert no_key.status_code == 403 and errors_of(no_key, fmt)[0][0] == 403
    garbage = post(env, SECOND, f"requests/not-an-id/followers.{fmt}")
    assert garbage.status_code in (400, 404) and errors_of(garbage, fmt)
    with env.gateway.session() as s, s.begin():
        assert s.scalars(select(RequestFollower)).all() == []


def test_the_same_follower_twice_is_one_follower(env: Env) -> None:
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    one = post(env, SECOND, f"requests/{request_id}/followers.json")
    two = post(env, SECOND, f"requests/{request_id}/followers.json")
    other = post(env, {**SECOND, "attribute[items][]": "hazardous"}, f"requests/{request_id}/followers.json")
    assert two.headers.get("Idempotent-Replayed") == "true" and json_of(two) == json_of(one)
    assert json_of(other) != json_of(one)
    with env.gateway.session() as s, s.begin():
        assert len(s.scalars(select(RequestFollower)).all()) == 2


def test_purge_removes_follower_contact_on_the_requests_terms(env: Env) -> None:
    from datetime import timedelta

    from open311.intake.retention import purge_personal_data
    request_id = json_of(post(env, {**DUMPING, **FIRST}))[0]["service_request_id"]
    post(env, SECOND, f"requests/{request_id}/followers.json")
    later = env.gateway.clock() + timedelta(days=40)
    with env.gateway.session() as s:
        assert purge_personal_data(s, later, timedelta(days=30)).followers == 0   # open, and still owed
    env.relay()
    with env.gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, int(request_id))
        assert row is not None
        row.status = "closed"
    with env.gateway.session() as s:
        report = purge_personal_data(s, later, timedelta(days=30))
    assert report.followers == 1
    with env.gateway.session() as s, s.begin():
        follower = s.scalars(select(RequestFollower)).one()
        assert (follower.email, follower.phone, follower.first_name) == (None, None, None)
        assert follower.request_id == int(request_id)   # the count (reporter_count) stays
