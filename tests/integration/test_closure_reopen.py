"""Issue 17 items 2-3: honest closure codes by every route, duplicates that hand over their followers, and a
resident's reopen ("not fixed") delivered to the department exactly once. Real SQLite/PostgreSQL, a real filedrop
back office (files on disk), the real relay and sync."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from open311.delivery.outbox import claim_due
from open311.delivery.relay import Relay
from open311.delivery.sync import sync_all
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings
from open311.storage.db import writing
from open311.storage.models import OutboxMessage, RequestReopen, StatusUpdate
from tests.conftest import Clock
from tests.delivery import STATUS_MAP, write_config
from tests.helpers import errors_of, json_of, xml_of

SETTINGS = DeliverySettings(max_attempts=3, backoff_base=10, backoff_cap=100, lease=60, batch=5, poll=0.01)
SYNC = SyncSettings(interval=1, overlap=600, lookback=86400)
DUMPING = {"service_code": "DPW-DUMPING", "lat": "34.0239", "long": "-118.1720",
           "description": "Pile of junk by the curb", "attribute[items][]": "furniture",
           "attribute[approx_volume]": "medium", "attribute[location_type]": "street",
           "email": "submitter@example.org", "first_name": "Ada"}
DPW_MAP = {**STATUS_MAP, "COMPLETED": {"status": "closed", "closure_code": "fixed"},
           "MERGED": {"status": "closed", "closure_code": "duplicate"}, "CLOSED": "closed"}
NOT_FIXED = "Still a pile of junk here, nobody came"
REOPENER_MAIL = "reopener-follower@example.org"


@dataclass
class Env:
    app: Flask
    client: FlaskClient
    gateway: Services
    clock: Clock
    key: str
    intake: Path

    def relay(self) -> int:
        return Relay(self.gateway, SETTINGS, rng=random.Random(7)).run(once=True)

    def new_key(self, department: str | None = None) -> str:
        with self.gateway.session() as session:
            _, key = create_key(session, "lacounty.gov", department or "another app", self.clock(),
                                department=department)
        return key

    def submit(self) -> str:
        response = self.client.post("/open311/v2/requests.json", data={**DUMPING, "api_key": self.key})
        assert response.status_code == 200, response.data
        return str(json_of(response)[0]["service_request_id"])

    def reply(self, name: str, **item: Any) -> None:
        """The back office drops a reply file; the sync pulls it."""
        replies = self.intake / "replies"
        replies.mkdir(parents=True, exist_ok=True)
        (replies / f"{name}.json").write_text(json.dumps(
            {"updated_datetime": (self.clock() + timedelta(minutes=1)).isoformat(), **item}))
        self.clock.now += timedelta(minutes=2)
        sync_all(self.gateway, SYNC)

    def push(self, rid: str, update_id: str, status: str, fmt: str = "json", **extra: str) -> Any:
        self.clock.now += timedelta(minutes=2)
        return self.client.post(f"/open311/v2/servicerequestupdates.{fmt}", data={
            "api_key": self.new_key("DPW"), "service_request_id": rid, "update_id": update_id, "status": status,
            "updated_datetime": (self.clock() - timedelta(minutes=1)).isoformat(), "description": "Done", **extra})

    def extended(self, rid: str, fmt: str = "json") -> dict[str, Any]:
        response = self.client.get(f"/open311/v2/requests/{rid}.{fmt}?extensions=true")
        assert response.status_code == 200
        if fmt == "json":
            return dict(json_of(response)[0]["extended_attributes"])
        found = xml_of(response).find("request/extended_attributes")
        assert found is not None
        return {child.tag: child.text for child in found}

    def reopen(self, rid: str, key: str, fmt: str = "json", **data: Any) -> Any:
        return self.client.post(f"/open311/v2/requests/{rid}/reopen.{fmt}",
                                data={"api_key": key, "description": NOT_FIXED, **data})

    def reopen_files(self) -> list[dict[str, Any]]:
        found = [json.loads(p.read_text()) for p in self.intake.glob("*.json")]
        return [f["addition"] for f in found if "addition" in f and f["addition"].get("kind") == "reopen"]


@pytest.fixture
def env(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock,
        api_key_factory: Callable[[Flask], str]) -> Env:
    """DPW on a filedrop back office whose status_map gives COMPLETED the code fixed, CLOSED none."""
    config = write_config(tmp_path, {"DPW": {"status_map": DPW_MAP}})
    app = make_app(config)
    return Env(app, app.test_client(), app.extensions["open311"], clock, api_key_factory(app),
               tmp_path / "intake" / "DPW")


def delivered(env: Env) -> str:
    rid = env.submit()
    assert env.relay() >= 1
    return rid


def test_the_status_map_code_arrives_by_a_pulled_reply_file_in_every_output(env: Env) -> None:
    rid = delivered(env)
    env.reply("r1", service_request_id=rid, status="COMPLETED", description="Hauled away")
    assert env.extended(rid)["closure_code"] == "fixed"
    assert env.extended(rid, "xml")["closure_code"] == "fixed"
    feed = json_of(env.client.get("/open311/v2/requests.json?extensions=true"))
    assert [r["extended_attributes"]["closure_code"] for r in feed if r["service_request_id"] == rid] == ["fixed"]
    xml_feed = xml_of(env.client.get("/open311/v2/requests.xml?extensions=true"))
    assert xml_feed.findtext(f"request[service_request_id='{rid}']/extended_attributes/closure_code") == "fixed"
    updates = json_of(env.client.get("/open311/v2/servicerequestupdates.json?extensions=true"))
    assert [(u["status"], u["closure_code"]) for u in updates if u["service_request_id"] == rid] == [
        ("closed", "fixed")]
    assert xml_of(env.client.get("/open311/v2/servicerequestupdates.xml?extensions=true")).findtext(
        "request_update/closure_code") == "fixed"
    plain = json_of(env.client.get("/open311/v2/servicerequestupdates.json"))
    assert all("closure_code" not in u for u in plain)
    rows = list(csv.DictReader(io.StringIO(env.client.get("/open311/v2/requests.csv").get_data(as_text=True))))
    assert [r["closure_code"] for r in rows if r["service_request_id"] == rid] == ["fixed"]
    geo = json.loads(env.client.get("/open311/v2/requests.geojson").data)
    assert [f["properties"]["closure_code"] for f in geo["features"] if f["id"] == rid] == ["fixed"]
    with env.gateway.session() as s, s.begin():
        (row,) = s.scalars(select(StatusUpdate).where(StatusUpdate.request_id == int(rid)))
        assert (row.status, row.closure_code, row.source) == ("closed", "fixed", "pull")


def test_a_reply_files_own_code_wins_and_an_unknown_one_reads_unspecified(env: Env) -> None:
    first, second = delivered(env), delivered(env)
    env.reply("r1", service_request_id=first, status="COMPLETED", closure_code="not_found")
    env.reply("r2", service_request_id=second, status="CLOSED", closure_code="gone_fishing")
    assert env.extended(first)["closure_code"] == "not_found"
    assert env.extended(second)["closure_code"] == "unspecified"


def test_a_closure_without_a_code_reads_unspecified_never_fixed(env: Env) -> None:
    rid = delivered(env)
    assert env.extended(rid)["closure_code"] is None   # open: no closure code at all
    assert env.push(rid, "u1", "CLOSED").status_code == 200
    assert env.extended(rid)["closure_code"] == env.extended(rid, "xml")["closure_code"] == "unspecified"
    rows = list(csv.DictReader(io.StringIO(env.client.get("/open311/v2/requests.csv").get_data(as_text=True))))
    assert [r["closure_code"] for r in rows if r["service_request_id"] == rid] == ["unspecified"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_pushed_closure_code_and_photo_are_recorded(env: Env, fmt: str) -> None:
    rid = delivered(env)
    photo = "https://backoffice.example.org/after.jpg"
    response = env.push(rid, "u1", "CLOSED", fmt, closure_code="referred", media_url=photo)
    assert response.status_code == 200, response.data
    assert env.extended(rid, fmt)["closure_code"] == "referred"
    (update,) = [u for u in json_of(env.client.get("/open311/v2/servicerequestupdates.json?extensions=true"))
                 if u["service_request_id"] == rid]
    assert (update["closure_code"], update["media_url"]) == ("referred", photo)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_pushed_unknown_closure_code_is_a_400(env: Env, fmt: str) -> None:
    rid = delivered(env)
    response = env.push(rid, "u1", "CLOSED", fmt, closure_code="fixed-ish", duplicate_of="abc")
    assert response.status_code == 400
    texts = [d for _, d in errors_of(response, fmt)]
    assert any("closure_code must be one of" in t for t in texts) and any("duplicate_of" in t for t in texts)
    assert env.extended(rid)["closure_code"] is None


def test_a_duplicate_closure_hands_its_followers_and_reporter_to_the_survivor(env: Env) -> None:
    survivor, duplicate = delivered(env), delivered(env)
    other = env.new_key()
    follow = env.client.post(f"/open311/v2/requests/{duplicate}/followers.json",
                             data={"api_key": other, "email": "follower@example.org"})
    assert follow.status_code == 200, follow.data
    assert env.extended(duplicate)["reporter_count"] == 2 and env.extended(survivor)["reporter_count"] == 1
    response = env.push(duplicate, "dup-1", "MERGED", duplicate_of=survivor)
    assert response.status_code == 200, response.data
    gone = env.extended(duplicate)
    assert (gone["closure_code"], gone["duplicate_of"], gone["reporter_count"]) == ("duplicate", survivor, 1)
    assert env.extended(duplicate, "xml")["duplicate_of"] == survivor
    assert env.extended(survivor)["reporter_count"] == 3   # its own reporter, the duplicate's, and its follower
    (update,) = [u for u in json_of(env.client.get("/open311/v2/servicerequestupdates.json?extensions=true"))
                 if u["service_request_id"] == duplicate]
    assert (update["closure_code"], update["duplicate_of"]) == ("duplicate", survivor)
    # the follower of the old request may now reopen the survivor once it is closed
    assert env.push(survivor, "s-1", "COMPLETED").status_code == 200
    assert env.reopen(survivor, other).status_code == 200


def test_the_submitter_reopens_within_the_window_and_the_department_hears_once(env: Env) -> None:
    rid = delivered(env)
    env.reply("r1", service_request_id=rid, status="COMPLETED")
    response = env.reopen(rid, env.key)
    assert response.status_code == 200, response.data
    (answer,) = json_of(response)
    assert (answer["service_request_id"], answer["status"]) == (rid, "open")
    record = json_of(env.client.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0]
    assert record["status"] == "open" and record["extended_attributes"]["closure_code"] is None
    assert [(n["type"], n["status"]) for n in record["notes"]] == [
        ("submitted", "open"), ("status_change", "closed"), ("reopened", "open")]
    updates = [u for u in json_of(env.client.get("/open311/v2/servicerequestupdates.json?extensions=true"))
               if u["service_request_id"] == rid]
    assert [(u["status"], u["external_status_code"], u.get("reopened")) for u in updates] == [
        ("closed", "COMPLETED", None), ("open", "REOPENED", True)]
    assert env.relay() == 1 and env.relay() == 0
    (told,) = env.reopen_files()
    assert (told["service_request_id"], told["description"], told["reopen_id"]) == (rid, NOT_FIXED,
                                                                                    answer["reopen_id"])
    assert told["contact"]["email"] == "submitter@example.org"
    with env.gateway.session() as s, s.begin():
        history = [(u.status, u.external_status, u.source, u.closure_code)
                   for u in s.scalars(select(StatusUpdate).where(StatusUpdate.request_id == int(rid))
                                      .order_by(StatusUpdate.id))]
    assert history == [("closed", "COMPLETED", "pull", "fixed"), ("open", "REOPENED", "reopen", None)]


def test_a_followers_key_may_reopen_and_the_reopen_survives_a_relay_crash(env: Env) -> None:
    rid = delivered(env)
    follower_key = env.new_key()
    assert env.client.post(f"/open311/v2/requests/{rid}/followers.json",
                           data={"api_key": follower_key, "email": REOPENER_MAIL}).status_code == 200
    env.relay()
    assert env.push(rid, "u1", "COMPLETED").status_code == 200
    assert env.reopen(rid, follower_key, "xml").status_code == 200
    with env.gateway.session() as session, writing(session) as connection:   # a relay claims it, then dies
        (claimed,) = claim_due(connection, "dead-relay", SETTINGS, env.clock())
    assert claimed.kind == "reopen"
    assert env.relay() == 0                       # leased to the dead relay
    env.clock.now += timedelta(seconds=SETTINGS.lease + 1)
    assert env.relay() == 1 and env.relay() == 0  # a new relay takes it over once the lease ran out
    (told,) = env.reopen_files()
    assert told["contact"]["email"] == REOPENER_MAIL
    with env.gateway.session() as s, s.begin():
        states = [o.state for o in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reopen"))]
    assert states == ["done"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_reopen_refusals(env: Env, fmt: str) -> None:
    rid = delivered(env)
    stranger = env.new_key()
    assert env.reopen(rid, env.key, fmt).status_code == 409          # still open
    assert env.push(rid, "u1", "COMPLETED").status_code == 200
    for response, status in ((env.reopen(rid, stranger, fmt), 403), (env.reopen("99999", env.key, fmt), 404),
                             (env.reopen(rid, env.key, fmt, description=""), 400),
                             (env.reopen(rid, "not-a-key", fmt), 403)):
        assert response.status_code == status, response.data
        assert errors_of(response, fmt)[0][0] == status
    env.clock.now += timedelta(days=15)   # DPW-DUMPING: the default 14 days
    late = env.reopen(rid, env.key, fmt)
    assert late.status_code == 409 and "14 days" in errors_of(late, fmt)[0][1]
    with env.gateway.session() as s, s.begin():
        assert list(s.scalars(select(RequestReopen))) == []


def test_reopen_text_and_contact_never_leave_except_to_the_department(env: Env) -> None:
    rid = delivered(env)
    follower_key = env.new_key()
    env.client.post(f"/open311/v2/requests/{rid}/followers.json", data={"api_key": follower_key,
                                                                        "email": REOPENER_MAIL})
    assert env.push(rid, "u1", "COMPLETED").status_code == 200
    assert env.reopen(rid, follower_key).status_code == 200
    for path in (f"requests/{rid}.json?extensions=true", f"requests/{rid}.xml?extensions=true",
                 "requests.json?extensions=true", "requests.xml?extensions=true", "requests.csv", "requests.geojson",
                 "servicerequestupdates.json?extensions=true", "servicerequestupdates.xml",
                 "duplicates.json?service_code=DPW-DUMPING&lat=34.0239&long=-118.172&extensions=true"):
        body = env.client.get(f"/open311/v2/{path}").get_data(as_text=True)
        assert NOT_FIXED not in body and REOPENER_MAIL not in body and "submitter@example.org" not in body, path
    env.relay()
    assert [r["description"] for r in env.reopen_files()] == [NOT_FIXED]
