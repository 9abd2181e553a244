"""Residents hear back, in a real browser (Debian's Chromium): a report made in the web app with "e-mail me" ticked
shows its status page link; the relay's "received" e-mail (a real SMTP server on loopback) links the same page;
a second address follows it there; the back office closes it and both addresses hear; "not fixed" reopens it; a
report made in Spanish gets a Spanish page and a Spanish e-mail; a wrong link is a 404 page. axe-core finds no
violation of any impact on any state of the page, in English and Spanish, at phone width and at 320 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from open311.delivery.relay import Relay
from open311.intake.keys import create_key
from open311.services import Services
from tests.adapters.peers import free_port
from tests.conftest import Clock
from tests.e2e.conftest import check_accessibility, wider_than
from tests.helpers import GRAFFITI
from tests.images import jpeg_with_gps
from tests.integration.live import serve
from tests.notices.smtp import SmtpPeer, html_of, smtp_server, text_of

MOBILE = {"width": 412, "height": 915}
NARROW = {"width": 320, "height": 720}
ADA, BEN, ANA = "ada.resident@example.org", "ben.neighbour@example.org", "ana.vecina@example.org"
TOKEN = r"/r/[A-Za-z0-9_-]{43}"


def check_narrow(page: Any, where: str) -> None:
    """At 320 px wide: no sideways scrolling, and axe again (then back to the phone width)."""
    page.set_viewport_size(NARROW)
    assert wider_than(page, NARROW["width"]) == [], where
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"], where
    check_accessibility(page, f"{where} at 320 px")
    page.set_viewport_size(MOBILE)


@dataclass
class Town:
    """A live gateway that sends e-mail notices (to the loopback SMTP server) and serves the web app."""

    app: Flask
    root: str
    smtp: SmtpPeer
    clock: Clock

    @property
    def api(self) -> str:
        return f"{self.root}open311/v2/"

    @property
    def gateway(self) -> Services:
        gateway: Services = self.app.extensions["open311"]
        return gateway

    def relay(self) -> None:
        Relay(self.gateway, self.gateway.policies.delivery).run(once=True)

    def close(self, request_id: str, photo: str | None = None) -> None:
        """The back office closes the request: POST servicerequestupdates with DPW's key (fixed, with a photo)."""
        with self.gateway.session() as session:
            _, key = create_key(session, "lacounty.gov", "DPW back office", self.gateway.clock(), department="DPW")
        self.clock.advance(3600)
        reply = requests.post(f"{self.api}servicerequestupdates.json", timeout=10, data={
            "api_key": key, "service_request_id": request_id, "update_id": f"dpw-{request_id}",
            "status": "COMPLETED", "closure_code": "fixed", "description": "Painted over",
            "updated_datetime": (self.clock.now - timedelta(seconds=30)).isoformat(),
            **({"media_url": photo} if photo else {})})
        assert reply.status_code == 200, reply.text

    def photo_url(self) -> str:
        """A photo the gateway serves itself (posted with a report of its own), for the closure."""
        with self.gateway.session() as session:
            _, key = create_key(session, "lacounty.gov", "crew app", self.gateway.clock())
        reply = requests.post(f"{self.api}requests.json", timeout=10,
                              files={"media": ("after.jpg", jpeg_with_gps(), "image/jpeg")},
                              data={**GRAFFITI, "api_key": key, "description": "after the work"})
        assert reply.status_code == 200, reply.text
        rid = reply.json()[0]["service_request_id"]
        url = requests.get(f"{self.api}requests/{rid}.json", timeout=10).json()[0]["media_url"]
        assert url and url.startswith(self.root), url
        return str(url)

    def status_of(self, request_id: str) -> str:
        reply = requests.get(f"{self.api}requests/{request_id}.json", timeout=10)
        assert reply.status_code == 200, reply.text
        return str(reply.json()[0]["status"])

    def mail_to(self, address: str) -> list[Any]:
        return self.smtp.mailbox.to(address)


@pytest.fixture
def town(make_app: Any, clock: Clock, tmp_path: Path) -> Iterator[Town]:
    port = free_port()   # known before the app is built: the links in e-mails name this very server
    with smtp_server(tmp_path) as smtp:
        app = make_app(OPEN311_NOTICE_SMTP_URL=smtp.url, OPEN311_NOTICE_FROM="311 <no-reply@example.gov>",
                       OPEN311_WEBAPP_TILE_URL="", OPEN311_PUBLIC_URL=f"http://127.0.0.1:{port}")
        gateway = app.extensions["open311"]
        with gateway.session() as session:
            _, key = create_key(session, "lacounty.gov", "webapp", gateway.clock(), rate_limit="10000/minute")
        app.config["OPEN311_WEBAPP_API_KEY"] = key
        with serve(app, port) as api:
            yield Town(app, api.removesuffix("open311/v2"), smtp, clock)


