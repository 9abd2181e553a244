"""E-mail notices through a real SMTP server on loopback: one per milestone per recipient, the report's language,
RFC 8058 one-click unsubscribe (honoured at once), tampered links refused, nothing while unset."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.delivery.relay import Relay
from open311.intake.keys import create_key
from open311.services import Services
from tests.conftest import Clock
from tests.delivery import write_config
from tests.helpers import GRAFFITI, errors_of, json_of
from tests.notices.smtp import SmtpPeer, html_of, smtp_server, text_of

RESIDENT = "ada.resident@example.org"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpPeer]:
    with smtp_server(tmp_path) as peer:
        yield peer


class Town:
    """An app with e-mail notices on, a resident's app key and DPW's back-office key."""

    def __init__(self, app: Flask, clock: Clock) -> None:
        self.app, self.clock = app, clock
        self.client: FlaskClient = app.test_client()
        self.gateway: Services = app.extensions["open311"]
        with self.gateway.session() as session:
            self.key = create_key(session, "lacounty.gov", "app", clock.now)[1]
            self.dpw = create_key(session, "lacounty.gov", "DPW", clock.now, department="DPW")[1]
        self.updates = 0

    def report(self, **extra: str) -> str:
        posted = self.client.post("/open311/v2/requests.json?extensions=true",
                                  data={**GRAFFITI, "api_key": self.key, "email": RESIDENT, "notify": "email",
                                        **extra})
        assert posted.status_code == 200, posted.data
        return str(posted.json[0]["service_request_id"])

    def update(self, rid: str, status: str, **extra: str) -> None:
        self.clock.advance(120)
        self.updates += 1
        pushed = self.client.post("/open311/v2/servicerequestupdates.json", data={
            "api_key": self.dpw, "service_request_id": rid, "update_id": f"u{self.updates}", "status": status,
            "updated_datetime": (self.clock.now - timedelta(seconds=30)).isoformat(), **extra})
        assert pushed.status_code == 200, pushed.data

    def relay(self) -> int:
        return Relay(self.gateway, self.gateway.policies.delivery).run(once=True)


@pytest.fixture
def town(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock, smtp: SmtpPeer) -> Town:
    app = make_app(write_config(tmp_path), OPEN311_NOTICE_SMTP_URL=smtp.url,
                   OPEN311_NOTICE_FROM="LA County 311 <no-reply@311.example.gov>")
    return Town(app, clock)


def test_one_notice_per_milestone_with_its_reason_and_links(town: Town, smtp: SmtpPeer) -> None:
    rid = town.report()
    town.relay()
    (received,) = smtp.mailbox.to(RESIDENT)
    assert received["Subject"] == f"We received your report: Graffiti Abatement (#{rid})"
    assert received["From"] == "LA County 311 <no-reply@311.example.gov>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(http://127\.0\.0\.1:5000/r/unsubscribe/[^>]+)>",
                               received["List-Unsubscribe"].strip())
    assert unsubscribe is not None, received["List-Unsubscribe"]
    assert received["Auto-Submitted"] == "auto-generated" and received["Content-Language"] == "en"
    status_link = re.search(r"http://127\.0\.0\.1:5000/r/[A-Za-z0-9_-]{43}", text_of(received))
    assert status_link is not None and status_link.group(0) in html_of(received)
    page = town.client.get(status_link.group(0).removeprefix("http://127.0.0.1:5000"))
    assert page.status_code == 200 and "Graffiti" in page.get_data(as_text=True)
    assert RESIDENT not in page.get_data(as_text=True)
    town.update(rid, "IN_PROGRESS")
    town.update(rid, "ASSIGNED")
    town.update(rid, "ASSIGNED", description="again")   # the same milestone again: no second notice
    town.relay()
    town.update(rid, "COMPLETED", closure_code="fixed", description="Painted over")
    town.relay()
    subjects = [m["Subject"] for m in smtp.mailbox.to(RESIDENT)]
    assert subjects == [f"We received your report: Graffiti Abatement (#{rid})",
                        f"Your report is assigned: Graffiti Abatement (#{rid})",
                        f"Your report is closed: Graffiti Abatement (#{rid})"]
    closed = smtp.mailbox.to(RESIDENT)[-1]
    assert "Reason: fixed." in text_of(closed) and "Painted over" in text_of(closed)
    assert len({m["Message-ID"] for m in smtp.mailbox.messages}) == 3
    assert town.relay() == 0  # nothing owed any more


def test_a_spanish_report_hears_in_spanish(town: Town, smtp: SmtpPeer) -> None:
    rid = town.report(locale="es")
    town.relay()
    (received,) = smtp.mailbox.to(RESIDENT)
    assert received["Subject"].startswith("Recibimos su reporte: ") and received["Subject"].endswith(f"(n.º {rid})")
    assert received["Content-Language"] == "es" and "Gracias." in text_of(received)
    town.update(rid, "CLOSED", closure_code="not_found")
    town.relay()
    closed = smtp.mailbox.to(RESIDENT)[-1]
    assert closed["Subject"].startswith("Su reporte fue cerrado") and "Motivo: no se encontró el problema." in \
        text_of(closed)


def test_accept_language_decides_when_no_locale_is_sent(town: Town, smtp: SmtpPeer) -> None:
    posted = town.client.post("/open311/v2/requests.json", headers={"Accept-Language": "es-MX,es;q=0.9"},
                              data={**GRAFFITI, "api_key": town.key, "email": RESIDENT, "notify": "email"})
    assert posted.status_code == 200
    town.relay()
    assert smtp.mailbox.to(RESIDENT)[0]["Content-Language"] == "es"


def test_one_click_unsubscribe_stops_the_next_milestone_and_a_tampered_link_is_refused(
        town: Town, smtp: SmtpPeer) -> None:
    rid = town.report()
    town.relay()
    (received,) = smtp.mailbox.to(RESIDENT)
    url = received["List-Unsubscribe"].strip().strip("<>").removeprefix("http://127.0.0.1:5000")
    tampered = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    assert town.client.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    other = re.sub(r"/(\d+)\.", lambda m: f"/{int(m.group(1)) + 1}.", url)
    assert town.client.post(other, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    confirm = town.client.get(url)   # a mail scanner's GET changes nothing
    assert confirm.status_code == 200 and "Stop the updates" in confirm.get_data(as_text=True)
    town.update(rid, "ASSIGNED")
    assert town.client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    town.relay()   # the assigned notice was queued before: it is not sent now either
    town.update(rid, "CLOSED", closure_code="fixed")
    town.relay()
    assert [m["Subject"].split(":")[0] for m in smtp.mailbox.to(RESIDENT)] == ["We received your report"]


def test_without_smtp_settings_notify_is_refused_and_nothing_is_sent(make_app: Callable[..., Flask],
                                                                      tmp_path: Path, clock: Clock,
                                                                      smtp: SmtpPeer) -> None:
    town = Town(make_app(write_config(tmp_path)), clock)
    for fmt in ("json", "xml"):
        refused = town.client.post(f"/open311/v2/requests.{fmt}", data={
            **GRAFFITI, "api_key": town.key, "email": RESIDENT, "notify": "email"})
        assert refused.status_code == 400
        assert errors_of(refused, fmt) == [(400, "notify=email: this gateway does not send email notices.")]
    plain = town.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": town.key})
    assert plain.status_code == 200
    town.relay()
    assert smtp.mailbox.messages == []


def test_bad_notify_values_are_400s(town: Town) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"notify": "pigeon"}, "notify must list email or push (comma-separated), got 'pigeon'."),
        ({"notify": "email", "email": ""}, "notify=email needs the email field."),
        ({"notify": "email", "email": "Ada <ada@example.org>"},
         "notify=email: email is not an address notices can be sent to."),
        ({"notify": "push"}, "notify=push: this gateway does not send push notices."),
    ]
    for extra, message in cases:
        response = town.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": town.key, **extra})
        assert response.status_code == 400 and message in [d for _, d in errors_of(response, "json")], extra


def test_the_post_answers_its_status_url_only_with_extensions(town: Town) -> None:
    plain = town.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": town.key})
    assert "status_url" not in json_of(plain)[0]
    extended = town.client.post("/open311/v2/requests.json?extensions=true",
                                data={**GRAFFITI, "api_key": town.key, "description": "another"})
    url = json_of(extended)[0]["status_url"]
    assert re.fullmatch(r"http://localhost/r/[A-Za-z0-9_-]{43}", url)  # 256 bits, not derived from the id alone
    assert town.client.get(url.removeprefix("http://localhost")).status_code == 200


def test_following_from_the_status_page_in_the_language_shown(town: Town, smtp: SmtpPeer) -> None:
    posted = town.client.post("/open311/v2/requests.json?extensions=true&locale=es",
                              data={**GRAFFITI, "api_key": town.key})
    rid, url = str(posted.json[0]["service_request_id"]), posted.json[0]["status_url"]
    page = url.removeprefix("http://localhost")
    spanish = town.client.get(page).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in spanish and f'action="{page}/follow?lang=es"' in spanish
    refused = town.client.post(f"{page}/follow?lang=es", data={"notify": "email", "email": "ana@ejemplo"})
    body = refused.get_data(as_text=True)   # the field's problem in the page's words, tied to the field
    assert refused.status_code == 400 and "Escriba un correo electrónico completo" in body
    assert 'aria-invalid="true" aria-describedby="problems" autofocus' in body and "ana@ejemplo" not in body
    assert "<title>Revise: " in body
    english = town.client.get(f"{page}?lang=en").get_data(as_text=True)
    assert f'action="{page}/follow?lang=en"' in english   # the language chosen survives the form
    followed = town.client.post(f"{page}/follow?lang=en", data={"notify": "email", "email": RESIDENT})
    assert followed.status_code == 200 and '<html lang="en" dir="ltr">' in followed.get_data(as_text=True)
    town.update(rid, "CLOSED", closure_code="fixed")
    town.relay()
    (closed,) = smtp.mailbox.to(RESIDENT)   # followed from the English page: told in English
    assert closed["Subject"] == f"Your report is closed: Graffiti Abatement (#{rid})"


def test_the_service_worker_is_served_for_the_status_pages(town: Town) -> None:
    worker = town.client.get("/r/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/r/" and b"showNotification" in worker.data
    again = town.client.get("/r/sw.js", headers={"If-None-Match": worker.headers["ETag"]})
    assert again.status_code == 304
