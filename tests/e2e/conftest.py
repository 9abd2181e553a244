"""The web app in a real headless Chromium (Debian's `chromium`, driven by Playwright through
executable_path: no browser is downloaded), against a live gateway on a loopback port.

OPEN311_TEST_CHROMIUM names the browser and makes these tests required (.ci/run sets it); without
it they run when `chromium` is on the PATH and are skipped, saying so, when it is not. They run once,
in the SQLite pass: the web app is the same on either database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from open311.intake.keys import create_key
from tests import databases
from tests.conftest import ROOT
from tests.integration.live import serve

# The machine's closed network otherwise makes Chromium wait on update, sync and safe-browsing calls.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = ROOT / "webapp" / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str | None:
    """The browser to drive: OPEN311_TEST_CHROMIUM (required then), else chromium on the PATH."""
    named = os.environ.get("OPEN311_TEST_CHROMIUM")
    if named:
        if not Path(named).exists():
            pytest.fail(f"OPEN311_TEST_CHROMIUM={named} does not exist: apt-get install chromium")
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium for one test."""
    if databases.postgres_url():
        pytest.skip("the end-to-end tests run once, in the SQLite pass")
    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    if not AXE.exists():
        pytest.fail("webapp/node_modules is missing: run `make webapp` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def live_gateway(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, str]]:
    """The gateway with the web app (no map tiles: the machine has no internet), on a loopback port;
    yields the app and the root URL."""
    app = make_app(OPEN311_WEBAPP_TILE_URL="")
    gateway = app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "webapp", gateway.clock(), rate_limit="10000/minute")
    app.config["OPEN311_WEBAPP_API_KEY"] = key
    with serve(app) as api:
        yield app, api.removesuffix("open311/v2")


def axe_violations(page: Any) -> list[str]:
    """Every axe-core violation (all its rules: WCAG 2.0/2.1 A and AA, and best practices; any impact)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} `
            + `(${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join('; ')})`);
    }""")
    return found


def check_accessibility(page: Any, where: str) -> None:
    """axe-core finds no violation of any impact on the page as it is now."""
    found = axe_violations(page)
    assert found == [], f"{where}: {found}"


def wider_than(page: Any, width: int) -> list[str]:
    """The elements that stick out past `width` (a page must reflow without scrolling sideways)."""
    found: list[str] = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 8)""", width)
    return found