def report_in_the_web_app(page: Any, town: Town, email: str, *, spanish: bool = False) -> str:
    """Report graffiti at 4801 E 3rd St with the contact e-mail and "e-mail me at each step" ticked; returns the
    status page link the done screen shows."""
    page.goto(town.root)
    page.wait_for_selector("body[data-ready=true]", state="attached")
    if spanish:
        page.select_option("#language", "es")
        page.wait_for_function("() => document.documentElement.lang === 'es'")
    page.fill("#service-search", "grafiti" if spanish else "graffiti")
    page.click(".service-option[data-code=DPW-GRAFFITI]")
    page.fill("#request-address", "4801 E 3rd St")
    page.press("#request-address", "Enter")
    page.wait_for_function("() => document.querySelector('#availability').classList.contains('notice-ok')")
    page.select_option("#attr-surface_type", "wall")
    page.select_option("#attr-property_type", "public")
    page.fill("#description", "Tag on the side wall of the laundromat")
    page.click("#contact summary")
    box = page.locator("#notify-email")
    assert page.locator("label[for=notify-email]").inner_text() == (
        "Enviarme un correo en cada paso (recibido, asignado, cerrado)" if spanish
        else "E-mail me at each step (received, assigned, closed)")
    box.check()
    assert page.locator("#email").get_attribute("aria-required") == "true"
    page.click("#submit")   # ticked without an address: the page says so before anything is sent
    page.locator("#request-errors").wait_for()
    needs = page.locator("#email-error").inner_text()
    assert needs.startswith("Escriba su correo electrónico" if spanish else "Please enter your email address")
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "request-errors"
    check_accessibility(page, "the web app's Request screen with the e-mail problem")
    page.fill("#email", email)
    assert page.locator("#email-error").is_hidden()
    page.click("#submit")
    link = page.locator("#done-status-page")
    link.wait_for()
    assert link.inner_text() == ("Ver la página de estado de su reporte" if spanish
                                 else "See the status page of your report")
    check_accessibility(page, "the web app's done screen")
    href = str(link.get_attribute("href"))
    assert re.fullmatch(re.escape(town.root.rstrip("/")) + TOKEN, href), href
    return href


def mailed_link(message: Any, town: Town) -> str:
    """The status page link of a notice (the same in its text and HTML parts)."""
    found = re.search(re.escape(town.root.rstrip("/")) + TOKEN, text_of(message))
    assert found is not None, text_of(message)
    assert found.group(0) in html_of(message)
    return found.group(0)


