"""OPEN311_PUBLIC_URL: no URL the gateway stores or publishes comes from the request's Host, and a Host it
does not answer to gets the spec's 400 (without the setting only loopback names are answered)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from open311.georeport.origin import UNTRUSTED
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.api.test_feed_extensions import add_update
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of
from tests.images import jpeg_with_gps

PUBLIC = "https://311.example.gov/gw"
INTERNAL = "gateway.internal"
API = "/open311/v2"
HOSTILE = ["evil.example", "evil.example:5000", "localhost.evil.example", "127.0.0.1.evil.example",
           "localhost@evil.example", "[::1"]


@pytest.fixture
def public_app(make_app: Callable[..., Flask]) -> Flask:
    """A gateway published at PUBLIC, also answering to an internal name (as a health probe would use)."""
    return make_app(OPEN311_PUBLIC_URL=PUBLIC + "/", OPEN311_ALLOWED_HOSTS=f"{INTERNAL.upper()}, .pods.internal")


@pytest.fixture
def public_key(public_app: Flask, api_key_factory: Callable[[Flask], str]) -> str:
    return api_key_factory(public_app)


def post(client: FlaskClient, key: str, host: str, fmt: str = "json") -> Any:
    """POST GRAFFITI with one photo under `host`."""
    return client.post(f"{API}/requests.{fmt}", data={**GRAFFITI, "media": [(io.BytesIO(jpeg_with_gps()), "w.jpg")]},
                       content_type="multipart/form-data", headers={"Authorization": f"Bearer {key}", "Host": host})


def stored(gateway: Services) -> int:
    with gateway.session() as session, session.begin():
        return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


@pytest.mark.parametrize("host", HOSTILE)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_untrusted_host_gets_the_spec_400_in_both_formats(client: FlaskClient, gateway: Services, api_key: str,
                                                            host: str, fmt: str) -> None:
    for response in (client.get(f"{API}/discovery.{fmt}", headers={"Host": host}),
                     client.get(f"{API}/requests.{fmt}", headers={"Host": host}),
                     post(client, api_key, host, fmt)):
        assert response.status_code == 400
        assert errors_of(response, fmt) == [(400, UNTRUSTED)]
        assert b"evil" not in response.data
    assert stored(gateway) == 0  # the POST was refused before anything was stored


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000", "app.localhost"])
def test_without_the_setting_loopback_names_are_answered_and_urls_follow_them(client: FlaskClient,
                                                                               host: str) -> None:
    endpoint, test = json_of(client.get(f"{API}/discovery.json", headers={"Host": host}))["endpoints"]
    assert endpoint["url"] == f"http://{host}{API}" and test["url"] == f"http://{host}/sandbox{API}"


@pytest.mark.parametrize(("host", "status"), [
    ("311.example.gov", 200), ("311.example.gov:443", 200), (INTERNAL, 200), (f"{INTERNAL}:8000", 200),
    ("web-1.pods.internal", 200), ("localhost", 400), ("127.0.0.1:5000", 400), ("evil.example", 400),
    ("pods.internal.evil.example", 400)])
def test_with_the_setting_only_its_host_and_the_allowed_ones_are_answered(public_app: Flask, host: str,
                                                                          status: int) -> None:
    response = public_app.test_client().get(f"{API}/discovery.json", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert errors_of(response, "json") == [(400, UNTRUSTED)]


@pytest.mark.parametrize("host", ["311.example.gov", INTERNAL])
def test_discovery_names_the_public_url_whatever_the_host(public_app: Flask, host: str) -> None:
    client = public_app.test_client()
    endpoint, test = json_of(client.get(f"{API}/discovery.json", headers={"Host": host}))["endpoints"]
    assert endpoint["url"] == PUBLIC + API and test["url"] == PUBLIC + "/sandbox" + API
    root = xml_of(client.get(f"{API}/discovery.xml", headers={"Host": host}))
    assert root.findtext("endpoints/endpoint/url") == PUBLIC + API


def test_paging_links_use_the_public_url(public_app: Flask, public_key: str) -> None:
    client = public_app.test_client()
    for _ in range(3):
        assert post(client, public_key, INTERNAL).status_code == 200
    response = client.get(f"{API}/requests.json?page_size=1&page=2", headers={"Host": INTERNAL})
    links = [part.split(">")[0].lstrip(" <") for part in response.headers["Link"].split(",")]
    assert len(links) == 3  # next, prev, first
    urls = [*links, response.headers["X-Next-Page-URL"], response.headers["X-Previous-Page-URL"]]
    assert all(url.startswith(f"{PUBLIC}{API}/requests.json?") for url in urls), urls
    followed = client.get(response.headers["X-Next-Page-URL"].removeprefix(PUBLIC), headers={"Host": INTERNAL})
    assert followed.status_code == 200 and len(json_of(followed)) == 1


def test_the_update_feed_cursor_link_uses_the_public_url(public_app: Flask, public_key: str) -> None:
    client = public_app.test_client()
    rid = json_of(post(client, public_key, INTERNAL))[0]["service_request_id"]
    add_update(public_app.extensions["open311"], rid, "u1", "open", 5, "Crew assigned")
    response = client.get(f"{API}/servicerequestupdates.json", headers={"Host": INTERNAL})
    cursor = response.headers["X-Next-Cursor"]
    assert response.headers["Link"] == f'<{PUBLIC}{API}/servicerequestupdates.json?after={cursor}>; rel="next"'


def test_the_openapi_document_names_the_public_url_as_its_server(public_app: Flask, client: FlaskClient) -> None:
    document = public_app.test_client().get("/openapi.json", headers={"Host": INTERNAL}).get_json()
    assert document["servers"] == [{"url": PUBLIC}]
    assert "servers" not in client.get("/openapi.json").get_json()  # without the setting: relative to the page


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_photo_posted_under_another_host_is_published_under_the_public_url(public_app: Flask, public_key: str,
                                                                            fmt: str) -> None:
    client = public_app.test_client()
    reply = post(client, public_key, INTERNAL, fmt)
    assert reply.status_code == 200, reply.data
    for host in (INTERNAL, "311.example.gov"):
        (entry,) = json_of(client.get(f"{API}/requests.json?extensions=true", headers={"Host": host}))
        assert entry["media_url"].startswith(f"{PUBLIC}/media/")
        assert entry["extended_attributes"]["media_urls"] == [entry["media_url"]]
        root = xml_of(client.get(f"{API}/requests.xml", headers={"Host": host}))
        assert root.findtext("request/media_url") == entry["media_url"]
    served = client.get(entry["media_url"].removeprefix(PUBLIC), headers={"Host": INTERNAL})
    assert served.status_code == 200 and served.content_type == "image/jpeg"


def test_an_explicit_media_url_still_wins(make_app: Callable[..., Flask], api_key_factory: Callable[[Flask], str]
                                          ) -> None:
    app = make_app(OPEN311_PUBLIC_URL=PUBLIC, OPEN311_MEDIA_URL="https://cdn.example.gov/photos")
    client = app.test_client()
    assert post(client, api_key_factory(app), "311.example.gov").status_code == 200
    (entry,) = json_of(client.get(f"{API}/requests.json", headers={"Host": "311.example.gov"}))
    assert entry["media_url"].startswith("https://cdn.example.gov/photos/")


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("OPEN311_PUBLIC_URL", "311.example.gov", "must start with http:// or https://"),
    ("OPEN311_PUBLIC_URL", "ftp://311.example.gov", "must start with http:// or https://"),
    ("OPEN311_PUBLIC_URL", "https://", "must name a host"),
    ("OPEN311_PUBLIC_URL", "https://311.example.gov:99999", "must name a host"),
    ("OPEN311_PUBLIC_URL", "https://311.example.gov/?x=1", "must have no query string or fragment"),
    ("OPEN311_PUBLIC_URL", "https://311.example.gov/#top", "must have no query string or fragment"),
    ("OPEN311_PUBLIC_URL", "https://user:pw@311.example.gov", "must carry no user name or password"),
    ("OPEN311_PUBLIC_URL", "https://311.example.gov/a b", "has characters a URL path cannot carry"),
    ("OPEN311_ALLOWED_HOSTS", "https://gateway.internal", "must list host names"),
    ("OPEN311_ALLOWED_HOSTS", "gateway.internal:8000", "must list host names"),
])
def test_a_bad_public_url_or_host_list_stops_start_up_naming_the_variable(make_app: Callable[..., Flask],
                                                                          name: str, value: str,
                                                                          problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} {problem}"):
        make_app(**{name: value})


@pytest.mark.parametrize(("public", "host", "forwarded", "status"), [
    (PUBLIC, "10.0.0.7:8000", "311.example.gov", 200),   # the proxy's own Host is not checked, the client's is
    (PUBLIC, "311.example.gov", "evil.example", 400),
    ("", "localhost", "evil.example", 400),               # the demo behind a proxy: a forwarded foreign host
    ("", "localhost", "localhost:8080", 200)])
def test_behind_a_proxy_the_forwarded_host_is_the_one_checked(make_app: Callable[..., Flask], public: str, host: str,
                                                              forwarded: str, status: int) -> None:
    app = make_app(OPEN311_PROXY_HOPS=1, OPEN311_PUBLIC_URL=public)
    response = app.test_client().get(f"{API}/discovery.json", headers={"Host": host, "X-Forwarded-Host": forwarded})
    assert response.status_code == status
    if status == 400:
        assert errors_of(response, "json") == [(400, UNTRUSTED)]
    else:
        endpoint, _test = json_of(response)["endpoints"]
        assert endpoint["url"] == (public or f"http://{forwarded}") + API
