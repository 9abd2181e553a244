"""The relay: leases, outcomes, backoff, Retry-After, dead letters, reclaimed leases, graceful stop, privacy."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from flask import Flask

from open311 import create_app
from open311.adapter import Adapter, PermanentError, Receipt, TemporaryError, Ticket
from open311.delivery.outbox import claim_due, list_messages, record_delivered_many, requeue_dead
from open311.delivery.relay import Relay
from open311.services import Services
from open311.settings import DeliverySettings
from open311.storage.db import writing
from open311.storage.models import OutboxMessage
from tests.conftest import Clock
from tests.delivery import outbox_states, seed_requests, write_config
from tests.helpers import GRAFFITI

SETTINGS = DeliverySettings(max_attempts=3, backoff_base=10, backoff_cap=100, lease=60, batch=5, poll=0.01)


class ScriptedAdapter(Adapter):
    """Fails or succeeds as the test scripts it; records every ticket it is handed."""

    outcomes: ClassVar[list[Exception | None]] = []
    seen: ClassVar[list[Ticket]] = []
    on_deliver: ClassVar[Callable[[], None] | None] = None

    def deliver(self, ticket: Ticket) -> Receipt:
        type(self).seen.append(ticket)
        if type(self).on_deliver:
            type(self).on_deliver()  # type: ignore[misc]
        outcome = type(self).outcomes.pop(0) if type(self).outcomes else None
        if outcome is not None:
            raise outcome
        return Receipt(external_id=f"EXT-{ticket.service_request_id}")


@pytest.fixture
def scripted(tmp_path: Path, clock: Clock) -> Services:
    ScriptedAdapter.outcomes, ScriptedAdapter.seen, ScriptedAdapter.on_deliver = [], [], None
    config = write_config(tmp_path, {"DPW": {"adapter": "scripted", "options": {}}})
    app = create_app({"TESTING": True, "OPEN311_CONFIG": str(config), "OPEN311_CREATE_SCHEMA": True,
                      "OPEN311_DATABASE_URL": f"sqlite:///{tmp_path / 'relay.sqlite3'}", "OPEN311_CLOCK": clock},
                     adapters={"scripted": ScriptedAdapter})
    gateway: Services = app.extensions["open311"]
    return gateway


def rows(gateway: Services) -> list[OutboxMessage]:
    with gateway.session() as session:
        return [e.message for e in list_messages(session)]


def relay(gateway: Services, settings: DeliverySettings = SETTINGS) -> Relay:
    return Relay(gateway, settings, rng=random.Random(7))


def test_delivers_to_filedrop_with_contact_only_where_the_policy_allows(
        make_app: Callable[..., Flask], api_key_factory: Callable[[Flask], str], tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path))  # every department on filedrop (the demo puts DEO on the staff queue)
    client, gateway, api_key = app.test_client(), app.extensions["open311"], api_key_factory(app)
    person = {"email": "ada@example.org", "first_name": "Ada", "phone": "555-0100", "api_key": api_key}
    dpw = client.post("/open311/v2/requests.json", data={**GRAFFITI, **person})
    deo = client.post("/open311/v2/requests.json", data={**person, "service_code": "DEO-VEND-SIDEWALK",
                                                         "address_string": "1 Main St",
                                                         "attribute[obstruction]": "entrance"})
    assert dpw.status_code == 200 and deo.status_code == 200, (dpw.data, deo.data)
    assert relay(gateway).run(once=True) == 2
    assert outbox_states(gateway) == {"done": 2}
    dpw_id, deo_id = dpw.json[0]["service_request_id"], deo.json[0]["service_request_id"]
    dpw_file = tmp_path / "intake" / "DPW" / f"lacounty_gov_{dpw_id}.json"
    deo_file = tmp_path / "intake" / "DEO" / f"lacounty_gov_{deo_id}.json"
    ticket = json.loads(dpw_file.read_text())["ticket"]
    assert ticket["contact"] == {"first_name": "Ada", "last_name": None, "email": "ada@example.org",
                                 "phone": "555-0100"}
    assert ticket["service_request_id"] == dpw_id and ticket["attributes"] == {"surface_type": "wall",
                                                                                "property_type": "public"}
    deo_text = deo_file.read_text()
    assert json.loads(deo_text)["ticket"]["contact"] is None
    assert "ada@example.org" not in deo_text and "555-0100" not in deo_text and "Ada" not in deo_text
    assert {r.external_id for r in rows(gateway)} == {f"lacounty_gov_{dpw_id}", f"lacounty_gov_{deo_id}"}


def test_temporary_errors_back_off_with_full_jitter_then_dead_letter(scripted: Services, clock: Clock) -> None:
    seed_requests(scripted, 1)
    ScriptedAdapter.outcomes = [TemporaryError("HTTP 503")] * 3
    start = clock.now
    for attempt in (1, 2):
        assert relay(scripted).run(once=True) == 0
        (row,) = rows(scripted)
        assert (row.state, row.attempts, row.last_error) == ("pending", attempt, "HTTP 503")
        ceiling = SETTINGS.backoff_base * 2 ** (attempt - 1)
        assert clock.now <= row.next_attempt_at <= clock.now + timedelta(seconds=ceiling)
        assert relay(scripted).run(once=True) == 0  # not due yet: nothing is attempted
        assert len(ScriptedAdapter.seen) == attempt
        clock.now = row.next_attempt_at
    relay(scripted).run(once=True)
    (row,) = rows(scripted)
    assert (row.state, row.attempts) == ("dead", 3)
    assert row.last_error == "gave up after 3 attempts: HTTP 503"
    assert clock.now > start


def test_retry_after_is_honoured_and_capped(scripted: Services, clock: Clock) -> None:
    seed_requests(scripted, 2)
    ScriptedAdapter.outcomes = [TemporaryError("429", retry_after=60), TemporaryError("429", retry_after=99999)]
    relay(scripted).run(once=True)
    first, second = rows(scripted)
    assert first.next_attempt_at >= clock.now + timedelta(seconds=60)
    assert second.next_attempt_at == clock.now + timedelta(seconds=SETTINGS.backoff_cap)


def test_permanent_error_dead_letters_at_once_and_requeue_brings_it_back(scripted: Services, clock: Clock) -> None:
    seed_requests(scripted, 2)
    ScriptedAdapter.outcomes = [PermanentError("HTTP 400 (REQUIRED_FIELD_MISSING)"), ValueError("adapter bug")]
    relay(scripted).run(once=True)
    dead, buggy = rows(scripted)
    assert (dead.state, dead.attempts, dead.last_error) == ("dead", 1, "HTTP 400 (REQUIRED_FIELD_MISSING)")
    assert (buggy.state, buggy.last_error) == ("pending", "unexpected ValueError in adapter")
    with scripted.session() as session:
        assert requeue_dead(session, clock.now, department="DPR") == 0
        assert requeue_dead(session, clock.now, ids=[dead.id]) == 1
    again = rows(scripted)[0]
    assert (again.state, again.attempts, again.next_attempt_at) == ("pending", 0, clock.now)
    assert relay(scripted).run(once=True) == 1
    assert rows(scripted)[0].state == "done"


def test_an_expired_lease_is_reclaimed_and_the_late_owner_cannot_overwrite(scripted: Services, clock: Clock) -> None:
    seed_requests(scripted, 1)
    with scripted.session() as session:
        with writing(session) as connection:
            (lost,) = claim_due(connection, "dead-relay", SETTINGS, clock.now)
        with writing(session) as connection:
            assert claim_due(connection, "other", SETTINGS, clock.now) == []  # leased: nobody else gets it
    clock.now += timedelta(seconds=SETTINGS.lease + 1)
    assert relay(scripted).run(once=True) == 1
    (row,) = rows(scripted)
    assert (row.state, row.attempts, row.external_id) == ("done", 2, f"EXT-{row.request_id}")
    with scripted.session() as session, writing(session) as connection:
        assert record_delivered_many(connection, [(lost, Receipt("late"))], "dead-relay", clock.now) == set()
    assert rows(scripted)[0].external_id == f"EXT-{row.request_id}"


def test_stop_finishes_the_delivery_in_hand_and_releases_the_rest(scripted: Services) -> None:
    seed_requests(scripted, 5)
    runner = relay(scripted)
    ScriptedAdapter.on_deliver = runner.stop.set
    assert runner.run() == 1
    states = [(r.state, r.attempts, r.leased_by) for r in rows(scripted)]
    assert states[0] == ("done", 1, None)
    assert states[1:] == [("pending", 0, None)] * 4


def test_undeliverable_rows_are_dead_letters(scripted: Services, clock: Clock) -> None:
    seed_requests(scripted, 1)
    with scripted.session() as session, session.begin():
        session.get(OutboxMessage, 1).department = "GONE"  # type: ignore[union-attr]
    relay(scripted).run(once=True)
    (row,) = rows(scripted)
    assert row.state == "dead" and row.last_error == "department lacounty.gov/GONE is not configured"
    assert ScriptedAdapter.seen == []


def test_background_threads_deliver_and_stop(scripted: Services) -> None:
    from open311.delivery.workers import BackgroundWorkers
    from open311.settings import SyncSettings

    seed_requests(scripted, 3)
    workers = BackgroundWorkers(scripted, SETTINGS, SyncSettings(interval=0.05))
    delivered = threading.Event()
    ScriptedAdapter.on_deliver = lambda: delivered.set() if len(ScriptedAdapter.seen) == 3 else None
    workers.start()
    try:
        assert delivered.wait(10)
    finally:
        workers.stop(timeout=10)
    assert not any(t.is_alive() for t in workers.threads)
    assert outbox_states(scripted) == {"done": 3}




def test_a_database_error_pauses_the_relay_loop_instead_of_ending_it(scripted: Services,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    import open311.delivery.relay as relay_module

    seed_requests(scripted, 1)
    real, calls = relay_module.claim_due, []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relay_module, "claim_due", flaky)
    runner = relay(scripted, replace(SETTINGS, poll=0.01))
    ScriptedAdapter.on_deliver = runner.stop.set
    with pytest.raises(OperationalError):
        runner.run(once=True)   # --once reports the failure (exit non-zero) ...
    assert runner.run() == 1    # ... a long-running relay waits and carries on