def submit(page: Any, button: str) -> Any:
    """Press a form's button; return the HTTP response of the page it loads."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button).click()
    return navigation.value


@pytest.mark.slow
def test_report_hear_back_follow_close_and_reopen_in_english(browser: Any, town: Town) -> None:
    context = browser.new_context(viewport=MOBILE, locale="en-US", bypass_csp=True)  # bypass: to inject axe
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    href = report_in_the_web_app(page, town, ADA)
    request_id = page.locator("#done-id").inner_text()

    # the done screen's link is the status page, in the report's language
    page.click("#done-status-page")
    page.wait_for_url(href)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.locator("h1").inner_text() == "Graffiti Abatement"
    assert page.locator("#status").inner_text() == "Open"
    assert ADA not in page.content()
    check_accessibility(page, "status page, open")
    check_narrow(page, "status page, open")

    # the relay sends the "received" e-mail: its link is the same page
    town.relay()
    (received,) = town.mail_to(ADA)
    assert received["Subject"] == f"We received your report: Graffiti Abatement (#{request_id})"
    assert mailed_link(received, town) == href

    # a neighbour follows it there: a mistyped address is refused on the page, then the right one is taken
    page.get_by_label("E-mail address").fill("ben@example")   # the browser's check lets it through, ours not
    refused = submit(page, "Follow by e-mail")
    assert refused.status == 400
    assert "Please enter a full e-mail address" in page.get_by_role("alert").inner_text()
    field = page.get_by_label("E-mail address")   # marked, described by the problem, and focused
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("aria-describedby") == "problems"
    assert page.evaluate("() => document.activeElement.id") == "email"
    assert page.title().startswith("Please check: ")
    check_accessibility(page, "status page with a problem")
    check_narrow(page, "status page with a problem")
    page.get_by_label("E-mail address").fill(BEN)
    assert submit(page, "Follow by e-mail").status == 200
    assert page.get_by_role("status").inner_text() == "Done: you will hear about the next milestone."
    check_accessibility(page, "status page, followed")

    # the back office closes it (fixed, with a photo): both addresses hear
    town.close(request_id, town.photo_url())
    town.relay()
    closed = f"Your report is closed: Graffiti Abatement (#{request_id})"
    assert [m["Subject"] for m in town.mail_to(ADA)][-1] == closed
    assert [m["Subject"] for m in town.mail_to(BEN)] == [closed]
    assert mailed_link(town.mail_to(BEN)[0], town) == href
    page.goto(mailed_link(town.mail_to(ADA)[-1], town))
    assert page.locator("#status").inner_text() == "Closed" and page.locator("#reason").inner_text() == "fixed"
    assert page.get_by_role("img", name="Photo of the work done").is_visible()
    assert "Painted over" in page.locator(".history").inner_text()
    check_accessibility(page, "status page, closed")
    check_narrow(page, "status page, closed")

    # "not fixed" reopens it (the public API says open again)
    page.get_by_label("What is still wrong").fill("The tag is back on the same wall")
    assert submit(page, "Reopen the report").status == 200
    assert page.get_by_role("status").inner_text() == "The report is open again. Thank you."
    assert page.locator("#status").inner_text() == "Open"
    check_accessibility(page, "status page, reopened")
    assert town.status_of(request_id) == "open"
    assert errors == []
    context.close()


@pytest.mark.slow
def test_a_spanish_report_gets_a_spanish_page_and_e_mail_and_a_wrong_link_is_a_404(browser: Any, town: Town) -> None:
    context = browser.new_context(viewport=MOBILE, locale="en-US", bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    href = report_in_the_web_app(page, town, ANA, spanish=True)
    request_id = page.locator("#done-id").inner_text()
    page.click("#done-status-page")
    page.wait_for_url(href)
    assert page.evaluate("() => document.documentElement.lang") == "es"
    assert page.locator("h1").inner_text() == "Eliminación de grafiti"
    assert page.locator("#status").inner_text() == "Abierto"
    check_accessibility(page, "página de estado, abierta")
    check_narrow(page, "página de estado, abierta")
    town.relay()
    (received,) = town.mail_to(ANA)
    assert received["Subject"] == f"Recibimos su reporte: Eliminación de grafiti (n.º {request_id})"
    assert received["Content-Language"] == "es" and mailed_link(received, town) == href

    page.get_by_label("Correo electrónico").fill("ana@ejemplo")
    assert submit(page, "Seguir por correo").status == 400
    assert "Escriba un correo electrónico completo" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Correo electrónico").get_attribute("aria-invalid") == "true"
    check_accessibility(page, "página de estado con un problema")
    check_narrow(page, "página de estado con un problema")

    town.close(request_id)
    town.relay()
    assert town.mail_to(ANA)[-1]["Subject"] == f"Su reporte fue cerrado: Eliminación de grafiti (n.º {request_id})"
    page.goto(href)
    assert page.locator("#status").inner_text() == "Cerrado" and page.locator("#reason").inner_text() == "resuelto"
    assert page.locator(".history .text[lang=en]").inner_text() == "Painted over"   # the department's own words
    check_accessibility(page, "página de estado, cerrada")
    check_narrow(page, "página de estado, cerrada")
    page.get_by_role("link", name="English").click()   # the language switch
    page.wait_for_url(f"{href}?lang=en")
    assert page.evaluate("() => document.documentElement.lang") == "en" and page.locator("#status").inner_text() \
        == "Closed"
    check_accessibility(page, "the Spanish report's page in English, closed")
    page.get_by_label("What is still wrong").fill("Sigue ahí")
    assert submit(page, "Reopen the report").status == 200   # the page stays in the language chosen
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.get_by_role("status").inner_text() == "The report is open again. Thank you."
    assert town.status_of(request_id) == "open"

    # a wrong (or withdrawn) link: the 404 page, in either language
    wrong = f"{town.root}r/{'A' * 43}"
    for url, lang, title in ((wrong, "en", "Not found"), (f"{wrong}?lang=es", "es", "No encontrado")):
        answer = page.goto(url)
        assert answer is not None and answer.status == 404
        assert page.evaluate("() => document.documentElement.lang") == lang
        assert page.locator("h1").inner_text() == title
        check_accessibility(page, f"404 page ({lang})")
        check_narrow(page, f"404 page ({lang})")
    # any threshold language by ?lang=: Arabic right to left, its words from the message catalog
    page.goto(f"{href}?lang=ar")
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.locator("h1").inner_text() != "Graffiti Abatement" and page.locator("#status").inner_text() != "Open"
    check_accessibility(page, "status page in Arabic")
    check_narrow(page, "status page in Arabic")
    assert errors == []
    context.close()
