"""Whole reports in Spanish, Arabic (right to left) and Chinese in Debian's chromium: the interface, the catalog,
the County's own names and the gateway's referral all in the chosen language, and axe-core clean (any impact)
at each step: search, referral, the filled-in form, the confirmation, Status and Locate."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask

from tests.e2e.conftest import check_accessibility

MOBILE = {"width": 412, "height": 915}
EAST_LA_ADDRESS = "4801 E 3rd St"                       # gazetteer: unincorporated East Los Angeles
PASADENA_ADDRESS = "100 N Garfield Ave, Pasadena"       # a city with its own public works: a referral

# language, what a resident types to find a pothole, the Spanish/Arabic/Chinese name the catalog gives it
CASES = [
    ("es", "bache", "Bache", "ltr"),
    ("ar", "حفرة", "حفرة في الطريق", "rtl"),
    ("zh-Hans", "坑洞", "路面坑洞", "ltr"),
]


def open_app(browser: Any, root: str, locale: str, viewport: dict[str, int] = MOBILE) -> tuple[Any, Any, list[str]]:
    """A new browser context on the web app, ready; the page's uncaught errors are collected in the list."""
    context = browser.new_context(viewport=viewport, locale=locale, bypass_csp=True)  # bypass: to inject axe
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    page.goto(root)
    page.wait_for_selector("body[data-ready=true]", state="attached")
    return context, page, errors


def answer_required_questions(page: Any) -> None:
    """Pick the first real answer of every required list question (the texts are the language's)."""
    page.evaluate("""() => {
        for (const select of document.querySelectorAll('#questions select')) {
            if (select.required || select.getAttribute('aria-required') === 'true') {
                select.value = select.options[1].value;
                select.dispatchEvent(new Event('change', {bubbles: true}));
            }
        }
    }""")


@pytest.mark.parametrize(("lang", "query", "name", "direction"), CASES, ids=[c[0] for c in CASES])
def test_a_whole_report_in_the_residents_language(browser: Any, live_gateway: tuple[Flask, str], lang: str,
                                                   query: str, name: str, direction: str) -> None:
    app, root = live_gateway
    api = f"{root}open311/v2/"
    english = app.extensions["open311"].config.jurisdictions["lacounty.gov"]
    context, page, errors = open_app(browser, root, lang)
    # the browser's language chose the interface (zh-Hans from a zh-Hans browser), with its direction
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == [lang, direction]
    header = page.locator("#jurisdiction-name").inner_text()
    assert header and header != english.name        # "County of Los Angeles" in the language
    assert english.name not in page.title()
    check_accessibility(page, f"{lang}: start")

    # search in the language: the pothole comes first
    page.fill("#service-search", query)
    first = page.locator(".service-option").first
    assert first.get_attribute("data-code") == "DPW-POTHOLE"
    assert first.locator(".service-name").inner_text() == name
    first.click()

    # a place the County does not serve: the form stops at the location step with the agency's contact
    page.fill("#request-address", PASADENA_ADDRESS)
    page.press("#request-address", "Enter")
    availability = page.locator("#availability")
    availability.locator("strong").wait_for()
    assert page.locator("#details-step").is_hidden() and page.locator("#submit").is_hidden()
    assert availability.locator("a[href^='tel:']").count() == 1
    assert "City of Pasadena" not in availability.inner_text()   # the agency's name is translated too
    check_accessibility(page, f"{lang}: referral")

    # a served place: the form opens again
    page.fill("#request-address", EAST_LA_ADDRESS)
    page.press("#request-address", "Enter")
    page.wait_for_function("() => document.querySelector('#availability').classList.contains('notice-ok')")
    assert page.locator("#submit").is_visible() and page.locator("#submit").is_enabled()
    page.locator("#questions select").first.wait_for()
    answer_required_questions(page)
    page.fill("#description", "Deep hole in the right lane")
    check_accessibility(page, f"{lang}: filled in")

    page.click("#submit")
    page.locator("#done-id").wait_for()
    request_id = page.locator("#done-id").inner_text()
    done = page.locator("#request-done").inner_text()
    assert ".." not in done                       # the expected date is not followed by a second full stop
    stored = requests.get(f"{api}requests/{request_id}.json", timeout=10).json()[0]
    assert stored["service_code"] == "DPW-POTHOLE"
    check_accessibility(page, f"{lang}: done")

    # Status lists it under its name in the language, with the department's name translated
    page.click("[data-screen=status]")
    card = page.locator(f".card[data-id='{request_id}']")
    card.wait_for()
    assert name in card.inner_text()
    card.locator("summary").click()
    assert english.departments["DPW"].name not in card.inner_text()
    check_accessibility(page, f"{lang}: status")

    # Locate: the results are all within the map's view
    page.click("[data-screen=locate]")
    page.fill("#locate-address", EAST_LA_ADDRESS)
    page.press("#locate-address", "Enter")
    page.locator("#facility-list .card").first.wait_for()
    page.wait_for_timeout(400)   # the map's fit animation
    outside = page.evaluate("""() => {
        const box = document.querySelector('#locate-map').getBoundingClientRect();
        const markers = [...document.querySelectorAll('#locate-map path.leaflet-interactive')];
        return [markers.length, markers.filter(m => { const r = m.getBoundingClientRect();
            return r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom; }).length];
    }""")
    cards = page.locator("#facility-list .card").count()
    assert outside == [cards, 0], (outside, cards)   # every result is on the map, inside its view
    check_accessibility(page, f"{lang}: locate")
    assert errors == []
    context.close()


