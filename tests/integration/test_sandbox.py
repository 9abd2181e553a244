"""The sandbox jurisdiction (docs/api.md#sandbox): /sandbox/open311/v2/ with keys of its own, simulated back offices
that receive, assign and close each ticket on a schedule (settable clock), data kept out of production."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from open311.cli import main
from open311.delivery.relay import Relay
from open311.delivery.sync import sync_all
from open311.intake.keys import create_key
from open311.settings import SyncSettings
from open311_adapters.simulated import SimulatedAdapter, parse_external_id
from tests.conftest import Clock

SANDBOX = "sandbox.lacounty.gov"
S = "/sandbox/open311/v2"
P = "/open311/v2"
POTHOLE = {"service_code": "DPW-POTHOLE", "lat": "34.0389", "long": "-118.165", "attribute[size]": "lt_1ft",
           "attribute[position]": "travel_lane", "attribute[depth]": "shallow", "description": "Sandbox hole",
           "email": "canary-sandbox@example.org"}


@pytest.fixture
def sandbox_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def key(app: Flask, jurisdiction_id: str) -> str:
    gateway = app.extensions["open311"]
    with gateway.session() as session:
        _, made = create_key(session, jurisdiction_id, "app maker", gateway.clock(), rate_limit="1000/minute")
    return made


def step(app: Flask, clock: Clock, seconds: float) -> None:
    """Time passes; the relay delivers and the sync pulls, as `open311 serve` does in the background."""
    gateway = app.extensions["open311"]
    clock.advance(seconds)
    Relay(gateway, gateway.policies.delivery).run(once=True)
    sync_all(gateway, SyncSettings.from_config(app.config))


def status(client: FlaskClient, rid: str) -> dict[str, object]:
    found = client.get(f"{S}/requests/{rid}.json?extensions=true")
    assert found.status_code == 200, found.data
    entry: dict[str, object] = found.json[0]
    return entry


def test_a_sandbox_request_reaches_closed_with_a_reason_by_itself(sandbox_app: Flask, clock: Clock) -> None:
    client = sandbox_app.test_client()
    posted = client.post(f"{S}/requests.json", data={**POTHOLE, "api_key": key(sandbox_app, SANDBOX)})
    assert posted.status_code == 200, posted.data
    rid = posted.json[0]["service_request_id"]
    step(sandbox_app, clock, 1)
    first = status(client, rid)
    assert first["status"] == "open"
    step(sandbox_app, clock, 11)       # assign_after 10 s (jurisdictions.yaml)
    notes = [n["status"] for n in status(client, rid)["notes"]]   # type: ignore[union-attr]
    assert len(notes) >= 2 and status(client, rid)["status"] == "open"
    step(sandbox_app, clock, 25)       # close_after 30 s
    closed = status(client, rid)
    assert closed["status"] == "closed"
    assert closed["extended_attributes"]["closure_code"] in ("fixed", "referred", "duplicate", "not_found")  # type: ignore[index]

    # nothing of it in production: not by id, not in the feed, not in the stats
    assert client.get(f"{P}/requests/{rid}.json").status_code == 404
    assert rid not in [r["service_request_id"] for r in client.get(f"{P}/requests.json").json]
    production_stats = client.get(f"{P}/stats.json").json
    assert sum(s["received"] for s in production_stats) == 0     # no production request in this test
    assert sum(s["received"] for s in client.get(f"{S}/stats.json").json) == 1
    # and the sandbox's own feed shows it, with no personal data
    sandbox_feed = client.get(f"{S}/requests.json?extensions=true")
    assert rid in [r["service_request_id"] for r in sandbox_feed.json]
    assert "canary-sandbox" not in sandbox_feed.get_data(as_text=True)


def test_keys_are_apart_and_the_body_cannot_leave_the_sandbox(sandbox_app: Flask) -> None:
    client = sandbox_app.test_client()
    production, sandbox = key(sandbox_app, "lacounty.gov"), key(sandbox_app, SANDBOX)
    assert client.post(f"{S}/requests.json", data={**POTHOLE, "api_key": production}).status_code == 403
    assert client.post(f"{P}/requests.json", data={**POTHOLE, "api_key": sandbox}).status_code == 403
    # jurisdiction_id in the body or the query does not take a sandbox request to production
    posted = client.post(f"{S}/requests.json?jurisdiction_id=lacounty.gov",
                         data={**POTHOLE, "api_key": sandbox, "jurisdiction_id": "lacounty.gov"})
    assert posted.status_code == 200, posted.data
    rid = posted.json[0]["service_request_id"]
    assert client.get(f"{P}/requests/{rid}.json").status_code == 404
    assert client.get(f"{S}/requests/{rid}.json?jurisdiction_id=lacounty.gov").status_code == 200


def test_discovery_lists_the_sandbox_as_the_test_endpoint(sandbox_app: Flask) -> None:
    client = sandbox_app.test_client()
    for base in (P, S):
        endpoints = client.get(f"{base}/discovery.json").json["endpoints"]
        assert [(e["type"], e["url"].split("://", 1)[1].split("/", 1)[1]) for e in endpoints] == [
            ("production", "open311/v2"), ("test", "sandbox/open311/v2")]
    services = client.get(f"{S}/services.json").json
    assert len(services) == 81 == len(client.get(f"{P}/services.json").json)
    assert client.get("/sandbox/").status_code == 404      # the web app is production's; the sandbox is an API


def test_sandbox_reset_empties_it_and_only_it(sandbox_app: Flask, clock: Clock, app_database_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    client = sandbox_app.test_client()
    in_sandbox = client.post(f"{S}/requests.json", data={**POTHOLE, "api_key": key(sandbox_app, SANDBOX)})
    in_production = client.post(f"{P}/requests.json", data={**POTHOLE, "api_key": key(sandbox_app, "lacounty.gov")})
    step(sandbox_app, clock, 40)
    monkeypatch.setenv("OPEN311_DATABASE_URL", app_database_url)
    done = CliRunner().invoke(main, ["sandbox", "reset", "--yes"])
    assert done.exit_code == 0, done.output
    assert f"{SANDBOX}: 1 request(s) deleted" in done.output
    assert client.get(f"{S}/requests/{in_sandbox.json[0]['service_request_id']}.json").status_code == 404
    assert client.get(f"{P}/requests/{in_production.json[0]['service_request_id']}.json").status_code == 200
    refused = CliRunner().invoke(main, ["sandbox", "reset", "--yes", "--jurisdiction", "lacounty.gov"])
    assert refused.exit_code == 2 and "name one sandbox jurisdiction" in refused.output


def test_the_simulated_back_office_closes_some_as_referrals_and_duplicates() -> None:
    adapter = SimulatedAdapter({"assign_after": 10, "close_after": 30, "referral_every": 5, "duplicate_every": 7},
                               http=None)  # type: ignore[arg-type]
    assert adapter.closure("10", ["3", "10"]) == ("referred", None)
    assert adapter.closure("14", ["3", "9", "14"]) == ("duplicate", "9")
    assert adapter.closure("7", ["7"]) == ("not_found", None)     # no earlier ticket to be a duplicate of
    assert adapter.closure("11", []) == ("fixed", None)
    assert parse_external_id("SIM-12-1700000000") is not None and parse_external_id("other-1") is None


def test_an_encoded_jurisdiction_id_cannot_reach_production_either(sandbox_app: Flask) -> None:
    client = sandbox_app.test_client()
    production = client.post(f"{P}/requests.json", data={**POTHOLE, "api_key": key(sandbox_app, "lacounty.gov")})
    rid = production.json[0]["service_request_id"]
    for name in ("jurisdiction_id", "jurisdiction%5Fid", "jurisdiction%5fid", "jurisdiction_id%20"):
        assert client.get(f"{S}/requests/{rid}.json?{name}=lacounty.gov").status_code == 404, name
