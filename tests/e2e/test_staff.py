"""The staff work queue in a real browser (Debian's Chromium): a resident's report reaches the queue through the
relay, a supervisor made with `open311 staff create` sets a password at its set-up link, logs in, filters the
queue, assigns the request and closes it with a reason and a photo, and the public API shows it. axe-core finds
no violation of any impact on any staff page or state, at 1280 px and at 320 px (where nothing sticks out
either); every Tab stop shows its focus; one pass uses the keyboard alone; the map's markers are reachable by
keyboard, and the pages work the same without Leaflet."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, update

from open311.cli import main
from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import OutboxMessage
from tests.conftest import ROOT
from tests.delivery import seed_requests
from tests.e2e.conftest import axe_violations, wider_than
from tests.helpers import GRAFFITI
from tests.images import jpeg_with_gps
from tests.integration.live import serve
from tests.staff.helpers import PASSWORD, deliver_all, make_account, staff_config

SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}
WIDTHS = (DESKTOP, PHONE)
SUPERVISOR = "sue@dpw.example.gov"
AGENT = "ann@dpw.example.gov"
NEW_PASSWORD = "a long pass phrase for Sue"
POTHOLE = {"service_code": "DPW-POTHOLE", "lat": "34.0389", "long": "-118.1650", "attribute[size]": "lt_1ft",
           "attribute[position]": "travel_lane", "attribute[depth]": "shallow",
           "description": "Pothole in the right lane"}
CONTACT = {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace", "phone": "555-0100"}


@dataclass
class Desk:
    """A live gateway with DPW and DPR on the staff queue, its API key and root URL."""

    app: Flask
    root: str          # http://127.0.0.1:PORT/
    key: str
    tmp_path: Path

    @property
    def gateway(self) -> Services:
        found: Services = self.app.extensions["open311"]
        return found

    @property
    def api(self) -> str:
        return f"{self.root}open311/v2/"

    def report(self, form: dict[str, str], **extra: str) -> str:
        """A resident's report with contact details through the public API; the relay delivers it."""
        posted = requests.post(f"{self.api}requests.json", data={**form, **CONTACT, "api_key": self.key, **extra},
                               timeout=10)
        assert posted.status_code == 200, posted.text
        deliver_all(self.gateway)
        return str(posted.json()[0]["service_request_id"])


@pytest.fixture
def desk(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[Desk]:
    """The staff queue's gateway on a loopback port (no map tiles: the machine has no internet)."""
    app = make_app(staff_config(tmp_path), OPEN311_WEBAPP_TILE_URL="", OPEN311_STAFF_INSECURE_COOKIE=0)
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "resident app", gateway.clock(), rate_limit="10000/minute")
    with serve(app) as api:
        yield Desk(app, api.removesuffix("open311/v2"), key, tmp_path)


def new_page(browser: Any, viewport: dict[str, int] = DESKTOP) -> tuple[Any, list[str]]:
    """A page of a fresh context (bypass_csp: to inject axe) and the list its script errors go to."""
    context = browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def check_accessibility(page: Any, where: str) -> None:
    """axe finds nothing at desktop width nor at 320 px, where the page reflows (no sideways scrolling);
    the page is left at desktop width."""
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        found = axe_violations(page)
        assert found == [], f"{where} at {viewport['width']} px: {found}"
    width = PHONE["width"]
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (where, wider_than(page, width))
    page.set_viewport_size(DESKTOP)


def snap(page: Any, name: str, tmp_path: Path) -> None:
    """A full-page screenshot; into docs/screenshots with UPDATE_SCREENSHOTS=1 (kept well under 300 KB)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled")
    assert 5000 < (folder / f"{name}.png").stat().st_size < 300_000


def focused(page: Any) -> dict[str, Any]:
    """The focused element (tag, id, class, text) and whether it shows a focus ring of at least 2 px."""
    found: dict[str, Any] = page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
        return {tag: el.tagName.toLowerCase(), id: el.id, cls: String(el.className || ''), ring: ring,
                text: (el.innerText || el.value || el.alt || '').slice(0, 40), body: el === document.body};
    }""")
    return found


def every_tab_stop(page: Any, limit: int = 120) -> list[dict[str, Any]]:
    """Tab from the skip link (the first stop) through every stop until the focus leaves the page; each shows
    its focus."""
    page.focus("a.skip")
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["body"]:
            return stops
        assert now["ring"], f"no visible focus on {now}"
        stops.append(now)
    raise AssertionError(f"more than {limit} Tab stops: {stops[-3:]}")


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus; every element on the way shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["ring"], f"no visible focus on {now}"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus by Tab")


def create_supervisor(desk: Desk) -> str:
    """`open311 staff create` against the live gateway's database; returns the set-up link (its last line)."""
    env = {"OPEN311_CONFIG": desk.app.config["OPEN311_CONFIG"],
           "OPEN311_DATABASE_URL": desk.app.config["OPEN311_DATABASE_URL"],
           "OPEN311_INTAKE_DIR": str(desk.tmp_path / "intake"), "OPEN311_PUBLIC_URL": desk.root.rstrip("/")}
    result = CliRunner().invoke(main, ["staff", "create", "--email", SUPERVISOR, "--role", "supervisor",
                                       "--department", "DPW"], env=env)
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith(f"{desk.root}staff/setup/"), link
    return link