def test_a_language_switch_translates_what_is_on_screen(browser: Any, live_gateway: tuple[Flask, str]) -> None:
    _, root = live_gateway
    context, page, errors = open_app(browser, root, "en-US")
    page.click("#submit")                                     # nothing chosen: the page's own messages
    page.locator("#request-errors li").first.wait_for()
    english = page.locator("#request-errors").inner_text()
    page.select_option("#language", "es")
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    page.wait_for_function("() => document.querySelector('#request-errors').textContent"
                           ".includes('Elija cuál es el problema.')")
    assert "Choose what the problem is." in english
    assert page.locator("#jurisdiction-name").inner_text() == "Condado de Los Ángeles"
    assert "County of Los Angeles" not in page.title()
    page.select_option("#language", "ar")
    page.wait_for_function("() => document.documentElement.dir === 'rtl'")
    check_accessibility(page, "ar: errors after a switch")
    assert errors == []
    context.close()


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (the keyboard is the only input)."""
    for _ in range(limit):
        if page.evaluate("(s) => Boolean(document.activeElement?.matches(s))", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def focus_is_visible(page: Any) -> bool:
    """The focused element shows the focus ring (an outline, or the outline of its active option)."""
    return bool(page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    }"""))


def test_a_whole_report_by_keyboard_alone_without_the_map(browser: Any, live_gateway: tuple[Flask, str]) -> None:
    _, root = live_gateway
    api = f"{root}open311/v2/"
    context, page, errors = open_app(browser, root, "en-US")

    tab_to(page, "#service-search")
    assert focus_is_visible(page)
    page.keyboard.type("pothole")
    page.locator(".service-option[data-code=DPW-POTHOLE]").wait_for()
    tab_to(page, ".service-option")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    assert page.locator("#chosen-name").inner_text() == "Pothole"

    # the place: an intersection typed in the other order, chosen among the suggestions with the arrow keys
    tab_to(page, "#request-address")
    page.keyboard.type("Atlantic and Whittier")
    page.locator("#request-suggestions li").first.wait_for()
    assert page.get_attribute("#request-address", "aria-expanded") == "true"
    assert "suggestion" in page.locator("#request-suggest-status").inner_text()
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#request-address", "aria-activedescendant")
    assert active and page.get_attribute(f"#{active}", "aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#availability').classList.contains('notice-ok')")
    assert "Whittier Blvd & S Atlantic Blvd" in page.locator("#request-summary").inner_text()
    assert page.get_attribute("#request-address", "aria-expanded") == "false"

    # the questions: each required list answered with the arrow keys, then Submit with Enter
    for _ in range(40):
        tab_to(page, "#questions select, #submit")
        if page.evaluate("() => document.activeElement.id") == "submit":
            break
        assert focus_is_visible(page)
        if page.evaluate("() => document.activeElement.value === ''"):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "submit"
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.locator("#done-id").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "request-done"   # the confirmation has the focus
    request_id = page.locator("#done-id").inner_text()
    stored = requests.get(f"{api}requests/{request_id}.json", timeout=10).json()[0]
    assert stored["service_code"] == "DPW-POTHOLE"
    assert abs(stored["lat"] - 34.0233) < 1e-4 and abs(stored["long"] + 118.1545) < 1e-4
    check_accessibility(page, "keyboard: done")
    assert errors == []
    context.close()


def overflowing(page: Any, width: int) -> list[str]:
    """Elements that stick out past `width` CSS pixels, but for the map's own panes (clipped by the map's box)."""
    found: list[str] = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.leaflet-container') && e.getClientRects().length
                     && e.getBoundingClientRect().right > width + 1)
        .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 8)""", width)
    return found


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_screens_reflow_at_320_px_and_at_200_percent_text(browser: Any, live_gateway: tuple[Flask, str],
                                                               lang: str) -> None:
    _, root = live_gateway
    context, page, errors = open_app(browser, root, lang, {"width": 320, "height": 640})
    page.fill("#service-search", "pothole" if lang == "en" else "حفرة")
    page.locator(".service-option").first.click()
    page.fill("#request-address", PASADENA_ADDRESS)
    page.press("#request-address", "Enter")
    page.locator("#availability strong").wait_for()
    states = {"referral": None, "served": EAST_LA_ADDRESS}
    for state, address in states.items():
        if address:
            page.fill("#request-address", address)
            page.press("#request-address", "Enter")
            page.wait_for_function("() => document.querySelector('#availability').classList.contains('notice-ok')")
        # 320 CSS px: a 1280 px window at 400 % zoom (WCAG 1.4.10)
        page.evaluate("() => { document.documentElement.style.fontSize = ''; }")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, state
        assert overflowing(page, 320) == [], (lang, state)
        # 200 % text (WCAG 1.4.4) on a 640 px wide window: still no sideways scrolling, nothing cut off
        page.set_viewport_size({"width": 640, "height": 900})
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 640, state
        assert overflowing(page, 640) == [], (lang, state)
        page.set_viewport_size({"width": 320, "height": 640})
    for screen in ("status", "locate"):
        page.click(f"[data-screen={screen}]")
        page.evaluate("() => { document.documentElement.style.fontSize = ''; }")
        assert overflowing(page, 320) == [], (lang, screen)
    assert errors == []
    context.close()
