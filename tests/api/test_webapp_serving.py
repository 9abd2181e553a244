"""The web app served at /: page, assets, npm-installed vendor code, runtime settings, its API key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from open311.georeport import webapp
from open311.intake.keys import find_key, revoke_key
from tests.conftest import ROOT
from tests.unit.test_translations import THRESHOLD


def fetch(client: FlaskClient, url: str) -> TestResponse:
    """GET, read the body and close the response (files are streamed from disk)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def test_index_and_assets_with_a_strict_policy(client: FlaskClient) -> None:
    page = fetch(client, "/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'<script type="module" src="assets/js/app.js">' in page.data
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = fetch(client, "/assets/js/app.js")
    assert script.status_code == 200 and script.mimetype in ("text/javascript", "application/javascript")
    assert fetch(client, "/assets/i18n/es.json").json["nav"]["request"] == "Solicitar"
    assert fetch(client, "/assets/../setup.cfg").status_code == 404
    assert fetch(client, "/assets/js/nothing.js").status_code == 404


def test_vendor_code_comes_from_node_modules(client: FlaskClient) -> None:
    if not (ROOT / "webapp" / "node_modules" / "leaflet").is_dir():
        pytest.skip("webapp/node_modules not installed (make webapp)")
    assert fetch(client, "/vendor/leaflet/leaflet.js").status_code == 200
    assert fetch(client, "/vendor/axe-core/axe.min.js").status_code == 404   # only what the page needs
    assert fetch(client, "/vendor/leaflet/../package.json").status_code == 404


def test_settings_for_the_page(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_WEBAPP_API_KEY="o311_public", OPEN311_WEBAPP_TILE_URL="https://{s}.tiles.example/{z}/{x}/{y}.png")
    settings = fetch(app.test_client(), "/config.json")
    assert settings.json["api"] == "open311/v2/" and settings.json["jurisdiction_id"] == "lacounty.gov"
    assert settings.json["api_key"] == "o311_public" and settings.json["locales"][:2] == ["en", "ar"]
    assert set(settings.json["locales"]) == set(THRESHOLD) | {"en"}
    assert settings.json["texts"]["es"]["County of Los Angeles"] == "Condado de Los Ángeles"
    (south, west), (north, east) = settings.json["bounds"]
    assert 33 < south < 34.1 < 34.5 < north < 35 and -119 < west < -118.5 < -118 < east < -117
    assert "https://*.tiles.example" in settings.headers["Content-Security-Policy"]
    assert settings.json["notices"] == []   # no OPEN311_NOTICE_* settings: the page offers no notices


def test_settings_name_the_configured_notice_channels(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_NOTICE_SMTP_URL="smtp://127.0.0.1:2525", OPEN311_NOTICE_FROM="311 <no-reply@example.gov>")
    assert fetch(app.test_client(), "/config.json").json["notices"] == ["email"]


def test_the_operator_can_turn_it_off(make_app: Callable[..., Flask]) -> None:
    client = make_app(OPEN311_WEBAPP="false").test_client()
    assert fetch(client, "/").status_code == 404 and fetch(client, "/config.json").status_code == 404
    assert fetch(client, "/open311/v2/services.json").status_code == 200


def test_serve_keeps_a_key_of_its_own(app: Flask, tmp_path: Path) -> None:
    gateway = app.extensions["open311"]
    key = webapp.ensure_key(gateway, "lacounty.gov", tmp_path)
    assert (tmp_path / "webapp-api-key").read_text().strip() == key
    assert (tmp_path / "webapp-api-key").stat().st_mode & 0o077 == 0
    assert webapp.ensure_key(gateway, "lacounty.gov", tmp_path) == key          # kept across restarts
    with gateway.session() as session:
        row = find_key(session, key)
        assert row is not None and row.rate_limit == webapp.KEY_RATE_LIMIT and row.name == "webapp"
        revoke_key(session, str(row.id), gateway.clock())
    replaced = webapp.ensure_key(gateway, "lacounty.gov", tmp_path)             # revoked: a new one
    assert replaced != key and (tmp_path / "webapp-api-key").read_text().strip() == replaced
