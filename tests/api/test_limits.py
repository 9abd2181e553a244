"""Limits on what a client may send: sizes, counts, lengths, characters, numbers, dates and ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from open311 import create_app
from open311.core.numbers import MAX_ID
from open311.intake.keys import create_key
from open311.intake.submit import FIELD_LIMITS
from open311.services import Services
from tests.api.test_feed_paging import seed
from tests.helpers import GRAFFITI, errors_of, json_of

TOO_LARGE = "The request body is too large."
BAD_CHAR = "contains control or non-character code points, which are not accepted."


def keyed_client(app: Flask) -> tuple[FlaskClient, str]:
    gw: Services = app.extensions["open311"]
    with gw.session() as s:
        _, key = create_key(s, "lacounty.gov", "limits", gw.clock())
    return app.test_client(), key


class TestBodyLimitsFromTheEnvironment:
    """OPEN311_MAX_CONTENT_LENGTH, OPEN311_MAX_FORM_MEMORY_SIZE, OPEN311_MAX_FORM_PARTS (docs/configuration.md)."""

    def test_content_length(self, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPEN311_MAX_CONTENT_LENGTH", "4096")
        client, key = keyed_client(make_app())
        ok = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key})
        assert ok.status_code == 200
        r = client.post("/open311/v2/requests.json", data=json.dumps({"description": "x" * 5000}),
                        content_type="application/json")
        assert r.status_code == 413 and errors_of(r, "json") == [(413, TOO_LARGE)]

    def test_form_memory(self, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPEN311_MAX_FORM_MEMORY_SIZE", "2048")
        client, key = keyed_client(make_app())
        r = client.post("/open311/v2/requests.xml", data={**GRAFFITI, "api_key": key, "description": "x" * 3000})
        assert r.status_code == 413 and errors_of(r, "xml") == [(413, "The form body is larger than 2048 bytes.")]
        r = client.post("/open311/v2/requests.xml", content_type="multipart/form-data",
                        data={**GRAFFITI, "api_key": key, "description": "x" * 3000})
        assert r.status_code == 413 and errors_of(r, "xml") == [(413, TOO_LARGE)]

    def test_form_parts(self, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPEN311_MAX_FORM_PARTS", "12")
        client, key = keyed_client(make_app())
        assert client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key}).status_code == 200
        many = {**GRAFFITI, "api_key": key, **{f"extra{i}": "1" for i in range(10)}}
        r = client.post("/open311/v2/requests.json", data=many, content_type="application/x-www-form-urlencoded")
        assert r.status_code == 413 and errors_of(r, "json") == [(413, "The form body has more than 12 fields.")]
        r = client.post("/open311/v2/requests.json", data=many, content_type="multipart/form-data")
        assert r.status_code == 413 and errors_of(r, "json") == [(413, TOO_LARGE)]

    def test_json_and_xml_document_size(self, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPEN311_MAX_DOCUMENT_SIZE", "2048")
        client, _ = keyed_client(make_app())
        r = client.post("/open311/v2/requests.json", data=json.dumps({"description": "x" * 3000}),
                        content_type="application/json")
        assert errors_of(r, "json") == [(413, "The request body is larger than 2048 bytes.")]

    def test_feed_paging_and_count_cap(self, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPEN311_PAGE_SIZE", "2")
        monkeypatch.setenv("OPEN311_MAX_PAGE_SIZE", "3")
        monkeypatch.setenv("OPEN311_COUNT_CAP", "3")
        app = make_app()
        seed(app.extensions["open311"], 5)
        client = app.test_client()
        page = client.get("/open311/v2/requests.json?page=1&count=true")
        assert len(json_of(page)) == 2
        assert "X-Total-Count" not in page.headers and page.headers["X-Total-Count-At-Least"] == "4"
        assert len(json_of(client.get("/open311/v2/requests.json?page_size=3"))) == 3
        too_big = client.get("/open311/v2/requests.json?page_size=4")
        assert too_big.status_code == 400 and "page_size" in errors_of(too_big, "json")[0][1]
        assert client.get("/open311/v2/servicerequestupdates.json?page_size=4").status_code == 400

    @pytest.mark.parametrize(("name", "value", "message"), [
        ("OPEN311_PAGE_SIZE", "0", "OPEN311_PAGE_SIZE must be at least 1"),
        ("OPEN311_MAX_FORM_PARTS", "lots", "OPEN311_MAX_FORM_PARTS must be a whole number"),
        ("OPEN311_MAX_CONTENT_LENGTH", "10", "OPEN311_MAX_CONTENT_LENGTH must be at least 1024"),
        ("OPEN311_DUPLICATE_WINDOW", "-1", "OPEN311_DUPLICATE_WINDOW must be at least 0"),
    ])
    def test_bad_settings_stop_start_up(self, monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                        message: str) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=message):
            create_app({"TESTING": True, "OPEN311_DATABASE_URL": "sqlite://"})


def test_field_lengths(client: FlaskClient, api_key: str) -> None:
    limits = {**FIELD_LIMITS, "description": 4000}
    del limits["service_code"]  # an over-long service_code is simply unknown (404, tests/api/test_errors.py)
    for field, limit in sorted(limits.items()):
        value = "https://e.example/" + "a" * (limit - 18) if field == "media_url" else "a" * limit
        ok = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, field: value})
        assert ok.status_code == 200, (field, ok.data)
        r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, field: value + "a"})
        assert errors_of(r, "json") == [(400, f"{field} must be at most {limit} characters.")]


def test_attribute_count_and_values_per_attribute(client: FlaskClient, api_key: str) -> None:
    many = {f"attribute[extra{i}]": "x" for i in range(100)}
    r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, **many})
    assert errors_of(r, "json") == [(400, "At most 100 attributes may be sent.")]
    body = {**GRAFFITI, "api_key": api_key, "attribute[surface_type]": ["wall"] * 101}
    r = client.post("/open311/v2/requests.json", data=body)
    assert errors_of(r, "json") == [(400, "attribute[surface_type] takes at most 100 values.")]


def test_query_values_are_capped(make_app: Callable[..., Flask]) -> None:
    client = make_app(OPEN311_MAX_QUERY_VALUES=50).test_client()
    ids = ",".join(str(i) for i in range(1, 51))
    assert client.get(f"/open311/v2/requests.json?service_request_id={ids}").status_code == 200
    cases = {f"service_request_id={ids},51": "service_request_id holds 51",
             "status=open&" + "&".join(f"service_code=S{i}" for i in range(50)): "service_code holds 50"}
    for query, largest in cases.items():
        r = client.get(f"/open311/v2/requests.json?{query}")
        # the description names the parameter holding the most values
        assert errors_of(r, "json") == [(400, f"The query string holds more than 50 values ({largest}).")]


def test_default_list_cap(client: FlaskClient) -> None:
    ids = ",".join(str(i) for i in range(1, 1002))
    r = client.get(f"/open311/v2/requests.json?service_request_id={ids}")
    assert errors_of(r, "json") == [(400, "At most 1000 service_request_id values may be given.")]


BAD_CHARACTERS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ufffe", "\uffff"]


class TestNonXmlCharactersAreRefusedEverywhere:
    """One stored control character would make every XML feed that includes it unparseable."""

    @pytest.mark.parametrize("char", BAD_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
    def test_query_values_and_names_on_every_get(self, client: FlaskClient, char: str) -> None:
        q = quote(char)
        for path in ("discovery", "services", "services/DPW-GRAFFITI", "requests", "requests/1", "tokens/x"):
            for query in (f"jurisdiction_id=a{q}", f"x{q}=1", f"status=open,{q}", f"anything=a{q}b"):
                r = client.get(f"/open311/v2/{path}.json?{query}")
                assert r.status_code == 400, (path, query)
                assert errors_of(r, "json")[0][1].endswith(BAD_CHAR)

    @pytest.mark.parametrize("char", BAD_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
    def test_path_segments(self, client: FlaskClient, char: str) -> None:
        for path in (f"services/A{quote(char)}B", f"requests/1{quote(char)}", f"tokens/t{quote(char)}"):
            r = client.get(f"/open311/v2/{path}.xml")
            assert r.status_code == 400 and errors_of(r, "xml")[0][1].endswith(BAD_CHAR)

    @pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
    def test_form_names_and_values(self, client: FlaskClient, api_key: str, content_type: str) -> None:
        for char, extra in ((c, e) for c in BAD_CHARACTERS for e in (
                {"description": f"a{c}"}, {f"note{c}": "x"}, {"attribute[surface_type]": f"wall{c}"},
                {f"attribute[x{c}]": "1"}, {"email": f"me{c}@example.org"})):
            r = client.post("/open311/v2/requests.xml", data={**GRAFFITI, "api_key": api_key, **extra},
                            content_type=content_type)
            assert r.status_code == 400, (char, extra)
            assert errors_of(r, "xml")[0][1].endswith(BAD_CHAR)

    def test_json_keys_and_values_at_any_depth(self, client: FlaskClient, api_key: str) -> None:
        base = {k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")}
        for extra in (e for c in BAD_CHARACTERS for e in (
                {"description": f"a{c}"}, {f"ignored{c}": None}, {"nested": {"deep": [f"x{c}"]}},
                {"attributes": {"surface_type": [f"wall{c}"]}}, {"attributes": {f"x{c}": "1"}})):
            body = json.dumps({**base, "api_key": api_key, **extra})
            r = client.post("/open311/v2/requests.json", data=body, content_type="application/json")
            assert r.status_code == 400, extra
            assert errors_of(r, "json")[0][1].endswith(BAD_CHAR)

    def test_xml_text_and_character_references(self, client: FlaskClient, api_key: str) -> None:
        for char, text in ((c, t) for c in BAD_CHARACTERS for t in (c, f"&#{ord(c)};", f"&#x{ord(c):x};")):
            if char == "\x00" and text == char:
                continue  # a raw NUL ends the C string libxml2 sees; covered by the references
            body = f"<request><api_key>{api_key}</api_key><description>a{text}</description></request>"
            r = client.post("/open311/v2/requests.json", data=body.encode("utf-8"), content_type="text/xml")
            assert r.status_code == 400, repr(text)
            assert errors_of(r, "json")[0][1].startswith("Malformed XML")


def test_lone_surrogates_are_refused_in_json(client: FlaskClient, api_key: str) -> None:
    for raw in ('{"description": "\\udfff"}', '{"x\\ud800": 1}', '{"attributes": {"a": ["\\ud83d"]}}'):
        r = client.post("/open311/v2/requests.json", data=raw, content_type="application/json",
                        headers={"Authorization": f"Bearer {api_key}"})
        assert r.status_code == 400 and errors_of(r, "json")[0][1].endswith(BAD_CHAR)


def test_feeds_stay_well_formed_after_hostile_posts(client: FlaskClient, api_key: str) -> None:
    for char in BAD_CHARACTERS:
        client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "description": char})
    ok = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key,
                                                        "description": "tab\there\r\nnew line & <b>"})
    assert ok.status_code == 200
    feed = client.get("/open311/v2/requests.xml")
    root = etree.fromstring(feed.data, parser=etree.XMLParser())  # strict: would fail on any bad character
    assert [e.text for e in root.iter("description")] == ["tab\there\r\nnew line & <b>"]


COORDINATES = [
    ("nan", "-118", ["lat must be a decimal number (WGS84), got 'nan'."]),
    ("34", "inf", ["long must be a decimal number (WGS84), got 'inf'."]),
    ("-Infinity", "1", ["lat must be a decimal number (WGS84), got '-Infinity'."]),
    ("1e309", "1", ["lat must be between -90 and 90, got '1e309'."]),
    ("90.0000001", "1", ["lat must be between -90 and 90, got '90.0000001'."]),
    ("1", "-180.5", ["long must be between -180 and 180, got '-180.5'."]),
    ("34,02", "1", ["lat must be a decimal number (WGS84), got '34,02'."]),
    ("3_4", "1", ["lat must be a decimal number (WGS84), got '3_4'."]),
    ("0x10", "1", ["lat must be a decimal number (WGS84), got '0x10'."]),
    ("\u0663\u0664", "1", ["lat must be a decimal number (WGS84), got '\u0663\u0664'."]),
]


def test_coordinates(client: FlaskClient, api_key: str) -> None:
    for lat, long, errors in COORDINATES:
        r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "lat": lat, "long": long})
        assert errors_of(r, "json") == [(400, e) for e in errors]


def test_coordinates_as_json_numbers(client: FlaskClient, api_key: str) -> None:
    for raw in ('{"lat": NaN, "long": 1}', '{"lat": 1e999, "long": 1}', '{"lat": -Infinity, "long": 1}',
                '{"lat": ' + "9" * 5000 + ', "long": 1}'):
        r = client.post("/open311/v2/requests.json", data=raw.replace("{", '{"service_code": "DPW-GRAFFITI", ', 1),
                        content_type="application/json", headers={"Authorization": f"Bearer {api_key}"})
        assert r.status_code == 400, raw[:40]
        assert errors_of(r, "json")[0][0] == 400


ABSURD_DATES = ["0001-01-01", "1969-12-31T23:59:59Z", "2201-01-01", "99999-01-01", "2026-13-01", "2026-02-30",
                "2026-01-01T25:00:00Z", "1" * 41, "10000000000", "2026-01-01T00:00:00+99:00"]


def test_absurd_dates(client: FlaskClient, api_key: str) -> None:
    for value in ABSURD_DATES:
        r = client.get(f"/open311/v2/requests.json?start_date={quote(value)}")
        assert errors_of(r, "json") == [(400, f"start_date must be a W3C datetime such as 2026-01-01T00:00:00Z, "
                                              f"got {value[:40]!r}.")]
        body = {"api_key": api_key, "service_code": "DRP-INOPERABLE", "address_string": "1 Main St",
                "attribute[vehicle_count]": "1", "attribute[first_seen]": value}
        r = client.post("/open311/v2/requests.json", data=body)
        assert r.status_code == 400 and "attribute[first_seen]" in errors_of(r, "json")[0][1], value


def test_huge_ids_and_tokens(client: FlaskClient) -> None:
    huge = str(MAX_ID + 1)
    for path in (f"requests/{huge}", f"requests.json?service_request_id=1,{huge}", f"requests/{'9' * 5000}"):
        url = f"/open311/v2/{path}" if "?" in path else f"/open311/v2/{path}.json"
        r = client.get(url)
        assert r.status_code == 400, path[:40]
        assert "is out of range: ids are integers up to 9223372036854775807." in errors_of(r, "json")[0][1]
    r = client.get(f"/open311/v2/tokens/{'t' * 65}.json")
    assert errors_of(r, "json") == [(400, "token is longer than 64 characters.")]
    assert json_of(client.get("/open311/v2/requests.json?service_request_id=abc,-1,0")) == []


def test_media_url_must_be_http(client: FlaskClient, api_key: str) -> None:
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "ftp://h/x.jpg", "//no-scheme/x.jpg", "http://",
                "https://exa mple.org/x.jpg", "http://[::1/x"):
        r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "media_url": bad})
        assert errors_of(r, "json") == [(400, "media_url must be an absolute http or https URL.")], bad
    # A data: URL is a photo sent inline (tests/api/test_photos.py): it is checked as one.
    r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key,
                                                       "media_url": "data:image/png;base64,AAAA"})
    assert errors_of(r, "json") == [(400, "media_url: it is not a JPEG, PNG or WebP image: its content is "
                                          "unrecognised binary content.")]
    ok = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key,
                                                        "media_url": "HTTPS://cdn.example.org/p.jpg?a=1"})
    assert ok.status_code == 200
