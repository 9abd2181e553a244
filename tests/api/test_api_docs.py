"""/docs works with no internet: Swagger UI is served by the gateway itself, under a strict CSP."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from lxml import etree, html

# A URL with a scheme or a network location (`//host`) anywhere in the page's text.
EXTERNAL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://|(?<![:\w])//[\w.-]")
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _references(page: bytes) -> list[str]:
    """Every src and href of the page."""
    tree = html.fromstring(page)
    return [value for element in tree.iter() for name, value in element.attrib.items()
            if name in ("src", "href", "data-spec-url", "action", "srcset")]


def test_docs_page_names_no_other_host(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert EXTERNAL.search(response.get_data(as_text=True)) is None, response.get_data(as_text=True)
    references = _references(response.data)
    assert len(references) >= 4
    for url in references:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url


def test_every_file_the_page_references_is_served(client: FlaskClient) -> None:
    page = client.get("/docs")
    for url in _references(page.data):
        answer = client.get(url)
        assert answer.status_code == 200, url
        if "/assets/" in url:
            suffix = url[url.rindex("."):]
            assert answer.mimetype == TYPES[suffix], (url, answer.mimetype)
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert len(answer.data) > 0
        else:
            assert answer.get_json()["openapi"].startswith("3."), url


def test_docs_page_runs_under_a_strict_policy(client: FlaskClient) -> None:
    response = client.get("/docs")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no other host
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["Cache-Control"] == "no-cache"
    scripts = html.fromstring(response.data).findall(".//script")
    assert scripts and all(s.get("src") and not (s.text or "").strip() for s in scripts)


def test_docs_page_revalidates(client: FlaskClient) -> None:
    first = client.get("/docs")
    assert client.get("/docs", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_unknown_or_stale_asset_is_a_404(client: FlaskClient) -> None:
    asset = next(u for u in _references(client.get("/docs").data) if u.endswith("swagger-ui-bundle.js"))
    assert client.get(asset.replace("swagger-ui-bundle.js", "index.html")).status_code == 404
    assert client.get(asset.replace("/assets/", "/assets/0.0.0-").rsplit("/", 2)[0] + "/x/y").status_code == 404
    stale = re.sub(r"/assets/[^/]+/", "/assets/4.0.0-0000000000/", asset)
    answer = client.get(stale)
    assert answer.status_code == 404
    assert etree.fromstring(answer.data).findtext("error/code") == "404"  # the spec's error list
