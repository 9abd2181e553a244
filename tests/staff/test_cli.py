"""`open311 staff create|list|disable|reset` and `open311 audit`, against the shipped demo configuration
(DRP and DEO work the staff queue there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from open311 import create_app
from open311.cli import main
from open311.services import Services
from open311.staff.accounts import setup_account
from tests.conftest import ROOT
from tests.delivery import seed_requests
from tests.staff.helpers import PASSWORD, csrf_of, deliver_all, login


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    monkeypatch.setenv("OPEN311_DATABASE_URL", database_url)
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    assert run("db", "upgrade")[0] == 0
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_create_prints_a_one_time_link_that_sets_the_password(env: Path) -> None:
    code, output = run("staff", "create", "--department", "DRP", "--email", "Rita@Planning.example.gov",
                       "--role", "supervisor")
    assert code == 0, output
    link = output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/staff/setup/") and " " not in link
    assert "rita@planning.example.gov" in output  # stored lower-cased
    app = create_app({"TESTING": True})
    try:
        client = app.test_client()
        path = link.removeprefix("http://127.0.0.1:5000")
        form = client.get(path)
        assert form.status_code == 200
        assert client.post(path, data={"password": PASSWORD, "confirm": PASSWORD,
                                       "csrf_token": csrf_of(form)}).status_code == 303
        assert client.get(path).status_code == 404  # spent
        assert login(client, "rita@planning.example.gov").status_code == 303
        assert "Regional Planning: queue" in client.get("/staff/").get_data(as_text=True)
    finally:
        app.extensions["open311"].dispose()
    code, listed = run("staff", "list")
    assert code == 0
    assert listed.splitlines()[1].split("\t")[1:6] == ["rita@planning.example.gov", "supervisor", "lacounty.gov",
                                                       "DRP", "active"]
    assert "setup" not in listed.lower().replace("waiting for set-up", "")


def test_create_refuses_what_cannot_work(env: Path) -> None:
    cases = [
        (["--department", "DPW", "--role", "agent"], "does not use the staff queue"),   # DPW is on filedrop
        (["--department", "NOPE", "--role", "agent"], "unknown department 'NOPE'"),
        (["--role", "agent"], "belongs to a department"),
        (["--department", "DRP", "--role", "boss"], "Invalid value for '--role'"),
    ]
    for extra, message in cases:
        code, output = run("staff", "create", "--email", "x@example.gov", *extra)
        assert code == 2 and message in output, (extra, output)
    assert run("staff", "create", "--email", "not-an-address", "--department", "DRP", "--role", "agent")[0] == 2
    assert run("staff", "create", "--email", "x@example.gov", "--department", "DRP", "--role", "agent")[0] == 0
    code, output = run("staff", "create", "--email", "X@example.gov", "--department", "DEO", "--role", "agent")
    assert code == 2 and "already exists" in output
    assert run("staff", "create", "--email", "ops@example.gov", "--role", "operator")[0] == 0


def test_disable_and_reset(env: Path) -> None:
    run("staff", "create", "--email", "d@example.gov", "--department", "DEO", "--role", "agent")
    code, output = run("staff", "reset", "d@example.gov")
    assert code == 0 and output.strip().splitlines()[-1].startswith("http://127.0.0.1:5000/staff/setup/")
    code, output = run("staff", "disable", "d@example.gov")
    assert code == 0 and output.startswith("disabled 1 d@example.gov at ")
    assert "\tdisabled " in run("staff", "list")[1]
    assert run("staff", "reset", "d@example.gov")[0] == 1
    assert run("staff", "disable", "nobody@example.gov") == (1, "no account 'nobody@example.gov'\n")


def test_audit_prints_who_did_what_without_contact_data(env: Path) -> None:
    link = run("staff", "create", "--email", "a@example.gov", "--department", "DRP", "--role", "agent")[1]
    app = create_app({"TESTING": True})
    gateway: Services = app.extensions["open311"]
    try:
        with gateway.session() as session:  # what the set-up page does with the link's token
            assert setup_account(session, link.strip().rsplit("/", 1)[-1], PASSWORD, gateway.clock())
        (rid,) = seed_requests(gateway, 1, "DRP", email="resident.canary@example.org")
        deliver_all(gateway)
        client = app.test_client()
        login(client, "a@example.gov")
        login(app.test_client(), "a@example.gov", "a wrong password")
        shown = client.get(f"/staff/requests/{rid}?contact=1").get_data(as_text=True)
        assert "resident.canary@example.org" in shown
        client.post(f"/staff/requests/{rid}/note", data={"note": "call back", "visibility": "internal",
                                                          "csrf_token": csrf_of(client.get(f"/staff/requests/{rid}"))})
    finally:
        gateway.dispose()
    code, output = run("audit")
    assert code == 0
    actions = [line.split("\t")[3] for line in output.strip().splitlines()[1:]]
    assert actions == ["account_created", "login", "login_failed", "view_contact", "note_internal"]
    assert "resident.canary" not in output and "call back" not in output
    code, mine = run("audit", "--request", str(rid))
    assert [line.split("\t")[3] for line in mine.strip().splitlines()[1:]] == ["view_contact", "note_internal"]
    assert all(line.split("\t")[2] == "a@example.gov" for line in mine.strip().splitlines()[1:])
    code, by_staff = run("audit", "--staff", "A@example.gov", "--action", "login_failed")
    assert code == 0 and len(by_staff.strip().splitlines()) == 2
    assert run("audit", "--request", "0")[0] == 2
