"""Hostile input to POST subscriptions (issue #16): malformed callback URLs, IPv6 forms that embed an IPv4
address, parallel POSTs racing the per-key cap, and the rate limit of the route."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from open311.feeds import subscriptions
from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import Subscription
from tests.helpers import GRAFFITI, errors_of

URL = "/open311/v2/subscriptions.{fmt}"
LOOPBACK = {"OPEN311_CALLBACK_ALLOW_PRIVATE": 1, "OPEN311_CALLBACK_ALLOW_HTTP": 1}
RETRY = "retry after the number of seconds given in the Retry-After header."
INVALID = "callback_url is not a valid URL (check its host and port)."
PRIVATE = "callback_url resolves to a private, loopback or reserved address."

# IPv6 literals that carry an IPv4 address: the three, then one per other embedding prefix, and
# embeddings of a public IPv4 address (refused too: the prefix is the risk, whatever it carries).
EMBEDDING = [
    "64:ff9b::7f00:1",                       # NAT64 well-known prefix, 127.0.0.1
    "2002:7f00:1::",                         # 6to4 of 127.0.0.1
    "::127.0.0.1",                           # IPv4-compatible
    "::ffff:127.0.0.1",                      # IPv4-mapped
    "::ffff:0:a00:1",                        # IPv4-translated (SIIT), 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",                  # NAT64 local-use prefix, 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "64:ff9b::808:808",                      # NAT64 of 8.8.8.8
    "2002:808:808::1",                       # 6to4 of 8.8.8.8
]


def new_key(app: Flask, name: str = "app") -> str:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        return create_key(session, "lacounty.gov", name, gateway.clock())[1]


def active_subscriptions(app: Flask) -> int:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session, session.begin():
        return int(session.scalar(select(func.count()).select_from(Subscription)
                                  .where(Subscription.active.is_(True))) or 0)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("callback_url", ["https://a.b:99999/", "https://a.b:-1/", "https://[/",
                                          "https://a.b:0/", "https://a.b:port/"])
def test_a_malformed_callback_url_is_a_400_in_the_spec_shape(make_app: Callable[..., Flask], fmt: str,
                                                             callback_url: str) -> None:
    app = make_app()
    r = app.test_client().post(URL.format(fmt=fmt), data={"api_key": new_key(app), "callback_url": callback_url})
    assert r.status_code == 400, r.data
    assert errors_of(r, fmt) == [(400, INVALID)]
    assert active_subscriptions(app) == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("address", EMBEDDING)
def test_every_ipv4_embedding_ipv6_form_is_refused(make_app: Callable[..., Flask], fmt: str, address: str) -> None:
    app = make_app()
    r = app.test_client().post(URL.format(fmt=fmt), data={"api_key": new_key(app),
                                                          "callback_url": f"https://[{address}]:8443/hook"})
    assert r.status_code == 400, r.data
    assert errors_of(r, fmt) == [(400, PRIVATE)]
    assert not subscriptions.is_public_address(address)


def test_the_address_check_keeps_global_unicast_and_refuses_the_rest() -> None:
    public = ("8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1")
    assert [subscriptions.is_public_address(a) for a in public] == [True] * 3
    refused = ("127.0.0.1", "10.1.2.3", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.1.1", "ff0e::1",
               "::1", "::", "fe80::1%eth0", "fc00::1", "2001:db8::1", "not an address")
    assert [a for a in refused if subscriptions.is_public_address(a)] == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_subscriptions_is_rate_limited_per_key_in_the_spec_shape(make_app: Callable[..., Flask],
                                                                     fmt: str) -> None:
    app = make_app(**LOOPBACK, OPEN311_RATELIMIT_SUBSCRIPTIONS="3/minute")
    key = new_key(app)
    client = app.test_client()
    body = (f"<subscription><api_key>{key}</api_key><callback_url>http://127.0.0.1:9/h</callback_url>"
            "</subscription>")  # the XML body's key is found too
    answers = [client.post(URL.format(fmt=fmt), data=body, content_type="application/xml") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert errors_of(refused, fmt) == [(429, f"Too many subscription requests for this api_key "
                                             f"(its limit is 3/minute): {RETRY}")]
    assert active_subscriptions(app) == 3
    assert client.get(URL.format(fmt=fmt), query_string={"api_key": key}).status_code == 200  # reads: never
    other = new_key(app, "other")
    assert client.post(URL.format(fmt=fmt), data={"api_key": other, "callback_url": "http://127.0.0.1:9/h"}
                       ).status_code == 200                                   # another key: its own count
    posted = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key})
    assert posted.status_code == 200                                          # service requests: counted apart


def test_post_subscriptions_is_rate_limited_per_address(make_app: Callable[..., Flask]) -> None:
    app = make_app(**LOOPBACK, OPEN311_RATELIMIT_PER_ADDRESS="2/minute")
    client = app.test_client()
    keys = [new_key(app, f"k{n}") for n in range(3)]
    codes = [client.post(URL.format(fmt="json"), data={"api_key": k, "callback_url": "http://127.0.0.1:9/h"}
                         ).status_code for k in keys]
    assert codes == [200, 200, 429]
    elsewhere = client.post(URL.format(fmt="json"), data={"api_key": keys[2], "callback_url": "http://127.0.0.1:9/h"},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200


def test_parallel_posts_never_exceed_the_cap(make_app: Callable[..., Flask]) -> None:
    """30 POSTs at once for a key with room for 20: exactly 20 are active, the other 10 are told why."""
    app = make_app(**LOOPBACK, OPEN311_RATELIMIT_SUBSCRIPTIONS="1000/minute", OPEN311_DATABASE_POOL_SIZE=15)
    key = new_key(app)
    start = threading.Barrier(30)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def subscribe(n: int) -> None:
        client = app.test_client()
        start.wait()
        r = client.post(URL.format(fmt="json"), data={"api_key": key, "callback_url": f"http://127.0.0.1:9/h{n}"})
        with lock:
            answers.append((r.status_code, r.data))

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(status for status, _ in answers) == {200: 20, 400: 10}, answers
    assert all(b"already has 20 active subscriptions" in data for status, data in answers if status == 400)
    assert active_subscriptions(app) == 20
