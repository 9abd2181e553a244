"""Push: apps subscribe a callback URL; each status change reaches a loopback receiver once, signed, even
after the receiver was down; a receiver that keeps failing gets its subscription dropped."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Request, Response

from open311.core.signing import HEADER, verify
from open311.delivery.relay import Relay
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings
from tests.adapters.peers import free_port, http_peer
from tests.delivery import outbox_states, precise_now, wait_until
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of

FAST = DeliverySettings(max_attempts=50, backoff_base=0.01, backoff_cap=0.05, lease=30, batch=20, poll=0.01)
LOOPBACK = {"OPEN311_CALLBACK_ALLOW_PRIVATE": 1, "OPEN311_CALLBACK_ALLOW_HTTP": 1, "OPEN311_CLOCK": precise_now}
SENTINEL = "canary-subscriber@example.invalid"


class Receiver:
    """A subscriber's endpoint: records every callback; `status` scripts its answer."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.calls.append((dict(request.headers), request.get_data()))
        return Response(status=self.status)

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Bodies of the callbacks answered 2xx-worthy, each checked for its signature."""
        found = []
        for headers, body in self.calls:
            assert verify(secret, headers[HEADER], body), headers
            found.append(json.loads(body))
        return found


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**LOOPBACK)


@pytest.fixture
def keys(app: Flask) -> dict[str, str]:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        found = {name: create_key(session, "lacounty.gov", name, gateway.clock())[1] for name in ("app", "other")}
        found["dpw"] = create_key(session, "lacounty.gov", "DPW works", gateway.clock(), department="DPW")[1]
    return found


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    handler = Receiver()
    with http_peer(handler) as url:
        yield handler, f"{url}/hooks/open311"


def subscribe(client: FlaskClient, key: str, url: str, **extra: str) -> dict[str, Any]:
    r = client.post("/open311/v2/subscriptions.json", data={"api_key": key, "callback_url": url, **extra})
    assert r.status_code == 200, r.data
    [entry] = json_of(r)
    return dict(entry)


def report(client: FlaskClient, key: str, **extra: str) -> str:
    r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key, "email": SENTINEL, **extra})
    assert r.status_code == 200, r.data
    return str(json_of(r)[0]["service_request_id"])


STAMPS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def fresh_stamps() -> Iterator[None]:
    """Each test's pushes start with no remembered timestamps: request ids repeat across tests (every test has
    a new database), and a stamp left by another test (tests/api/test_hidden.py pushes too) would date a new
    update before the request's last one, so it would not be applied."""
    STAMPS.clear()
    yield
    STAMPS.clear()


def push(client: FlaskClient, dpw_key: str, request_id: str, update_id: str, status: str, minute: int) -> None:
    """A back office reports a change now (a repeated update_id repeats its first timestamp)."""
    when = STAMPS.setdefault(f"{request_id}:{update_id}", precise_now().isoformat())
    r = client.post("/open311/v2/servicerequestupdates.json", data={
        "api_key": dpw_key, "service_request_id": request_id, "update_id": update_id, "status": status,
        "updated_datetime": when, "description": f"{status} at minute {minute}"})
    assert r.status_code == 200, r.data


def relay(app: Flask) -> None:
    """Deliver what is due now."""
    Relay(app.extensions["open311"], FAST).run(once=True)


