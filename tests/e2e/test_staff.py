"""The staff work queue in a real browser (Debian's Chromium): a supervisor sets a password from the one-time
link, finds a resident's report in the queue, assigns it, closes it with a reason and a photo, and the public
API shows the result; axe-core finds no violation of any impact on any staff page, at desktop and phone width;
a keyboard-only pass; and the queue without Leaflet."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import update

from open311.delivery.relay import Relay
from open311.intake.keys import create_key
from open311.services import Services
from open311.staff.accounts import create_account
from open311.storage.models import OutboxMessage
from tests.conftest import ROOT
from tests.e2e.conftest import check_accessibility, wider_than
from tests.helpers import GRAFFITI
from tests.images import jpeg_with_gps
from tests.integration.live import serve
from tests.staff.helpers import PASSWORD, make_account, staff_config

SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 720}
RESIDENT = "ada.resident@example.org"


def snap(page: Any, tmp_path: Path, name: str) -> None:
    """A full-page screenshot; into docs/screenshots with UPDATE_SCREENSHOTS=1 (make screenshots)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled")
    assert (folder / f"{name}.png").stat().st_size > 5000


class Desk:
    """A live gateway with DPW and DPR on the staff queue, an app key and the relay at hand."""

    def __init__(self, app: Flask, root: str) -> None:
        self.app, self.root, self.api = app, root, root + "open311/v2/"
        self.gateway: Services = app.extensions["open311"]
        with self.gateway.session() as session:
            self.key = create_key(session, "lacounty.gov", "app", self.gateway.clock())[1]

    def report(self, **extra: str) -> str:
        reply = requests.post(f"{self.api}requests.json", timeout=10, data={
            **GRAFFITI, "api_key": self.key, "email": RESIDENT, "first_name": "Ada", **extra})
        assert reply.status_code == 200, reply.text
        Relay(self.gateway, self.gateway.policies.delivery).run(once=True)
        return str(reply.json()[0]["service_request_id"])


@pytest.fixture
def desk(make_app: Any, tmp_path: Path) -> Iterator[Desk]:
    app = make_app(staff_config(tmp_path), OPEN311_WEBAPP_TILE_URL="", OPEN311_STAFF_INSECURE_COOKIE=0)
    with serve(app) as api:
        yield Desk(app, api.removesuffix("open311/v2"))


def login(page: Any, root: str, email: str) -> None:
    page.goto(f"{root}staff/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/staff/(delivery)?(\?.*)?$"))


@pytest.mark.slow
def test_a_supervisor_assigns_and_closes_a_report_with_a_photo(browser: Any, desk: Desk, tmp_path: Path) -> None:
    rid = desk.report()
    other = desk.report(description="A second tag, round the corner")
    make_account(desk.gateway, "ann@dpw.example.gov")
    with desk.gateway.session() as session:
        setup = create_account(session, jurisdiction_id="lacounty.gov", department="DPW", email="sue@dpw.example.gov",
                               role="supervisor", now=desk.gateway.clock())
    context = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.goto(f"{desk.root}staff/setup/{setup.token}")
    check_accessibility(page, "set-up page")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.wait_for_url(re.compile(r"/staff/login\?done=password"))
    check_accessibility(page, "login page after set-up")
    snap(page, tmp_path, "staff-login")
    page.get_by_label("E-mail address").fill("sue@dpw.example.gov")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert "wrong" in page.get_by_role("alert").inner_text()
    check_accessibility(page, "login page with an error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    cookie = next(c for c in context.cookies() if c["name"] == "open311_staff")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"  # kept over http://127.0.0.1
    page.wait_for_selector(".leaflet-marker-icon")
    check_accessibility(page, "queue with a map")
    snap(page, tmp_path, "staff-queue")
    page.get_by_label("Service").select_option("DPW-GRAFFITI")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"service_code=DPW-GRAFFITI"))
    page.get_by_role("link", name=f"#{rid}", exact=True).click()
    page.wait_for_url(re.compile(rf"/staff/requests/{rid}$"))
    check_accessibility(page, "request page")
    assert RESIDENT not in page.content()
    page.get_by_role("link", name="Show contact details").click()
    assert RESIDENT in page.content()
    check_accessibility(page, "request page with contact details")
    page.get_by_label("Person").select_option(label="ann@dpw.example.gov (agent)")
    page.get_by_role("button", name="Assign").click()
    assert page.get_by_role("status").inner_text() == "The request is assigned."
    page.get_by_label("Status", exact=True).select_option("COMPLETED")
    page.get_by_label("Reason, when it closes the request").select_option("fixed")
    page.get_by_label("Public note (optional)").first.fill("Painted over this morning")
    page.get_by_label("Closure photo (optional, JPEG, PNG or WebP)").set_input_files(
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((320, 240))}])
    page.get_by_role("button", name="Set the status").click()
    assert page.get_by_role("status").inner_text() == "The status is set."
    check_accessibility(page, "request page after closing")
    snap(page, tmp_path, "staff-request")
    public = requests.get(f"{desk.api}requests/{rid}.json?extensions=true", timeout=10).json()[0]
    assert public["status"] == "closed" and public["status_notes"] == "Painted over this morning"
    assert public["extended_attributes"]["closure_code"] == "fixed"
    updates = [u for u in requests.get(f"{desk.api}servicerequestupdates.json", timeout=10).json()
               if u["service_request_id"] == rid]
    assert [u["external_status_code"] for u in updates] == ["ASSIGNED", "COMPLETED"]
    photo = requests.get(updates[-1]["media_url"], timeout=10)
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    # a closure without a reason: the page says why (400), nothing is recorded
    page.goto(f"{desk.root}staff/requests/{other}")
    page.get_by_label("Status", exact=True).select_option("CLOSED")
    page.get_by_role("button", name="Set the status").click()
    assert "choose a reason" in page.get_by_role("alert").inner_text()
    check_accessibility(page, "request page with a problem")
    for url, where in ((f"staff/requests/{10**9}", "404 page"), ("staff/?status=closed&service_code=DPW-POTHOLE",
                       "queue without results"), ("staff/?sla=bogus", "queue with a filter problem")):
        page.goto(desk.root + url)
        check_accessibility(page, where)
    context.close()


