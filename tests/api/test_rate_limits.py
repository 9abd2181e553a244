"""POST rate limits: per API key (its own limit or the default) and per client address; 429 is spec-shaped."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.errors import ConfigError
from open311.intake.keys import create_key, set_rate_limit
from open311.services import Services
from tests.helpers import GRAFFITI, errors_of

POST = "/open311/v2/requests.{fmt}"


def new_key(app: Flask, rate_limit: str | None = None, jurisdiction: str = "lacounty.gov") -> str:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        _, plaintext = create_key(session, jurisdiction, "rate tests", gateway.clock(), rate_limit=rate_limit)
    return plaintext


def post(client: FlaskClient, key: str | None, fmt: str = "json", **environ: str) -> int:
    data = {**GRAFFITI, **({"api_key": key} if key else {})}
    return client.post(POST.format(fmt=fmt), data=data, environ_base=environ).status_code


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_21st_post_within_a_keys_limit_of_20_per_minute_gets_429(make_app: Callable[..., Flask], fmt: str) -> None:
    app = make_app()
    key = new_key(app, "20/minute")
    client = app.test_client()
    for _ in range(20):
        ok = client.post(POST.format(fmt=fmt), data={**GRAFFITI, "api_key": key})
        assert ok.status_code == 200
        assert "Retry-After" not in ok.headers  # only a refusal says when to come back
        assert ok.headers["X-RateLimit-Limit"] == "20"
    refused = client.post(POST.format(fmt=fmt), data={**GRAFFITI, "api_key": key})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert errors_of(refused, fmt) == [(429, "Too many requests for this api_key (its limit is 20/minute): retry "
                                             "after the number of seconds given in the Retry-After header.")]
    assert client.get(f"/open311/v2/requests.{fmt}").status_code == 200  # reading is never limited


def test_each_key_has_its_own_bucket_and_the_default_applies_without_a_limit(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_PER_KEY="3/minute")
    tight, other = new_key(app, "2/minute"), new_key(app)
    client = app.test_client()
    assert [post(client, tight) for _ in range(3)] == [200, 200, 429]
    assert [post(client, other) for _ in range(4)] == [200, 200, 200, 429]  # the configured default


def test_a_changed_limit_applies_at_once(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    key = new_key(app, "2/minute")
    client = app.test_client()
    assert [post(client, key) for _ in range(3)] == [200, 200, 429]
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        assert set_rate_limit(session, key[:12], "4/minute") is not None
    # A new limit is a new count (the counters are kept per limit).
    assert [post(client, key) for _ in range(5)] == [200, 200, 200, 200, 429]


def test_unknown_revoked_and_missing_keys_get_403_not_429(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_PER_KEY="1/minute")
    client = app.test_client()
    assert [post(client, "o311_not-a-key") for _ in range(3)] == [403, 403, 403]
    assert [post(client, None) for _ in range(3)] == [403, 403, 403]


def test_per_address_limit_counts_every_post_from_one_address(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_PER_ADDRESS="3/minute", OPEN311_RATELIMIT_PER_KEY="100/minute")
    a, b = new_key(app), new_key(app)
    client = app.test_client()
    here = {"REMOTE_ADDR": "192.0.2.10"}
    assert [post(client, a, **here), post(client, b, **here), post(client, "o311_bad", **here)] == [200, 200, 403]
    refused = client.post(POST.format(fmt="xml"), data={**GRAFFITI, "api_key": a}, environ_base=here)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert errors_of(refused, "xml") == [(429, "Too many requests from this address (limit 3/minute): retry after "
                                               "the number of seconds given in the Retry-After header.")]
    assert post(client, a, REMOTE_ADDR="192.0.2.11") == 200  # another address has its own count


def test_behind_a_proxy_the_forwarded_address_is_counted(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_PER_ADDRESS="1/minute", OPEN311_PROXY_HOPS="1")
    key = new_key(app)
    client = app.test_client()

    def from_(address: str) -> int:
        return client.post(POST.format(fmt="json"), data={**GRAFFITI, "api_key": key},
                           headers={"X-Forwarded-For": address}).status_code

    assert [from_("198.51.100.1"), from_("198.51.100.2"), from_("198.51.100.1")] == [200, 200, 429]


def test_limits_can_be_switched_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_ENABLED="false", OPEN311_RATELIMIT_PER_KEY="1/minute")
    key = new_key(app)
    client = app.test_client()
    assert [post(client, key) for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("OPEN311_RATELIMIT_PER_KEY", "20/fortnight", "OPEN311_RATELIMIT_PER_KEY: invalid rate limit '20/fortnight'"),
    ("OPEN311_RATELIMIT_PER_ADDRESS", "0/minute", "OPEN311_RATELIMIT_PER_ADDRESS: invalid rate limit '0/minute'"),
    ("OPEN311_RATELIMIT_STRATEGY", "leaky", "OPEN311_RATELIMIT_STRATEGY: 'leaky' is not one of moving-window"),
])
def test_bad_settings_stop_start_up(make_app: Callable[..., Flask], setting: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_app(**{setting: value})
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems


def test_a_bad_number_stops_start_up_naming_the_variable(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ValueError, match=r"^OPEN311_PROXY_HOPS must be a whole number \(.*\), got 'two'$"):
        make_app(OPEN311_PROXY_HOPS="two")


def test_redis_shares_the_count_between_processes(make_app: Callable[..., Flask], redis_url: str,
                                                  ratelimit_prefix: str) -> None:
    """Two app instances (as two workers or hosts would be) on one Redis see one count per key."""
    settings = {"OPEN311_RATELIMIT_STORAGE": redis_url, "OPEN311_RATELIMIT_PREFIX": ratelimit_prefix}
    first, second = make_app(**settings), make_app(**settings)
    key = new_key(first, "20/minute")
    one, two = first.test_client(), second.test_client()
    assert [post(c, key) for c in (one, two) * 10] == [200] * 20
    assert post(one, key) == 429 and post(two, key) == 429
    assert first.test_client().get("/readyz").json["checks"]["rate_limit_storage"] == "ok"


def test_when_the_storage_is_down_posts_still_work_and_are_counted_in_memory(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_RATELIMIT_STORAGE="redis://127.0.0.1:1/0")  # nothing listens on port 1
    key = new_key(app, "2/minute")
    client = app.test_client()
    assert [post(client, key) for _ in range(3)] == [200, 200, 429]