def type_into(page: Any, selector: str, text: str) -> None:
    """Click a field and type into it, as a person does."""
    page.click(selector)
    page.keyboard.type(text)


@pytest.mark.slow
def test_a_report_is_assigned_and_closed_with_a_photo_by_a_supervisor(browser: Any, desk: Desk) -> None:
    graffiti = desk.report(GRAFFITI)
    pothole = desk.report(POTHOLE)
    link = create_supervisor(desk)
    make_account(desk.gateway, AGENT)
    page, errors = new_page(browser)

    # the set-up link: a password that differs from its confirmation first, then the same one twice
    page.goto(link)
    check_accessibility(page, "set-up link")
    type_into(page, "#password", NEW_PASSWORD)
    type_into(page, "#confirm", NEW_PASSWORD + "!")
    page.click("text=Set the password")
    assert "The two passwords differ." in page.locator("[role=alert]").inner_text()
    check_accessibility(page, "set-up link, passwords differ")
    type_into(page, "#password", NEW_PASSWORD)
    type_into(page, "#confirm", NEW_PASSWORD)
    page.click("text=Set the password")
    page.wait_for_url("**/staff/login?done=password")
    assert "Your password is set" in page.locator("[role=status]").inner_text()
    check_accessibility(page, "login after set-up")

    # a wrong password, then the right one
    type_into(page, "#email", SUPERVISOR)
    type_into(page, "#password", "not the password")
    page.keyboard.press("Enter")
    assert "wrong" in page.locator("#login-problem").inner_text()
    check_accessibility(page, "login, wrong password")
    page.fill("#password", "")
    type_into(page, "#password", NEW_PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{desk.root}staff/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "open311_staff")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"   # kept over http://127.0.0.1

    # the queue: both reports, on the map too; the service filter leaves the graffiti
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    page.locator("#map .leaflet-marker-icon").nth(1).wait_for()
    assert page.locator("#map .leaflet-marker-icon").count() == 2
    check_accessibility(page, "queue with results and map")
    stops = every_tab_stop(page)   # the markers are Tab stops too (Leaflet makes them buttons)
    assert sum("leaflet-marker-icon" in stop["cls"] for stop in stops) == 2, stops
    assert any(stop["text"] == f"#{graffiti}" for stop in stops)
    page.set_viewport_size(PHONE)
    snap(page, "staff-queue-phone", desk.tmp_path)
    page.set_viewport_size(DESKTOP)
    page.select_option("#f-service", "DPW-GRAFFITI")
    page.click("button:has-text('Show')")
    page.wait_for_url("**service_code=DPW-GRAFFITI**")
    assert rows.count() == 1 and f"#{graffiti}" in rows.first.inner_text() and f"#{pothole}" not in page.content()
    check_accessibility(page, "queue filtered")
    snap(page, "staff-queue", desk.tmp_path)

    # the request: contact details on demand, assigned to the agent, closed with a reason and a photo
    page.click(f"a:has-text('#{graffiti}')")
    page.wait_for_url(f"**/staff/requests/{graffiti}")
    page.locator("#map .leaflet-marker-icon").wait_for()
    assert page.locator("#map .leaflet-marker-icon").get_attribute("alt") == f"Request {graffiti}: Graffiti Abatement"
    assert "ada@example.org" not in page.content()
    check_accessibility(page, "request page")
    page.click("#show-contact")
    assert "ada@example.org" in page.locator("section[aria-labelledby=h-contact]").inner_text()
    check_accessibility(page, "request page with contact details")
    page.select_option("#assignee", label=f"{AGENT} (agent)")
    page.click("button:has-text('Assign')")
    assert page.locator("[role=status]").inner_text() == "The request is assigned."
    page.select_option("#status", "CLOSED")
    page.click("button:has-text('Set the status')")   # no reason: refused, with the request page and a message
    assert "choose a reason" in page.locator("#problems").inner_text()
    check_accessibility(page, "request page after a refused action (400)")
    page.select_option("#status", "CLOSED")
    page.select_option("#closure_code", "fixed")
    type_into(page, "#status-note", "Painted over")
    page.set_input_files("#photo", files=[{"name": "after.jpg", "mimeType": "image/jpeg",
                                           "buffer": jpeg_with_gps((320, 240))}])
    page.click("button:has-text('Set the status')")
    assert page.locator("[role=status]").inner_text() == "The status is set."
    thumb = page.locator(".history img.thumb")
    thumb.wait_for()
    page.wait_for_function("() => document.querySelector('.history img.thumb').naturalWidth > 0")
    check_accessibility(page, "request page after closing")
    assert len(every_tab_stop(page)) > 15
    snap(page, "staff-request", desk.tmp_path)

    # the public API: closed, with its reason, and the photo in the update feed
    found = requests.get(f"{desk.api}requests/{graffiti}.json?extensions=true", timeout=10).json()[0]
    assert found["status"] == "closed" and found["status_notes"] == "Painted over"
    assert found["extended_attributes"]["closure_code"] == "fixed"
    updates = [u for u in requests.get(f"{desk.api}servicerequestupdates.json?extensions=true", timeout=10).json()
               if u["service_request_id"] == graffiti]
    assert [u["external_status_code"] for u in updates] == ["ASSIGNED", "CLOSED"]
    photo_url = updates[-1]["media_url"]
    assert photo_url and photo_url.startswith(f"{desk.root}media/")
    assert thumb.get_attribute("src") == photo_url
    served = requests.get(photo_url, timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.content[:3] == b"\xff\xd8\xff"

    # the queue with no results, and with a filter it does not know
    page.goto(f"{desk.root}staff/?service_code=DPW-GRAFFITI")
    assert "No request matches." in page.locator("main").inner_text()
    check_accessibility(page, "queue, no results")
    page.goto(f"{desk.root}staff/?sla=bogus")
    assert page.locator(".problem[role=alert] li").count() == 1
    check_accessibility(page, "queue, a filter problem")
    page.goto(f"{desk.root}staff/requests/{10**9}")
    assert page.locator("h1").inner_text() == "Not found"
    check_accessibility(page, "404 page")
    assert errors == []
    page.context.close()


def seed_dead_letter(gateway: Services) -> int:
    """A Public Health ticket its back office kept refusing: a dead letter in the outbox."""
    (request_id,) = seed_requests(gateway, 1, "DPH")
    with gateway.session() as session, session.begin():
        session.execute(update(OutboxMessage).where(OutboxMessage.request_id == request_id)
                        .values(state="dead", attempts=30, last_error="gave up after 30 attempts: HTTP 503"))
        return int(session.scalars(select(OutboxMessage.id).where(OutboxMessage.request_id == request_id)).one())


@pytest.mark.slow
def test_the_delivery_dashboard_shows_a_dead_letter_and_retries_it(browser: Any, desk: Desk) -> None:
    desk.report(GRAFFITI)
    dead = seed_dead_letter(desk.gateway)
    make_account(desk.gateway, "otto@lacounty.example.gov", role="operator", department=None)
    page, errors = new_page(browser)
    page.goto(f"{desk.root}staff/")
    assert "/staff/login?next=" in page.url
    type_into(page, "#email", "otto@lacounty.example.gov")
    type_into(page, "#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{desk.root}staff/delivery")   # an operator's first page
    figures = {row.locator("th").inner_text(): row.locator("td").all_inner_texts()
               for row in page.locator("table.figures tbody tr").all()}
    assert figures["DPW"][4] == "1" and figures["DPH"][5].startswith("1")   # delivered (24 h), dead letters
    assert page.locator("table.dead tbody tr").count() == 1
    assert "HTTP 503" in page.locator("table.dead").inner_text()
    check_accessibility(page, "delivery dashboard with a dead letter")
    snap(page, "staff-delivery", desk.tmp_path)
    page.click(f"button[aria-label='Retry outbox message {dead}']")
    assert page.locator("[role=status]").inner_text() == "1 dead letter(s) put back in the queue."
    assert "No dead letters." in page.locator("main").inner_text()
    check_accessibility(page, "delivery dashboard after a retry")
    # the checker does find problems: an image without a text alternative
    page.evaluate("document.querySelector('main').append(Object.assign(new Image(), {src: 'data:,'}))")
    assert any(v.startswith("image-alt") for v in axe_violations(page))
    assert errors == []
    page.context.close()


@pytest.mark.slow
def test_keyboard_alone_logs_in_and_sets_a_status_without_leaflet(browser: Any, desk: Desk) -> None:
    rid = desk.report(GRAFFITI)
    make_account(desk.gateway, AGENT)
    page, errors = new_page(browser)
    page.context.route("**/vendor/leaflet/**", lambda route: route.abort())   # the map's library is absent
    page.goto(f"{desk.root}staff/login")
    check_accessibility(page, "login")
    snap(page, "staff-login", desk.tmp_path)
    tab_to(page, "#email")
    page.keyboard.type(AGENT)
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{desk.root}staff/")
    assert page.locator("#map").is_hidden() and page.locator("table.queue tbody tr").count() == 1
    check_accessibility(page, "queue without Leaflet")

    tab_to(page, f"a[href='/staff/requests/{rid}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/requests/{rid}")
    assert page.locator("#map").is_hidden()
    check_accessibility(page, "request page without Leaflet")
    page.keyboard.press("Tab")   # the skip link comes first and takes the focus to the content
    assert focused(page)["text"] == "Skip to the content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    tab_to(page, "#status")
    page.keyboard.type("IN")     # type-ahead in the closed select
    assert page.input_value("#status") == "IN_PROGRESS"
    tab_to(page, "form[action$='/status'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/requests/{rid}?done=status")
    assert page.locator("[role=status]").inner_text() == "The status is set."
    updates = [u for u in requests.get(f"{desk.api}servicerequestupdates.json", timeout=10).json()
               if u["service_request_id"] == rid]
    assert [(u["status"], u["external_status_code"]) for u in updates] == [("open", "IN_PROGRESS")]
    assert errors == []
    page.context.close()