def relay_until(app: Flask, condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Keep relaying (retries fall due after their short test backoff) until `condition` holds."""
    runner = Relay(app.extensions["open311"], FAST)
    return wait_until(lambda: runner.run_batch() >= 0 and condition(), timeout, interval=0.02)


def outbox_settled(app: Flask) -> bool:
    """No callback or ticket left to attempt."""
    states = outbox_states(app.extensions["open311"])
    return not states.get("pending") and not states.get("in_flight")


def test_one_signed_callback_per_status_change(app: Flask, keys: dict[str, str],
                                               receiver: tuple[Receiver, str]) -> None:
    handler, url = receiver
    client = app.test_client()
    subscription = subscribe(client, keys["app"], url)
    assert subscription["status"] == "active" and len(subscription["secret"]) >= 40
    mine, theirs = report(client, keys["app"]), report(client, keys["other"], description="someone else's")
    for n, status in enumerate(("ASSIGNED", "IN_PROGRESS", "COMPLETED")):
        push(client, keys["dpw"], mine, f"u{n}", status, n)
    push(client, keys["dpw"], theirs, "t0", "COMPLETED", 5)       # not this subscriber's request
    push(client, keys["dpw"], mine, "u0", "ASSIGNED", 0)         # a repeated push is no new change
    relay(app)
    events = handler.events(subscription["secret"])
    assert [(e["service_request"]["service_request_id"], e["update"]["status"]) for e in events] == [
        (mine, "open"), (mine, "open"), (mine, "closed")]
    assert len({e["event_id"] for e in events}) == 3
    assert events[-1]["service_request"]["status"] == "closed"
    assert events[-1]["update"]["description"] == "COMPLETED at minute 2"
    assert all(h["X-Open311-Delivery"] == json.loads(b)["event_id"] for h, b in handler.calls)
    assert all(SENTINEL.encode() not in body for _, body in handler.calls)  # no personal data in callbacks
    relay(app)
    assert len(handler.calls) == 3                                        # nothing sent twice
    listed = json_of(client.get(f"/open311/v2/subscriptions.json?api_key={keys['app']}"))
    assert listed[0]["callbacks_delivered"] == 3 and "secret" not in listed[0]


def test_receiver_down_for_a_while_then_every_change_arrives_once(app: Flask, keys: dict[str, str]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    client = app.test_client()
    subscription = subscribe(client, keys["app"], url)
    request_id = report(client, keys["app"])
    for n, status in enumerate(("ASSIGNED", "COMPLETED")):
        push(client, keys["dpw"], request_id, f"d{n}", status, n)
    gateway: Services = app.extensions["open311"]
    runner = Relay(gateway, FAST)
    for _ in range(5):  # down: nothing listens, every attempt fails and is rescheduled
        runner.run_batch()
    handler = Receiver()
    with http_peer(handler, port):  # up again: the pending callbacks go out as their retries fall due
        assert wait_until(lambda: runner.run_batch() >= 0 and len(handler.calls) >= 2, 10)
        relay(app)
    assert [e["update"]["status"] for e in handler.events(subscription["secret"])] == ["open", "closed"]
    listed = json_of(client.get("/open311/v2/subscriptions.json", headers={"Authorization": f"Bearer {keys['app']}"}))
    assert listed[0]["status"] == "active"


def test_a_receiver_that_keeps_failing_is_dropped(make_app: Callable[..., Flask],
                                                  receiver: tuple[Receiver, str]) -> None:
    app = make_app(**LOOPBACK, OPEN311_CALLBACK_MAX_ATTEMPTS=3)
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        key = create_key(session, "lacounty.gov", "app", gateway.clock())[1]
        dpw = create_key(session, "lacounty.gov", "dpw", gateway.clock(), department="DPW")[1]
    handler, url = receiver
    handler.status = 503
    client = app.test_client()
    subscribe(client, key, url)
    request_id = report(client, key)
    push(client, dpw, request_id, "f0", "ASSIGNED", 0)
    assert relay_until(app, lambda: outbox_settled(app))
    assert len(handler.calls) == 3                                   # three attempts, then given up
    [listed] = json_of(client.get(f"/open311/v2/subscriptions.json?api_key={key}"))
    assert listed["status"] == "disabled" and "503" in listed["disabled_reason"]
    handler.status = 204
    push(client, dpw, request_id, "f1", "COMPLETED", 1)             # a dropped subscription hears nothing more
    assert relay_until(app, lambda: outbox_settled(app))
    assert len(handler.calls) == 3


def test_gone_drops_at_once_and_service_subscriptions(app: Flask, keys: dict[str, str],
                                                      receiver: tuple[Receiver, str]) -> None:
    handler, url = receiver
    client = app.test_client()
    by_service = subscribe(client, keys["other"], url, service_code="DRP-INOPERABLE")
    graffiti = report(client, keys["app"])
    inoperable = report(client, keys["app"], service_code="DRP-INOPERABLE", **{"attribute[vehicle_count]": "2"})
    push(client, keys["dpw"], graffiti, "g0", "COMPLETED", 0)
    relay(app)
    assert handler.calls == []                                        # a DPW request: not this service
    r = client.post("/open311/v2/servicerequestupdates.json", data={
        "api_key": _drp_key(app), "service_request_id": inoperable, "update_id": "i0", "status": "COMPLETED",
        "updated_datetime": precise_now().isoformat(), "description": "cleared"})
    assert r.status_code == 200, r.data
    handler.status = 410
    relay(app)
    assert len(handler.calls) == 1                                    # 410 Gone: not retried ...
    [listed] = json_of(client.get(f"/open311/v2/subscriptions.json?api_key={keys['other']}"))
    assert listed["subscription_id"] == by_service["subscription_id"] and listed["status"] == "disabled"


def _drp_key(app: Flask) -> str:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        return create_key(session, "lacounty.gov", "DRP", gateway.clock(), department="DRP")[1]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_subscription_api_errors(make_app: Callable[..., Flask], keys: dict[str, str], fmt: str) -> None:
    strict = make_app(OPEN311_SUBSCRIPTIONS_PER_KEY=2).test_client()   # public https destinations only
    url = f"/open311/v2/subscriptions.{fmt}"
    cases: list[tuple[dict[str, str], int, str]] = [
        ({"callback_url": "https://example.org/h"}, 403,
         "Missing api_key: send it as the api_key field or an Authorization: Bearer header."),
        ({"api_key": keys["dpw"], "callback_url": "https://example.org/h"}, 403,
         "Invalid api_key received -- can't proceed with create_request."),
        ({"api_key": keys["app"]}, 400, "callback_url was not provided."),
        ({"api_key": keys["app"], "callback_url": "http://example.org/h"}, 400,
         "callback_url must be an https:// URL."),
        ({"api_key": keys["app"], "callback_url": "https://127.0.0.1:8443/h"}, 400,
         "callback_url resolves to a private, loopback or reserved address."),
        ({"api_key": keys["app"], "callback_url": "https://user:pw@example.org/h"}, 400,
         "callback_url must name a host and carry no user name or password."),
        ({"api_key": keys["app"], "callback_url": "https://10.1.2.3/h", "service_code": "NOPE"}, 404,
         "service_code 'NOPE' not found."),
    ]
    for data, status, message in cases:
        r = strict.post(url, data=data)
        assert r.status_code == status, (data, r.data)
        assert errors_of(r, fmt) == [(status, message)]
    assert strict.get(url).status_code == 403
    assert strict.delete(f"/open311/v2/subscriptions/1.{fmt}?api_key={keys['app']}").status_code == 404


def test_subscription_lifecycle_in_xml_and_limits(app: Flask, keys: dict[str, str]) -> None:
    client = app.test_client()
    made = client.post("/open311/v2/subscriptions.xml", data=(
        f"<subscription><api_key>{keys['app']}</api_key><callback_url>http://127.0.0.1:9/h</callback_url>"
        "</subscription>"), content_type="application/xml")
    assert made.status_code == 200, made.data
    root = xml_of(made)
    assert [c.tag for c in root[0]] == ["subscription_id", "callback_url", "service_code", "status",
                                        "created_datetime", "disabled_datetime", "disabled_reason",
                                        "callbacks_delivered", "secret"]
    assert made.headers["Cache-Control"] == "private, no-store"
    ident = root.findtext("subscription/subscription_id")
    other = client.delete(f"/open311/v2/subscriptions/{ident}.json?api_key={keys['other']}")
    assert other.status_code == 404                                   # only the owner sees or deletes it
    gone = client.delete(f"/open311/v2/subscriptions/{ident}.json?api_key={keys['app']}")
    assert gone.status_code == 200 and json_of(gone) == []
    assert json_of(client.get(f"/open311/v2/subscriptions.json?api_key={keys['app']}")) == []


def test_callbacks_carry_the_closure_fields_of_the_update_feed(app: Flask, keys: dict[str, str],
                                                              receiver: tuple[Receiver, str]) -> None:
    """Each callback's update is the update feed's extensions=true entry: a closure's code (`unspecified` is never
    left out), a duplicate's survivor, a resident's reopen (`reopened`); an open update carries none of them."""
    handler, url = receiver
    client = app.test_client()
    subscription = subscribe(client, keys["app"], url)
    mine, survivor = report(client, keys["app"]), report(client, keys["other"])
    not_fixed = "canary reopen text: still there"

    def update(update_id: str, status: str, **extra: str) -> None:
        r = client.post("/open311/v2/servicerequestupdates.json", data={
            "api_key": keys["dpw"], "service_request_id": mine, "update_id": update_id, "status": status,
            "updated_datetime": precise_now().isoformat(), "description": status, **extra})
        assert r.status_code == 200, r.data

    update("c0", "ASSIGNED")
    update("c1", "COMPLETED", closure_code="not_found")
    reopened = client.post(f"/open311/v2/requests/{mine}/reopen.json",
                           data={"api_key": keys["app"], "description": not_fixed})
    assert reopened.status_code == 200, reopened.data
    update("c2", "CLOSED")
    reopened = client.post(f"/open311/v2/requests/{mine}/reopen.json",
                           data={"api_key": keys["app"], "description": not_fixed})
    assert reopened.status_code == 200, reopened.data
    update("c3", "COMPLETED", closure_code="duplicate", duplicate_of=survivor)
    relay(app)
    events = handler.events(subscription["secret"])
    got = [(e["update"]["status"], e["update"].get("closure_code"), e["update"].get("duplicate_of"),
            e["update"].get("reopened")) for e in events]
    assert got == [("open", None, None, None), ("closed", "not_found", None, None), ("open", None, None, True),
                   ("closed", "unspecified", None, None), ("open", None, None, True),
                   ("closed", "duplicate", survivor, None)]
    feed = {u["gateway_update_id"]: u for u in json_of(client.get(
        "/open311/v2/servicerequestupdates.json?extensions=true")) if u["service_request_id"] == mine}
    assert [e["update"] for e in events] == [feed[e["update"]["gateway_update_id"]] for e in events]
    assert all(not_fixed.encode() not in body and SENTINEL.encode() not in body for _, body in handler.calls)
