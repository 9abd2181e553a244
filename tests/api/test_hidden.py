"""Hidden means hidden: `open311 requests hide` withdraws every piece of text a resident typed (description,
free-text answers, address_string) and the photos from every output, and `unhide` brings all of it back.

A DPW-DUMPING report carries a canary in each field; every output is read for each canary while the request
is public, hidden and public again: the feed in every format (extensions true and false), the single request,
the exports, the update feed, every other GET route (tests/crawl.py), a signed push callback received by a
real loopback server and a ticket delivered to a real loopback back office.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from open311.catalog.definitions import Service
from open311.cli import main
from open311.delivery.relay import Relay
from open311.georeport.response_cache import ResponseCache
from open311.intake.keys import create_key
from open311.intake.moderation import hide_request, public_answers, unhide_request
from open311.services import Services
from open311.settings import DeliverySettings
from open311.storage.models import ServiceRequest
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.crawl import crawl
from tests.delivery import write_config
from tests.helpers import json_of
from tests.images import jpeg_with_gps
from tests.integration.test_subscriptions import LOOPBACK, Receiver, push, subscribe

SECRET = "hidden-webhook-secret-0123"
FAST = DeliverySettings(max_attempts=5, backoff_base=0.01, backoff_cap=0.05, lease=30, batch=20, poll=0.01)
# One canary per kind of typed text; the photo's canary is its random name, read from media_url.
TYPED = {"description": "CANARY-DESC-7731 mattress and couch",
         "answer": "CANARY-VEHICLE-7731 white box truck",
         "address_string": "CANARY-ADDR-7731 E 3rd St"}
V2 = "/open311/v2"


def dumping(**extra: str) -> dict[str, Any]:
    """A DPW-DUMPING report in East Los Angeles (unincorporated) with every kind of typed text."""
    return {"service_code": "DPW-DUMPING", "lat": "34.0239", "long": "-118.1720",
            "attribute[items][]": ["mattress", "furniture"], "attribute[approx_volume]": "medium",
            "attribute[location_type]": "sidewalk", "attribute[vehicle_description]": TYPED["answer"],
            "description": TYPED["description"], "address_string": TYPED["address_string"], **extra}


def submit(client: FlaskClient, key: str) -> tuple[str, str]:
    """POST the report with a photo (multipart); return its id and the photo's name."""
    data = {**dumping(), "media": [(io.BytesIO(jpeg_with_gps()), "pile.jpg")]}
    reply = client.post(f"{V2}/requests.json", data=data, content_type="multipart/form-data",
                        headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200, reply.data
    rid = str(json_of(reply)[0]["service_request_id"])
    (entry,) = json_of(client.get(f"{V2}/requests/{rid}.json"))
    photo = str(entry["media_url"]).rsplit("/", 1)[1]
    return rid, photo


def feed_urls(rid: str) -> list[str]:
    """Every output the issue names: the feed in each format with and without extensions, the single request,
    the update feed."""
    urls = []
    for fmt in ("json", "xml", "csv", "geojson"):
        for query in ("", "?extensions=true", f"?service_request_id={rid}&extensions=true"):
            urls.append(f"{V2}/requests.{fmt}{query}")
    for fmt in ("json", "xml"):
        urls += [f"{V2}/requests/{rid}.{fmt}", f"{V2}/requests/{rid}.{fmt}?extensions=true",
                 f"{V2}/servicerequestupdates.{fmt}"]
    return urls


def found_in(body: bytes, photo: str) -> set[str]:
    """Which canaries a body shows."""
    canaries = {**TYPED, "photo": photo}
    return {name for name, text in canaries.items() if text.encode() in body}


def outputs(client: FlaskClient, rid: str, photo: str) -> dict[str, set[str]]:
    """The canaries each output shows (each answer checked to be a 200 first)."""
    shown = {}
    for url in feed_urls(rid):
        reply = client.get(url)
        assert reply.status_code == 200, (url, reply.data[:300])
        shown[url] = found_in(reply.data, photo)
    return shown


def everything(app: Flask, rid: str, token: str) -> bytes:
    """What every GET route of the app answers about the request, joined (the photo's own URL is checked apart:
    routes echo an unknown path argument in their 404)."""
    fetched = crawl(app, {"service_request_id": [rid], "token": [token], "service_code": ["DPW-DUMPING"]},
                    "lacounty.gov")
    return b"\n".join(f.response.get_data() for f in fetched)


def relay(app: Flask) -> None:
    """Deliver what is due: tickets and callbacks."""
    Relay(app.extensions["open311"], FAST).run(once=True)


@pytest.fixture
def office() -> Iterator[tuple[WebhookBackOffice, str]]:
    back_office = WebhookBackOffice(SECRET)
    with http_peer(back_office) as url:
        yield back_office, url


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    handler = Receiver()
    with http_peer(handler) as url:
        yield handler, f"{url}/hooks/open311"


@pytest.fixture
def config(tmp_path: Path, office: tuple[WebhookBackOffice, str]) -> Path:
    """The shipped catalog and GIS; DPW's back office is the loopback webhook receiver."""
    return write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                           "options": {"url": f"{office[1]}/tickets", "secret": SECRET}}})


