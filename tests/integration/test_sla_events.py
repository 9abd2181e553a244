"""SLA events: the watcher notices clocks that time alone moved to at_risk or breached, records each event once
(even with two watchers at once), and the relay hands them to push subscribers (signed callbacks, in order, no
personal data) and to the department (an Addition after the ticket). Real SQLite/PostgreSQL, a real webhook
back office and a real subscriber on loopback, a filedrop folder, a settable clock."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from open311.adapter import RemoteUpdate
from open311.cli import main
from open311.delivery.relay import Relay
from open311.delivery.sla_watch import WatchResult, watch_sla
from open311.delivery.status import record_update
from open311.delivery.workers import BackgroundWorkers
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings
from open311.storage.models import OutboxMessage, SlaEvent
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.conftest import ROOT, Clock
from tests.delivery import STATUS_MAP, wait_until, write_config
from tests.helpers import GRAFFITI, json_of
from tests.integration.test_subscriptions import Receiver

LA = ZoneInfo("America/Los_Angeles")
SECRET = "s3cret-s3cret-s3cret"
SETTINGS = DeliverySettings(max_attempts=3, backoff_base=10, backoff_cap=100, lease=60, batch=20, poll=0.01)
SENTINEL = {"email": "sla-canary@example.invalid", "first_name": "Canary", "last_name": "Privacy",
            "phone": "555-0142"}
DPW_MAP = {**STATUS_MAP, "WAITING_ON_RESIDENT": {"status": "open", "paused": True}}


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA).astimezone(UTC)


@dataclass
class Env:
    app: Flask
    client: FlaskClient
    gateway: Services
    clock: Clock
    office: WebhookBackOffice
    receiver: Receiver
    hook: str
    key: str
    intake: Path

    def relay(self) -> int:
        return Relay(self.gateway, SETTINGS, rng=random.Random(3)).run(once=True)

    def post(self, when: datetime, **extra: str) -> int:
        self.clock.now = when
        response = self.client.post("/open311/v2/requests.json",
                                    data={**GRAFFITI, **SENTINEL, "api_key": self.key, **extra})
        assert response.status_code == 200, response.data
        return int(json_of(response)[0]["service_request_id"])

    def update(self, rid: int, uid: str, status: str, when: datetime, department: str = "DPW") -> None:
        self.clock.now = when
        jurisdiction = self.gateway.config.jurisdictions["lacounty.gov"]
        with self.gateway.session() as session:
            record_update(session, jurisdiction, jurisdiction.departments[department], rid,
                          RemoteUpdate(update_id=uid, external_id=None, service_request_id=str(rid), status=status,
                                       updated_datetime=when), source="push", now=when)

    def watch(self, when: datetime) -> WatchResult:
        self.clock.now = when
        return watch_sla(self.gateway)

    def subscribe(self) -> dict[str, Any]:
        r = self.client.post("/open311/v2/subscriptions.json", data={"api_key": self.key, "callback_url": self.hook})
        assert r.status_code == 200, r.data
        return dict(json_of(r)[0])

    def events(self, rid: int | None = None) -> list[tuple[int, str]]:
        with self.gateway.session() as session, session.begin():
            stmt = select(SlaEvent.request_id, SlaEvent.state).order_by(SlaEvent.id)
            if rid is not None:
                stmt = stmt.where(SlaEvent.request_id == rid)
            return [(int(r), str(s)) for r, s in session.execute(stmt).all()]

    def sla_state(self, rid: int) -> str | None:
        item = json_of(self.client.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0]
        return item["extended_attributes"]["sla_state"]  # type: ignore[no-any-return]


@pytest.fixture
def env(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock,
        api_key_factory: Callable[[Flask], str]) -> Iterator[Env]:
    """DPW on a real webhook back office (with a pausing status), DPR on filedrop, a subscriber on loopback."""
    office, receiver = WebhookBackOffice(SECRET), Receiver()
    with http_peer(office) as base, http_peer(receiver) as hooks:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook", "status_map": DPW_MAP,
                                                 "options": {"url": f"{base}/tickets", "secret": SECRET}}})
        app = make_app(config, OPEN311_CALLBACK_ALLOW_PRIVATE=1, OPEN311_CALLBACK_ALLOW_HTTP=1)
        yield Env(app, app.test_client(), app.extensions["open311"], clock, office, receiver, f"{hooks}/hook",
                  api_key_factory(app), tmp_path / "intake")


def sla_additions(office: WebhookBackOffice) -> list[tuple[str, dict[str, Any]]]:
    return sorted(((key, t["addition"]) for key, t in office.tickets.items()
                   if "addition" in t and str(t["addition"].get("kind", "")).startswith("sla_")),
                  key=lambda item: int(item[1]["sla_event_id"]))


def test_at_risk_then_breached_across_a_weekend_reach_subscriber_and_department_once(env: Env) -> None:
    subscription = env.subscribe()
    # DPW-GRAFFITI is PT48H, two working days of 9 h: Friday 27 March 2026 15:00, Tuesday 31 March is Cesar
    # Chavez Day: due Wednesday 1 April 15:00, at risk from 11:24 (80 % of 18 working hours).
    rid = env.post(la(2026, 3, 27, 15))
    assert env.relay() == 1 and len(env.office.tickets) == 1                    # the ticket first
    for quiet in (la(2026, 3, 28, 12), la(2026, 3, 29, 23), la(2026, 3, 31, 16), la(2026, 4, 1, 11, 20)):
        assert env.watch(quiet).events == 0                                     # weekend, holiday: on track
    assert env.sla_state(rid) == "on_track"
    first = env.watch(la(2026, 4, 1, 11, 30))
    assert (first.at_risk, first.breached, first.department, first.callbacks) == (1, 0, 1, 1)
    assert env.sla_state(rid) == "at_risk"
    assert env.watch(la(2026, 4, 1, 11, 45)).events == 0                        # the same state: not again
    assert env.relay() == 2
    result = env.watch(la(2026, 4, 1, 15))
    assert (result.at_risk, result.breached) == (0, 1)
    assert env.watch(la(2026, 4, 2, 9)).events == 0
    assert env.relay() == 2
    assert env.events() == [(rid, "at_risk"), (rid, "breached")]

    calls = [(h, json.loads(b)) for h, b in env.receiver.calls]
    events = env.receiver.events(subscription["secret"])                       # every one signed
    assert [e["event"] for e in events] == ["sla_at_risk", "sla_breached"]     # in order
    assert [h["X-Open311-Event"] for h, _ in calls] == ["sla_at_risk", "sla_breached"]
    assert all(h["X-Open311-Delivery"] == body["event_id"] for h, body in calls)
    assert [e["sla"]["sla_state"] for e in events] == ["at_risk", "breached"]
    assert {e["sla"]["expected_datetime"] for e in events} == {"2026-04-01T15:00:00-07:00"}
    assert events[0]["sla"]["detected_datetime"] == "2026-04-01T11:30:00-07:00"
    assert {e["service_request"]["service_request_id"] for e in events} == {str(rid)}
    assert set(events[0]) == {"event", "event_id", "subscription_id", "jurisdiction_id", "service_request", "sla"}
    raw = b"".join(body for _, body in env.receiver.calls)
    for value in SENTINEL.values():                                             # no personal data
        assert value.encode() not in raw

    told = sla_additions(env.office)
    assert [a["kind"] for _, a in told] == ["sla_at_risk", "sla_breached"]
    ticket_key = f"lacounty.gov:{rid}"
    assert [k for k, _ in told] == [f"{ticket_key}:sla_at_risk:{told[0][1]['sla_event_id']}",
                                    f"{ticket_key}:sla_breached:{told[1][1]['sla_event_id']}"]
    assert all(env.office.posts[k] == 1 for k, _ in told)                       # each once
    with env.gateway.session() as session, session.begin():
        external = session.scalar(select(OutboxMessage.external_id).where(OutboxMessage.kind == "deliver"))
    assert external and {a["external_id"] for _, a in told} == {external}    # names the delivered ticket
    assert told[1][1]["attributes"] == {"sla_state": "breached", "expected_datetime": "2026-04-01T22:00:00Z"}
    assert told[0][1]["contact"] is None and told[0][1]["photos"] == []
    for value in SENTINEL.values():
        assert value not in json.dumps([a for _, a in told])
    with env.gateway.session() as session, session.begin():
        states = dict(session.execute(select(OutboxMessage.kind, func.count()).where(
            OutboxMessage.sla_event_id.is_not(None), OutboxMessage.state == "done").group_by(OutboxMessage.kind)).all())
    assert states == {"sla": 2, "callback": 2}


def test_the_department_hears_only_after_its_ticket(env: Env) -> None:
    env.office.mode = "error500"                                               # the ticket cannot be delivered
    rid = env.post(la(2026, 3, 27, 15))
    assert env.relay() == 0
    assert env.watch(la(2026, 4, 2, 9)).breached == 1
    assert env.relay() == 0 and sla_additions(env.office) == []                # waits for the ticket
    env.office.mode = "ok"
    with env.gateway.session() as session, session.begin():
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == rid)):
            row.next_attempt_at = env.clock()                                   # the retry falls due
    assert env.relay() == 2
    assert [a["kind"] for _, a in sla_additions(env.office)] == ["sla_breached"]
    assert env.relay() == 0


def watchers_at_once(gateway: Services, count: int) -> list[WatchResult]:
    """`count` watcher passes started together (a barrier), each on its own connection."""
    start, results = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        results.append(watch_sla(gateway))

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_watchers_at_once_record_each_event_once(env: Env) -> None:
    rids = [env.post(la(2026, 3, 27, 15), description=f"graffiti number {n}") for n in range(12)]
    for when, state in ((la(2026, 4, 1, 12), "at_risk"), (la(2026, 4, 1, 16), "breached")):
        env.clock.now = when
        results = watchers_at_once(env.gateway, 3)
        assert len(results) == 3
        assert sum(getattr(r, state) for r in results) == sum(r.events for r in results) == len(rids)
        assert sum(r.callbacks for r in results) == 0 and sum(r.department for r in results) == len(rids)
    assert sorted(env.events()) == sorted([(rid, s) for rid in rids for s in ("at_risk", "breached")])
    with env.gateway.session() as session, session.begin():
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.kind == "sla")) == 2 * len(rids)


def test_a_paused_clock_emits_nothing_until_it_runs_again(env: Env) -> None:
    rid = env.post(la(2026, 3, 27, 15))
    env.update(rid, "w1", "WAITING_ON_RESIDENT", la(2026, 3, 30, 10))          # paused Monday 10:00
    for later in (la(2026, 4, 1, 16), la(2026, 4, 20, 9), la(2026, 6, 1, 9)):
        assert env.watch(later).events == 0
    env.update(rid, "w2", "IN_PROGRESS", la(2026, 4, 1, 12))                   # resumed: due Thu 2 April 17:00
    assert env.watch(la(2026, 4, 1, 13)).events == 0
    assert env.watch(la(2026, 4, 2, 16)).at_risk == 1
    env.update(rid, "w3", "WAITING_ON_RESIDENT", la(2026, 4, 2, 16, 30))        # paused again, at risk
    assert env.watch(la(2026, 4, 10, 9)).events == 0                            # held: no breach while paused
    assert env.events(rid) == [(rid, "at_risk")]


def test_a_closed_request_emits_nothing(env: Env) -> None:
    rid = env.post(la(2026, 3, 27, 15))
    env.update(rid, "c1", "COMPLETED", la(2026, 3, 30, 9))
    for later in (la(2026, 4, 1, 12), la(2026, 4, 2, 9), la(2026, 9, 1, 9)):
        assert env.watch(later).events == 0
    assert env.events(rid) == []
    assert env.sla_state(rid) == "met"


def test_a_residents_reopen_starts_a_clock_that_emits_again(env: Env) -> None:
    """Regression: POST requests/{id}/reopen did not recompute the clock (the request stayed `missed`)."""
    env.subscribe()
    rid = env.post(la(2026, 3, 10, 9))                                         # due Thursday 12 March 9:00
    env.relay()
    assert env.watch(la(2026, 3, 13, 9)).breached == 1                          # found past due: breached only
    env.update(rid, "c1", "COMPLETED", la(2026, 3, 16, 9))
    assert env.sla_state(rid) == "missed"
    env.clock.now = la(2026, 3, 16, 14)
    response = env.client.post(f"/open311/v2/requests/{rid}/reopen.json",
                               data={"api_key": env.key, "description": "Still there"})
    assert response.status_code == 200, response.data
    assert env.sla_state(rid) == "on_track"                                    # a new clock: due 18 March 14:00
    assert env.watch(la(2026, 3, 17, 9)).events == 0
    assert env.watch(la(2026, 3, 18, 12)).at_risk == 1
    assert env.watch(la(2026, 3, 18, 15)).breached == 1
    assert env.events(rid) == [(rid, "breached"), (rid, "at_risk"), (rid, "breached")]
    env.relay()
    sla_calls = [e for e in (json.loads(b) for _, b in env.receiver.calls) if e["event"].startswith("sla_")]
    assert [e["event"] for e in sla_calls] == ["sla_breached", "sla_at_risk", "sla_breached"]
    assert [e["sla"]["expected_datetime"] for e in sla_calls] == [
        "2026-03-12T09:00:00-07:00", "2026-03-18T14:00:00-07:00", "2026-03-18T14:00:00-07:00"]


def test_filedrop_department_gets_one_file_per_event(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock,
                                                     api_key_factory: Callable[[Flask], str]) -> None:
    """DPW on filedrop: the events arrive as addition files beside the ticket's, once each."""
    config = write_config(tmp_path)
    app = make_app(config)
    gateway: Services = app.extensions["open311"]
    clock.now = la(2026, 3, 27, 15)
    response = app.test_client().post("/open311/v2/requests.json",
                                      data={**GRAFFITI, **SENTINEL, "api_key": api_key_factory(app)})
    assert response.status_code == 200, response.data
    rid = int(json_of(response)[0]["service_request_id"])
    def relay() -> int:
        return Relay(gateway, SETTINGS, rng=random.Random(5)).run(once=True)

    assert relay() == 1
    delivered = []
    for when in (la(2026, 4, 1, 12), la(2026, 4, 1, 15), la(2026, 4, 1, 16)):
        clock.now = when
        watch_sla(gateway)
        delivered.append(relay())
    assert delivered == [1, 1, 0]
    folder = tmp_path / "intake" / "DPW"
    found = {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    told = {name: f for name, f in found.items() if "addition" in f}
    assert sorted(f["addition"]["kind"] for f in told.values()) == ["sla_at_risk", "sla_breached"]
    assert all(name.startswith(f"lacounty.gov_{rid}_sla_") or f"{rid}" in name for name in told), sorted(told)
    assert all(f["idempotency_key"].startswith(f"lacounty.gov:{rid}:sla_") for f in told.values())
    assert all(value not in json.dumps(told) for value in SENTINEL.values())
    assert len(found) == 3                                                       # the ticket and two events


def test_open311_sla_once_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`open311 sla --once` records what is due at the real time (a request from March 2026 is long past due)."""
    monkeypatch.setenv("OPEN311_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    from open311 import create_app

    app = create_app({"OPEN311_CLOCK": Clock(la(2026, 3, 27, 15)), "OPEN311_DUPLICATE_WINDOW": 0})
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "cli", gateway.clock())
    assert app.test_client().post("/open311/v2/requests.json",
                                  data={**GRAFFITI, "api_key": key}).status_code == 200
    assert datetime.now(UTC) > la(2026, 4, 1, 15), "this test expects a machine clock after 1 April 2026"
    result = runner.invoke(main, ["sla", "--once"])
    assert (result.exit_code, result.output) == (
        0, "sla: 0 at_risk, 1 breached; 1 to departments, 0 callback(s) queued\n"), result.output
    again = runner.invoke(main, ["sla", "--once"])
    assert again.output == "sla: 0 at_risk, 0 breached; 0 to departments, 0 callback(s) queued\n"
    assert "sla" in runner.invoke(main, ["--help"]).output
    gateway.dispose()


def test_the_in_process_workers_of_serve_watch_and_deliver(env: Env) -> None:
    """`open311 serve` on SQLite runs the watcher in its sync thread, and the relay thread delivers the events."""
    subscription = env.subscribe()
    rid = env.post(la(2026, 3, 27, 15))
    env.clock.now = la(2026, 4, 1, 16)
    workers = BackgroundWorkers(env.gateway, SETTINGS, SyncSettings(interval=0.05))
    workers.start()
    try:
        assert wait_until(lambda: len(env.receiver.calls) >= 1 and len(sla_additions(env.office)) >= 1, 20)
    finally:
        workers.stop()
    assert env.events() == [(rid, "breached")]
    assert [e["event"] for e in env.receiver.events(subscription["secret"])] == ["sla_breached"]
    assert [a["kind"] for _, a in sla_additions(env.office)] == ["sla_breached"]
