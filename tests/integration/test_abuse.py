"""Abuse controls: revocation takes effect at once, staff hide text, media is never fetched, no field steers calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select

from open311.cli import main
from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.conftest import ROOT
from tests.crawl import crawl
from tests.helpers import GRAFFITI, json_of
from tests.integration.live import serve
from tests.loopback import recording_server

ABUSIVE = "ABUSIVE-TEXT-4471"
ABUSIVE_MEDIA = "https://abuse.example.org/ABUSIVE-MEDIA-4471.jpg"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI pointed at the very database the app under test uses."""
    monkeypatch.setenv("OPEN311_DATABASE_URL", database_url)
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    return CliRunner()


def test_revoked_key_stops_working_on_the_running_server(app: Flask, gateway: Services, api_key: str,
                                                          cli_env: CliRunner) -> None:
    with gateway.session() as s:
        _, other = create_key(s, "lacounty.gov", "other app", gateway.clock())
    with serve(app) as base, requests.Session() as http:
        assert http.post(f"{base}/requests.json", data={**GRAFFITI, "api_key": api_key}).status_code == 200
        revoked = cli_env.invoke(main, ["keys", "revoke", api_key[:12]])
        assert revoked.exit_code == 0, revoked.output
        r = http.post(f"{base}/requests.json", data={**GRAFFITI, "api_key": api_key, "description": "after"})
        assert r.status_code == 403
        assert r.json() == [{"code": 403, "description": "Invalid api_key received -- can't proceed with "
                                                         "create_request."}]
        r = http.post(f"{base}/requests.json", data={**GRAFFITI, "description": "replay"},
                      headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": "k"})
        assert r.status_code == 403
        assert http.post(f"{base}/requests.json", data={**GRAFFITI, "api_key": other}).status_code == 200


def _texts(app: Flask, rid: str, token: str) -> bytes:
    """Everything every GET route answers about the request."""
    fetched = crawl(app, {"service_request_id": [rid], "token": [token], "service_code": ["DPW-GRAFFITI"]},
                    "lacounty.gov")
    return b"\n".join(f.response.get_data() for f in fetched)


def test_staff_hide_and_unhide_a_request(app: Flask, client: FlaskClient, gateway: Services, api_key: str,
                                         cli_env: CliRunner) -> None:
    r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "description": ABUSIVE,
                                                       "media_url": ABUSIVE_MEDIA})
    rid = json_of(r)[0]["service_request_id"]
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, int(rid))
        assert row is not None
        token = row.token
    assert ABUSIVE.encode() in _texts(app, rid, token)
    gateway.clock.now = gateway.clock.now.replace(hour=20)  # type: ignore[attr-defined]
    hidden = cli_env.invoke(main, ["requests", "hide", rid, "--reason", "slur in the description"])
    assert hidden.exit_code == 0, hidden.output
    everything = _texts(app, rid, token)
    assert ABUSIVE.encode() not in everything and b"ABUSIVE-MEDIA" not in everything
    assert b"slur" not in everything  # the reason is staff-only
    public = json_of(client.get(f"/open311/v2/requests/{rid}.json"))[0]
    assert (public["description"], public["media_url"], public["service_code"], public["lat"]) == (
        None, None, "DPW-GRAFFITI", 34.0239)
    assert public["updated_datetime"] > public["requested_datetime"]  # feed readers see the change
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, int(rid))
        assert row is not None and row.hidden_reason == "slur in the description"
        assert row.hidden_content == {"description": ABUSIVE, "media_url": ABUSIVE_MEDIA, "address": None,  # kept
                                      "attributes": {"surface_type": "wall", "property_type": "public"}}
    assert cli_env.invoke(main, ["requests", "hide", rid, "--reason", "again"]).exit_code == 0  # idempotent
    unhidden = cli_env.invoke(main, ["requests", "unhide", rid])
    assert unhidden.exit_code == 0, unhidden.output
    assert json_of(client.get(f"/open311/v2/requests/{rid}.json"))[0]["description"] == ABUSIVE
    missing = cli_env.invoke(main, ["requests", "hide", "999", "--reason", "x"])
    assert missing.exit_code == 1 and "no request 999" in missing.output
    assert cli_env.invoke(main, ["requests", "hide", "abc", "--reason", "x"]).exit_code == 2


def test_media_url_is_never_fetched(app: Flask, client: FlaskClient, gateway: Services, api_key: str) -> None:
    with recording_server() as server:
        media = f"{server.url}/photo.jpg"
        auth = {"Authorization": f"Bearer {api_key}"}
        base = {k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")}
        replies = [
            client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "media_url": media}),
            client.post("/open311/v2/requests.json", content_type="application/json", headers=auth, data=json.dumps(
                {**base, "media_url": media, "description": "j", "attributes": {"surface_type": "wall",
                                                                                  "property_type": "public"}})),
        ]
        assert [r.status_code for r in replies] == [200, 200]
        ids = [json_of(r)[0]["service_request_id"] for r in replies]
        with gateway.session() as s, s.begin():
            tokens = [t for t in s.scalars(select(ServiceRequest.token))]
        everything = crawl(app, {"service_request_id": ids, "token": tokens, "service_code": ["DPW-GRAFFITI"]},
                           "lacounty.gov")
        assert any(media.encode() in f.response.data for f in everything)  # shown as given ...
    assert server.connections == []  # ... and never fetched


STEERING = {"callback_url": "/steer-callback", "url": "/steer-url", "webhook_url": "/steer-webhook",
            "adapter": "filedrop", "directory": "/tmp/steer-dir", "endpoint": "/steer-endpoint",
            "options[url]": "/steer-options", "backoffice_url": "/steer-backoffice", "redirect": "/steer-redirect"}


def test_request_fields_cannot_steer_back_office_calls(app: Flask, client: FlaskClient, gateway: Services,
                                                       api_key: str) -> None:
    before = {k: dict(a.options) for k, a in gateway.adapters.items()}
    with recording_server() as server:
        fields = {k: (server.url + v if v.startswith("/steer") else v) for k, v in STEERING.items()}
        form = client.post("/open311/v2/requests.json", data={**GRAFFITI, **fields, "api_key": api_key})
        nested = {**{k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")}, "description": "n",
                  "attributes": {"surface_type": "wall", "property_type": "public",
                                 "callback_url": server.url + "/steer-attr"}}
        auth = {"Authorization": f"Bearer {api_key}"}
        as_json = client.post("/open311/v2/requests.json", data=json.dumps({**nested, **fields}),
                              content_type="application/json", headers=auth)
        assert (form.status_code, as_json.status_code) == (200, 200)
        as_object = client.post("/open311/v2/requests.json", content_type="application/json", headers=auth,
                                data=json.dumps({**nested, "options": {"url": server.url + "/steer-nested"}}))
        assert json_of(as_object) == [{"code": 400, "description": "options must be a string or a number."}]
    assert server.connections == []
    assert {k: dict(a.options) for k, a in gateway.adapters.items()} == before
    # Nothing of the unknown fields is stored anywhere, so no later delivery can read it.
    metadata = MetaData()
    metadata.reflect(gateway.engine)
    with gateway.engine.connect() as conn:
        dump = repr([list(conn.execute(table.select())) for table in metadata.sorted_tables])
    assert "steer" not in dump and "/tmp/steer-dir" not in dump
    assert "Tag on the wall of the library" in dump  # the dump does hold the stored requests