@pytest.mark.slow
def test_phone_width_keyboard_only_without_leaflet_and_the_dashboard(browser: Any, desk: Desk,
                                                                     tmp_path: Path) -> None:
    rid = desk.report()
    dead = desk.report(description="stuck")
    with desk.gateway.session() as session, session.begin():
        session.execute(update(OutboxMessage).where(OutboxMessage.request_id == int(dead))
                        .values(state="dead", attempts=30, last_error="gave up after 30 attempts: HTTP 503"))
    make_account(desk.gateway, "ann@dpw.example.gov")
    make_account(desk.gateway, "ops@example.gov", role="operator", department=None)
    phone = browser.new_context(viewport=PHONE, locale="en-US", bypass_csp=True)
    page = phone.new_page()
    login(page, desk.root, "ann@dpw.example.gov")
    check_accessibility(page, "queue at 320 px")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wider_than(page, PHONE["width"])
    snap(page, tmp_path, "staff-queue-phone")
    page.goto(f"{desk.root}staff/requests/{rid}")
    check_accessibility(page, "request page at 320 px")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wider_than(page, PHONE["width"])
    phone.close()
    # keyboard only: log in and set a status without a click
    keys = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = keys.new_page()
    page.goto(f"{desk.root}staff/login")
    page.keyboard.press("Tab")   # the skip link comes first, and shows when focused
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.id") != "email":
        page.keyboard.press("Tab")
    page.keyboard.type("ann@dpw.example.gov")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/$"))
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == f"#{rid}":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/staff/requests/{rid}$"))
    page.focus("#status")
    page.keyboard.type("IN_PROGRESS")   # type-ahead picks the option
    assert page.evaluate("document.getElementById('status').value") == "IN_PROGRESS"
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.textContent") != "Set the status":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"done=status"))
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline in ("solid", "auto", "none")
    keys.close()
    public = requests.get(f"{desk.api}requests/{rid}.json", timeout=10).json()[0]
    assert public["status"] == "open"
    updates = [u for u in requests.get(f"{desk.api}servicerequestupdates.json", timeout=10).json()
               if u["service_request_id"] == rid]
    assert [u["external_status_code"] for u in updates] == ["IN_PROGRESS"]
    # without Leaflet the queue still lists everything, and stays clean for axe
    bare = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = bare.new_page()
    page.route("**/vendor/leaflet/**", lambda route: route.abort())
    login(page, desk.root, "ann@dpw.example.gov")
    assert page.locator("#map").is_hidden() and page.get_by_role("link", name=f"#{rid}", exact=True).is_visible()
    check_accessibility(page, "queue without Leaflet")
    bare.close()
    # the operators' dashboard, with a dead letter and its retry button
    ops = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = ops.new_page()
    login(page, desk.root, "ops@example.gov")
    assert "gave up after 30 attempts" in page.content()
    check_accessibility(page, "delivery dashboard")
    snap(page, tmp_path, "staff-delivery")
    page.get_by_role("button", name=re.compile(r"Retry outbox message")).click()
    assert "1 dead letter(s) put back" in page.get_by_role("status").inner_text()
    check_accessibility(page, "delivery dashboard after a retry")
    ops.close()
