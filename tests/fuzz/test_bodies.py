"""Hypothesis over POST bodies (form, multipart, JSON, XML) and over every GET route's path and query string."""

from __future__ import annotations

from typing import Any

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from open311.intake.keys import create_key
from open311.services import Services
from tests.crawl import get_rules
from tests.fuzz.checks import check_answer
from tests.fuzz.strategies import (
    encode_form,
    form_pairs,
    json_bodies,
    query_strings,
    values,
    xml_bodies,
)
from tests.fuzz.tally import EXAMPLES, FUZZ

BODY_FUZZ = settings(FUZZ, max_examples=EXAMPLES * 4)
FORMATS = st.sampled_from(["xml", "json", "xml", "json", "csv"])
KEYS = st.one_of(st.none(), st.just("fuzz-key-1"),
                 st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="latin-1"), max_size=8))


def _key(app: Flask) -> str:
    gw: Services = app.extensions["open311"]
    with gw.session() as s:
        return create_key(s, "lacounty.gov", "fuzz", gw.clock())[1]


def _post(app: Flask, name: str, fmt: str, body: Any, content_type: str, key: str, idempotency: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    path = f"/open311/v2/requests.{fmt}"
    r = app.test_client().post(path, data=body, content_type=content_type, headers=headers)
    check_answer(name, "POST", path, r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data,
                 (content_type, body))


def test_form_bodies(fuzz_app: Flask) -> None:
    key = _key(fuzz_app)

    @BODY_FUZZ
    @given(pairs=form_pairs(), fmt=FORMATS, idempotency=KEYS, content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "",
         "multipart/form-data"]))
    def run(pairs: list[tuple[str, str]], fmt: str, idempotency: str | None, content_type: str) -> None:
        if content_type == "multipart/form-data":
            # werkzeug's multipart encoder cannot write lone surrogates (a real client cannot either).
            safe = [(n, v) for n, v in pairs if not any("\ud800" <= c <= "\udfff" for c in n + v)]
            _post(fuzz_app, "hypothesis multipart bodies", fmt, MultiDict(safe), content_type, key, idempotency)
        else:
            _post(fuzz_app, "hypothesis form bodies", fmt, encode_form(pairs), content_type, key, idempotency)

    run()


def test_json_bodies(fuzz_app: Flask) -> None:
    key = _key(fuzz_app)

    @BODY_FUZZ
    @given(body=json_bodies(), fmt=FORMATS, idempotency=KEYS,
           content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                         "application/geo+json", "text/plain"]))
    def run(body: bytes, fmt: str, idempotency: str | None, content_type: str) -> None:
        _post(fuzz_app, "hypothesis JSON bodies", fmt, body, content_type, key, idempotency)

    run()


def test_xml_bodies(fuzz_app: Flask) -> None:
    key = _key(fuzz_app)

    @BODY_FUZZ
    @given(body=xml_bodies(), fmt=FORMATS, idempotency=KEYS,
           content_type=st.sampled_from(["application/xml", "text/xml", "text/xml; charset=utf-8",
                                         "application/atom+xml"]))
    def run(body: bytes, fmt: str, idempotency: str | None, content_type: str) -> None:
        _post(fuzz_app, "hypothesis XML bodies", fmt, body, content_type, key, idempotency)

    run()


def test_every_get_route_with_hostile_paths_and_queries(fuzz_app: Flask) -> None:
    """GET routes come from app.url_map, so routes added later are fuzzed too."""
    key = _key(fuzz_app)
    client = fuzz_app.test_client()
    client.post("/open311/v2/requests.json", data={"service_code": "DPW-GRAFFITI", "lat": "34", "long": "-118",
                                                   "attribute[surface_type]": "wall", "api_key": key,
                                                   "attribute[property_type]": "public"})
    rules = [r.rule for r in get_rules(fuzz_app) if r.rule.startswith("/open311/")]
    segments = st.one_of(st.sampled_from(["1", "2", "DPW-GRAFFITI", "9" * 25, "-1", "0", "%00", "..", "a.b"]),
                         values.map(lambda v: v.encode("utf-8", "surrogatepass").hex()[:60] or "x"))

    @BODY_FUZZ
    @given(rule=st.sampled_from(rules), segment=segments, fmt=FORMATS, query=query_strings())
    def run(rule: str, segment: str, fmt: str, query: str) -> None:
        path = rule.replace("<fmt>", fmt)
        for argument in ("<service_code>", "<service_request_id>", "<token>"):
            path = path.replace(argument, segment)
        url = f"{path}?{query}" if query else path
        r = client.get(url)
        check_answer("hypothesis GET paths and queries", "GET", path, r.status_code,
                     {k.lower(): v for k, v in r.headers.items()}, r.data, url)

    run()
