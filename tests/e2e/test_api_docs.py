"""The API docs page in a real Chromium with every other host blocked: Swagger UI renders every operation.

Any request to a host other than the gateway is aborted and recorded, and any console error (a
Content-Security-Policy violation included) is recorded; the page must need neither.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests import databases
from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path
from tests.integration.live import serve

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def test_docs_page_renders_every_operation_offline(make_app: Callable[..., Flask]) -> None:
    if databases.postgres_url():
        pytest.skip("the end-to-end tests run once, in the SQLite pass")
    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    app = make_app()
    spec = app.test_client().get("/openapi.json").get_json()
    operations = sum(1 for item in spec["paths"].values() for method in item if method in METHODS)
    blocked: list[str] = []
    errors: list[str] = []
    with serve(app) as api, sync_playwright() as playwright:
        root = api.removesuffix("open311/v2")
        origin = urlsplit(root).netloc
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page()

            def only_the_gateway(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if urlsplit(url).netloc == origin:
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    blocked.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_the_gateway)
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(root + "docs", wait_until="load")
            page.wait_for_selector(".opblock", timeout=30_000)
            rendered = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
        finally:
            browser.close()
    assert blocked == []
    assert errors == []
    assert rendered == operations
    assert spec["info"]["title"] in title
