"""Hypothesis over every query parameter of every GET route, in every format the route speaks.

Routes, their parameters and formats come from the app's own OpenAPI document (/openapi.json), with url_map
for GET routes the document lacks and HAND for parameters it does not list, so a parameter added later is
fuzzed without touching this file. One parameter at a time is hostile (the route's required ones keep valid
values): the answer is never a 5xx, and a 400 is the spec's error list (XML for .xml, else JSON) in which a
description names the parameter.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from open311.intake.keys import create_key
from open311.services import Services
from tests.crawl import get_rules
from tests.fuzz.checks import check_answer, fmt_of
from tests.fuzz.strategies import TRICKY
from tests.fuzz.tally import EXAMPLES, FUZZ
from tests.helpers import GRAFFITI

PREFIX = "/open311/v2"
NAME = "hypothesis query parameters"
# What the OpenAPI document does not list on a route: JSONP's callback on every JSON GET (EVERYWHERE) and,
# should a route's parameter be missing from the document, a hand entry here.
HAND: dict[str, tuple[str, ...]] = {}
EVERYWHERE = ("jurisdiction_id", "callback")
# A route's required parameters, kept valid while another one is hostile.
REQUIRED = {"/areas/{service_code}/check.{fmt}": {"lat": "34.0239", "long": "-118.1720"},
            "/geocode.{fmt}": {"address": "4801 E 3rd St, East Los Angeles"},
            "/locations.{fmt}": {"q": "Whittier Blvd & Atlantic Blvd"},
            "/duplicates.{fmt}": {"service_code": "DPW-POTHOLE", "lat": "34.0239", "long": "-118.1720"}}
MAX_ID = 2**63 - 1
STAMP = "2026-03-10T17:30:00Z"


def token(text: str) -> str:
    """A cursor token spelled as the server spells its own."""
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


# Issue #16's reproducers and their kin, sent to every parameter of every route in every format.
FIXED = ["00000000000199999999999999999999", "000000000005000", "9" * 70, "-1", "+5", "1_0", " 5 ", "\u0665",
         "\uff15", "0x10", "1e309", "nan", "-Infinity", "20260101", "2026-W10-1", "2026-01-01T00:00:00+23:59:59",
         "1,2," * 30, "x" * 300, token(f"{STAMP}|{MAX_ID + 1}"), token(f"u1.{MAX_ID + 1}"),
         token(f"u{MAX_ID + 1}.1"), token(f"{STAMP}| 5 "), token("u-1.1_0")]

_numbers = st.integers(-(2**70), 2**70).map(str)


@st.composite
def spelled_numbers(draw: Any) -> str:
    """Numbers as a hostile client spells them: padded, signed, with _ or blanks, in other digits."""
    text = draw(st.one_of(_numbers, st.floats(allow_nan=True).map(repr), st.decimals().map(str)))
    how = draw(st.sampled_from(["as is", "zeros", "underscore", "blanks", "arabic", "fullwidth"]))
    if how == "zeros":
        text = "0" * draw(st.integers(1, 40)) + text.lstrip("-")
    elif how == "underscore" and len(text) > 1:
        text = text[0] + "_" + text[1:]
    elif how == "blanks":
        text = draw(st.sampled_from([" ", "\t", "\u00a0", "\u3000"])) + text + " "
    elif how in ("arabic", "fullwidth"):
        base = 0x0660 if how == "arabic" else 0xFF10
        text = "".join(chr(base + int(c)) if c.isdigit() else c for c in text)
    return text


@st.composite
def cursors(draw: Any) -> str:
    """Forged cursors of both feeds: the right shape with numbers anywhere in and out of range."""
    number = draw(st.one_of(_numbers, st.sampled_from([str(MAX_ID), str(MAX_ID + 1), "0", "05", "1_0", " 5 "])))
    text = draw(st.sampled_from([f"{STAMP}|{number}", f"u{number}.1", f"u1.{number}", f"{number}|{STAMP}"]))
    return token(text) + draw(st.sampled_from(["", "", "=", ".", "A"]))


dates = st.datetimes().map(lambda moment: moment.isoformat())  # any year, microseconds and all


VALUES = st.one_of(st.sampled_from(FIXED), spelled_numbers(), cursors(), dates, st.sampled_from(TRICKY),
                   st.text(max_size=60), st.lists(spelled_numbers(), min_size=2, max_size=6).map(",".join))


@dataclass(frozen=True)
class Target:
    """One query parameter of one route in one format."""

    path: str       # filled in, with the format
    template: str   # the OpenAPI path, relative to PREFIX
    param: str
    fmt: str


def _operations(app: Flask) -> dict[str, tuple[set[str], list[str]]]:
    """OpenAPI path (relative to PREFIX) -> its GET's query parameters and formats; url_map adds undocumented
    GET routes (with no parameters but HAND's and EVERYWHERE's)."""
    document = app.test_client().get("/openapi.json").get_json()
    found: dict[str, tuple[set[str], list[str]]] = {}
    for path, item in document["paths"].items():
        if "get" not in item or not path.startswith(PREFIX + "/"):
            continue
        parameters = item.get("parameters", []) + item["get"].get("parameters", [])
        names = {p["name"] for p in parameters if p["in"] == "query"}
        formats = next((p["schema"].get("enum") for p in parameters if p["name"] == "fmt"), None)
        found[path.removeprefix(PREFIX)] = names, list(formats or ["xml", "json"])
    for rule in get_rules(app):
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        if template.startswith(PREFIX + "/") and template.removeprefix(PREFIX) not in found:
            found[template.removeprefix(PREFIX)] = set(), ["xml", "json"]
    return found


def targets(app: Flask, path_values: dict[str, str]) -> list[Target]:
    """Every (route, format, query parameter) to fuzz."""
    chosen = []
    for template, (names, formats) in sorted(_operations(app).items()):
        everything = sorted(names | set(HAND.get(template, ())) | set(EVERYWHERE))
        for fmt in formats:
            path = PREFIX + template.replace("{fmt}", fmt)
            for argument, value in path_values.items():
                path = path.replace("{" + argument + "}", value)
            chosen.extend(Target(path, template, name, fmt) for name in everything)
    return chosen


def descriptions(body: bytes, path: str) -> list[str]:
    """The descriptions of a spec-shaped error body (check_answer has checked its shape)."""
    if fmt_of(path) == "json":
        return [str(e["description"]) for e in json.loads(body)]
    root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return [e.findtext("description") or "" for e in root]


def send(client: FlaskClient, target: Target, value: str) -> None:
    """GET the route with `value` for the target parameter; check the answer."""
    query = {**REQUIRED.get(target.template, {}), target.param: value}
    encoded = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in query.items()], quote_via=quote)
    url = f"{target.path}?{encoded}"
    r = client.get(url)
    check_answer(NAME, "GET", url, r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data,
                 (target.param, value))
    if r.status_code == 400:
        said = descriptions(r.data, url)
        assert any(target.param in d for d in said), (url, said)


def _seed(app: Flask) -> dict[str, str]:
    """One stored request (its id fills {service_request_id}) and values for the other path arguments."""
    gw: Services = app.extensions["open311"]
    with gw.session() as s:
        _, key = create_key(s, "lacounty.gov", "fuzz", gw.clock())
    posted = app.test_client().post(f"{PREFIX}/requests.json", data={**GRAFFITI, "api_key": key})
    assert posted.status_code == 200, posted.data
    return {"service_request_id": posted.get_json()[0]["service_request_id"], "service_code": "DPW-GRAFFITI",
            "token": "no-such-token", "subscription_id": "1"}


def test_every_query_parameter_of_every_get_route(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()
    chosen = targets(fuzz_app, _seed(fuzz_app))
    covered = {(t.template, t.param) for t in chosen}
    assert {("/requests.{fmt}", "page_size"), ("/servicerequestupdates.{fmt}", "after"),
            ("/facilities.{fmt}", "limit"), ("/requests.{fmt}", "per_page")} <= covered
    assert {t.fmt for t in chosen if t.template == "/requests.{fmt}"} == {"xml", "json", "csv", "geojson"}
    for target in chosen:  # the reproducers, everywhere
        for value in FIXED:
            send(client, target, value)

    @settings(FUZZ, max_examples=EXAMPLES * 60)
    @given(target=st.sampled_from(chosen), value=VALUES)
    def run(target: Target, value: str) -> None:
        send(client, target, value)

    run()
