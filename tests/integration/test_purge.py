"""`open311 purge`: personal data of requests closed past the retention period goes; the public record stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from open311 import create_app
from open311.bootstrap import bootstrap
from open311.cli import main
from open311.intake.dedup import IDEMPOTENCY
from open311.intake.storing import store_request
from open311.intake.submit import Submission, prepare_request
from open311.services import Services
from open311.storage.models import OutboxMessage, RequestContact, ServiceRequest, SubmissionKey
from tests.conftest import ROOT

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CONTACT = {"email": "resident@example.org", "phone": "555-0100", "first_name": "Ana", "last_name": "Ruiz",
           "device_id": "dev-1", "account_id": "acct-1"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    """A migrated database shared by the CLI and the test, with the clock fixed at NOW for the CLI."""
    monkeypatch.setenv("OPEN311_DATABASE_URL", f"sqlite:///{tmp_path / 'purge.sqlite3'}")
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    gw: Services = create_app({"OPEN311_CLOCK": lambda: NOW}).extensions["open311"]
    monkeypatch.setattr("open311.cli.startup.bootstrap",
                        lambda **parts: bootstrap({"OPEN311_CLOCK": lambda: NOW}, **parts))
    return gw


def seed(gw: Services, status: str, closed_days_ago: int, outbox_state: str = "done") -> int:
    """One request with contact data, last updated `closed_days_ago` days before NOW."""
    jurisdiction = gw.config.jurisdictions["lacounty.gov"]
    when = NOW - timedelta(days=closed_days_ago)
    fields = {"service_code": "DPW-GRAFFITI", "lat": "34.02", "long": "-118.17", "description": "Tag", **CONTACT}
    submission = Submission(fields=fields, attributes={"surface_type": ["wall"], "property_type": ["public"]})
    with gw.session() as s:
        result = store_request(s, prepare_request(jurisdiction, submission, None, when), when)
        assert result.service_request_id is not None
        rid = int(result.service_request_id)
        with s.begin():
            row = s.get(ServiceRequest, rid)
            assert row is not None
            row.status = status
            for message in s.scalars(select(OutboxMessage).where(OutboxMessage.request_id == rid)):
                message.state = outbox_state
    return rid


def contacts(gw: Services) -> set[int]:
    with gw.session() as s, s.begin():
        return set(s.scalars(select(RequestContact.request_id)))


def test_purge_keeps_the_public_record(env: Services) -> None:
    old_closed = seed(env, "closed", 200)
    recent_closed = seed(env, "closed", 100)
    old_open = seed(env, "open", 400)
    old_undelivered = seed(env, "closed", 400, outbox_state="pending")
    with env.session() as s, s.begin():
        before = {r.id: (r.description, r.status, r.lat) for r in s.scalars(select(ServiceRequest))}
        s.add(SubmissionKey(kind=IDEMPOTENCY, scope="key:1", key="old", payload_hash="x", request_id=old_open,
                            result={}, created_at=NOW - timedelta(days=2), expires_at=NOW - timedelta(days=1)))
    runner = CliRunner()
    dry = runner.invoke(main, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "would delete personal data of 1 request(s) closed before 2026-03-05T12:00:00Z; "
        "would delete 1 expired submission key(s)", f"requests: {old_closed}"]
    assert contacts(env) == {old_closed, recent_closed, old_open, old_undelivered}
    done = runner.invoke(main, ["purge"])
    assert done.exit_code == 0 and done.output.startswith("deleted personal data of 1 request(s)")
    assert contacts(env) == {recent_closed, old_open, old_undelivered}
    with env.session() as s, s.begin():
        after = {r.id: (r.description, r.status, r.lat) for r in s.scalars(select(ServiceRequest))}
        assert s.scalars(select(SubmissionKey)).all() == []
    assert after == before  # the public record is untouched
    shorter = runner.invoke(main, ["purge", "--days", "90"])
    assert shorter.exit_code == 0 and f"requests: {recent_closed}" in shorter.output
    assert contacts(env) == {old_open, old_undelivered}


def test_retention_comes_from_the_environment(env: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = seed(env, "closed", 10)
    monkeypatch.setenv("OPEN311_CONTACT_RETENTION_DAYS", "7")
    result = CliRunner().invoke(main, ["purge"])
    assert result.exit_code == 0 and "closed before 2026-08-25T12:00:00Z" in result.output
    assert rid not in contacts(env)