@pytest.fixture
def cli(database_url: str, config: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Run `open311 ...` against the app's database and configuration, asserting success; return its output."""
    monkeypatch.setenv("OPEN311_DATABASE_URL", database_url)
    monkeypatch.setenv("OPEN311_CONFIG", str(config))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_hidden_text_answers_address_and_photos_leave_every_output_and_come_back(
        make_app: Callable[..., Flask], config: Path, cli: Callable[..., str],
        office: tuple[WebhookBackOffice, str], receiver: tuple[Receiver, str]) -> None:
    back_office, (handler, hook) = office[0], receiver
    app = make_app(config, **LOOPBACK)
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        key = create_key(session, "lacounty.gov", "app", gateway.clock())[1]
        dpw = create_key(session, "lacounty.gov", "DPW works", gateway.clock(), department="DPW")[1]
    client = app.test_client()
    subscription = subscribe(client, key, hook)
    rid, photo = submit(client, key)
    with gateway.session() as session, session.begin():
        row = session.get(ServiceRequest, int(rid))
        assert row is not None
        token = row.token

    public = outputs(client, rid, photo)
    for url, shown in public.items():  # the test sees each canary where the output carries it
        if "servicerequestupdates" in url:
            assert shown == set(), url
        else:
            extended = "extensions=true" in url and url.split("?")[0].endswith((".json", ".xml"))
            assert shown == ({"description", "address_string", "photo"} | ({"answer"} if extended else set())), url
    before = everything(app, rid, token)
    assert found_in(before, photo) == {*TYPED, "photo"}
    assert client.get(f"/media/{photo}").status_code == 200

    said = cli("requests", "hide", rid, "--reason", "a licence plate in the answers")
    assert "withheld: description, address_string, media_url, attribute[vehicle_description]" in said
    assert found_in(said.encode(), photo) == set()  # staff are told what, never the text
    assert {url: shown for url, shown in outputs(client, rid, photo).items() if shown} == {}
    after = everything(app, rid, token)
    assert found_in(after, photo) == set() and b"licence plate" not in after
    assert client.get(f"/media/{photo}").status_code == 404
    (entry,) = json_of(client.get(f"{V2}/requests/{rid}.json?extensions=true"))
    assert (entry["description"], entry["address"], entry["media_url"], entry["lat"], entry["long"]) == (
        None, None, None, 34.0239, -118.172)  # the location stays public
    answers = {a["code"]: a["value"] for a in entry["extended_attributes"]["attributes"]}
    assert answers == {"items": ["mattress", "furniture"], "approx_volume": "medium", "location_type": "sidewalk"}
    assert entry["extended_attributes"]["media_urls"] == []

    # The ticket, sent after hiding, and a status change's callback carry none of it.
    relay(app)
    ticket = back_office.tickets[f"lacounty.gov:{rid}"]["ticket"]
    assert found_in(json.dumps(ticket).encode(), photo) == set()
    assert (ticket["lat"], ticket["long"], ticket["photos"], ticket["extras"]["hidden"]) == (
        34.0239, -118.172, [], True)
    assert ticket["attributes"] == answers
    push(client, dpw, rid, "u1", "ASSIGNED", 1)
    relay(app)
    (hidden_call,) = handler.events(subscription["secret"])
    assert hidden_call["service_request"]["service_request_id"] == rid
    assert found_in(json.dumps(hidden_call).encode(), photo) == set()

    cli("requests", "unhide", rid)
    assert outputs(client, rid, photo) == public
    assert found_in(everything(app, rid, token), photo) == {*TYPED, "photo"}
    assert client.get(f"/media/{photo}").status_code == 200
    push(client, dpw, rid, "u2", "COMPLETED", 2)
    relay(app)
    public_call = handler.events(subscription["secret"])[1]
    assert found_in(json.dumps(public_call).encode(), photo) == {"description", "address_string", "photo"}

    # A request unhidden before its ticket goes out is delivered whole: the ticket would show the canaries.
    second, second_photo = submit(client, key)
    cli("requests", "hide", second, "--reason", "checking")
    cli("requests", "unhide", second)
    relay(app)
    whole = back_office.tickets[f"lacounty.gov:{second}"]["ticket"]
    assert found_in(json.dumps(whole).encode(), second_photo) == {*TYPED, "photo"}
    assert "hidden" not in whole["extras"]


def test_hiding_empties_the_response_cache_of_its_pages(client: FlaskClient, gateway: Services, api_key: str) -> None:
    rid, photo = submit(client, api_key)
    urls = [f"{V2}/requests.json", f"{V2}/requests.xml?extensions=true", f"{V2}/requests.json?extensions=true",
            f"{V2}/requests/{rid}.json"]   # the last one kept until the next write, whatever the clock
    for url in urls:
        first, again = client.get(url), client.get(url)
        assert first.data == again.data and found_in(first.data, photo) >= {"description", "address_string"}
    cache = client.application.wsgi_app
    assert isinstance(cache, ResponseCache)
    if gateway.engine.url.get_backend_name() == "sqlite":  # PostgreSQL: feed pages are never kept
        assert len(cache.entries) == len(urls)
    with gateway.session() as session:  # the clock has not moved: only the data tells the pages are stale
        hide_request(session, int(rid), "abuse", gateway.clock(), config=gateway.config)
    for url in urls:
        assert found_in(client.get(url).data, photo) == set(), url
    with gateway.session() as session:
        unhide_request(session, int(rid), gateway.clock())
    assert found_in(client.get(urls[2]).data, photo) == {*TYPED, "photo"}
    assert found_in(client.get(urls[3]).data, photo) >= {"description", "address_string"}


def test_hiding_again_withdraws_what_an_older_version_left_public(client: FlaskClient, gateway: Services,
                                                                    api_key: str) -> None:
    rid, photo = submit(client, api_key)
    with gateway.session() as session, session.begin():  # hidden as 40ce24a hid: description and media_url only
        row = session.get(ServiceRequest, int(rid))
        assert row is not None
        old = {"description": row.description, "media_url": row.media_url}
        session.execute(update(ServiceRequest).where(ServiceRequest.id == int(rid)).values(
            description=None, media_url=None, hidden_at=gateway.clock(), hidden_reason="old", hidden_content=old))
    leaked = client.get(f"{V2}/requests/{rid}.json?extensions=true").data
    assert found_in(leaked, photo) == {"answer", "address_string"}
    with gateway.session() as session:
        hide_request(session, int(rid), "again", gateway.clock(), config=gateway.config)
    assert found_in(client.get(f"{V2}/requests/{rid}.json?extensions=true").data, photo) == set()
    with gateway.session() as session:
        unhide_request(session, int(rid), gateway.clock())
    assert found_in(client.get(f"{V2}/requests/{rid}.json?extensions=true").data, photo) == {*TYPED, "photo"}


def test_only_answers_the_catalog_knows_are_not_free_text_stay_public(gateway: Services) -> None:
    service = gateway.config.jurisdictions["lacounty.gov"].catalog.get("DPW-DUMPING")
    assert isinstance(service, Service)
    answers = {"items": ["tires"], "when_observed": "2026-03-09T07:30", "vehicle_description": "a van",
               "retired_question": "typed text"}
    assert public_answers(service, answers) == {"items": ["tires"], "when_observed": "2026-03-09T07:30"}
    assert public_answers(None, answers) == {}  # a service the catalog lost: nothing is known to be safe
