"""HTTP edges the app answers itself: a failed If-Match and a doubled slash get the spec's error list."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from open311.georeport.http_cache import PRECONDITION_FAILED
from tests.api.test_photos import extended, post
from tests.helpers import errors_of, json_of
from tests.images import png_with_text

FORMATS = ("xml", "json")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["services.{fmt}", "requests.{fmt}", "discovery.{fmt}"])
def test_failed_if_match_is_an_error_list_not_the_document(client: FlaskClient, fmt: str, path: str) -> None:
    url = "/open311/v2/" + path.format(fmt=fmt)
    current = client.get(url)
    assert current.status_code == 200 and current.headers["ETag"]
    for sent in ("junk", '"not-the-etag"', 'W/"old", "older"'):
        r = client.get(url, headers={"If-Match": sent})
        assert r.status_code == 412, sent
        assert errors_of(r, fmt) == [(412, PRECONDITION_FAILED)]
        assert r.headers["ETag"] == current.headers["ETag"]
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert current.get_data() not in r.get_data()
    # the current ETag (or *) still passes, and If-None-Match still gives its 304
    assert client.get(url, headers={"If-Match": current.headers["ETag"]}).status_code == 200
    assert client.get(url, headers={"If-Match": "*"}).status_code == 200
    assert client.get(url, headers={"If-None-Match": current.headers["ETag"]}).status_code == 304


def test_failed_if_match_on_photos_and_the_web_app_is_an_error_list(client: FlaskClient, api_key: str) -> None:
    reply = post(client, api_key, files={"media": (png_with_text(), "a.png")})
    photo = extended(client, json_of(reply)[0]["service_request_id"])["media_url"].removeprefix("http://localhost")
    for url in (photo, "/"):
        current = client.get(url)
        assert current.status_code == 200
        r = client.get(url, headers={"If-Match": "junk"})
        assert r.status_code == 412, url
        assert errors_of(r, "xml") == [(412, PRECONDITION_FAILED)]
        assert r.headers["ETag"] == current.headers["ETag"] and current.get_data() not in r.get_data()
        assert client.get(url, headers={"If-Match": "*"}).status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
# (A path starting with // would be read as a host name by the test client: tests/integration/test_server_edges.py
# sends those to the real server.)
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/open311/v2//services.{fmt}"), ("GET", "/open311//v2/requests.{fmt}"),
    ("POST", "/open311/v2//requests.{fmt}"), ("GET", "/open311/v2/services//001.{fmt}"),
    ("GET", "/open311/v2/requests//1.{fmt}"),
])
def test_doubled_slash_is_an_error_list_not_a_redirect(client: FlaskClient, method: str, path: str,
                                                       fmt: str) -> None:
    r = client.open(path.format(fmt=fmt), method=method)
    assert r.status_code == 404, r.headers.get("Location")
    assert "Location" not in r.headers
    [(code, _)] = errors_of(r, fmt)
    assert code == 404
