"""XML attacks: XXE (file, http, parameter entities), external DTDs, billion laughs, quadratic blowup.

Each attack is refused with a spec-shaped 400 over HTTP, and the hardened parser on its own (without
the declaration scan in front of it) reads no file and opens no connection: a FIFO shows any open
of the "secret" file, a loopback server records any connection. Positive controls prove both
witnesses see what they are meant to see.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from open311.georeport.xmlsafe import MAX_DEPTH, MAX_ELEMENTS, make_parser
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.helpers import errors_of
from tests.loopback import FifoWitness, RecordingServer, recording_server

REFUSED = "XML with a DOCTYPE or ENTITY declaration is not accepted."
FIELDS = ("<service_code>DPW-GRAFFITI</service_code><lat>34.0239</lat><long>-118.1720</long>"
          "<attributes><attribute><code>surface_type</code><value>wall</value></attribute>"
          "<attribute><code>property_type</code><value>public</value></attribute></attributes>")


def _laughs() -> str:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f"<!DOCTYPE request [{''.join(levels)}]><request>{FIELDS}<description>&lol9;</description></request>"


def _quadratic() -> str:
    blob = "A" * 50_000
    return (f'<!DOCTYPE request [<!ENTITY a "{blob}">]><request>{FIELDS}<description>'
            f"{'&a;' * 20_000}</description></request>")


def attacks(fifo: Path, url: str) -> dict[str, str]:
    """Each attack as an XML document (text; encoded per test)."""
    return {
        "xxe_file": f'<!DOCTYPE request [<!ENTITY x SYSTEM "file://{fifo}">]>'
                    f"<request>{FIELDS}<description>&x;</description></request>",
        "xxe_http": f'<!DOCTYPE request [<!ENTITY x SYSTEM "{url}/xxe">]>'
                    f"<request>{FIELDS}<description>&x;</description></request>",
        "external_dtd_file": f'<!DOCTYPE request SYSTEM "file://{fifo}"><request>{FIELDS}</request>',
        "external_dtd_http": f'<!DOCTYPE request SYSTEM "{url}/ext.dtd"><request>{FIELDS}</request>',
        "external_dtd_public": f'<!DOCTYPE request PUBLIC "-//X//Y//EN" "{url}/pub.dtd"><request>{FIELDS}</request>',
        "parameter_entity": f'<!DOCTYPE request [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><request>{FIELDS}</request>',
        "parameter_entity_file": f'<!DOCTYPE request [<!ENTITY % p SYSTEM "file://{fifo}"> %p;]>'
                                 f"<request>{FIELDS}</request>",
        "billion_laughs": _laughs(),
        "quadratic_blowup": _quadratic(),
    }


ATTACKS = ("xxe_file", "xxe_http", "external_dtd_file", "external_dtd_http", "external_dtd_public",
           "parameter_entity", "parameter_entity_file", "billion_laughs", "quadratic_blowup")
ENCODINGS = ("utf-8", "utf-16", "utf-32-be")


def encode(text: str, encoding: str) -> bytes:
    """The document with an XML declaration naming its encoding (UTF-16 hides it from a byte scan)."""
    return f'<?xml version="1.0" encoding="{encoding}"?>{text}'.encode(encoding)


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[tuple[FifoWitness, RecordingServer]]:
    with FifoWitness(tmp_path) as fifo, recording_server() as server:
        yield fifo, server
    assert fifo.opened == 0, "the secret file was opened"
    assert server.connections == [], "a connection was attempted"


def request_count(gateway: Services) -> int:
    with gateway.session() as s, s.begin():
        return int(s.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_refused_over_http(client: FlaskClient, gateway: Services, api_key: str,
                                     witnesses: tuple[FifoWitness, RecordingServer], attack: str) -> None:
    fifo, server = witnesses
    for encoding, fmt in ((e, f) for e in ENCODINGS for f in ("xml", "json")):
        body = encode(attacks(fifo.path, server.url)[attack], encoding)
        started = time.monotonic()
        r = client.post(f"/open311/v2/requests.{fmt}", data=body, content_type="application/xml",
                        headers={"Authorization": f"Bearer {api_key}"})
        assert time.monotonic() - started < 2
        assert r.status_code == 400, encoding
        assert errors_of(r, fmt) == [(400, REFUSED)]
        assert FifoWitness.SECRET.encode() not in r.data and b"WITNESS" not in r.data
    assert request_count(gateway) == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_parser_alone_resolves_nothing(witnesses: tuple[FifoWitness, RecordingServer], attack: str,
                                       encoding: str) -> None:
    """Defence in depth: with the declaration scan removed, the parser still expands and fetches nothing."""
    fifo, server = witnesses
    started = time.monotonic()
    try:
        root = etree.fromstring(encode(attacks(fifo.path, server.url)[attack], encoding), parser=make_parser())
    except etree.XMLSyntaxError as exc:  # libxml2's amplification guard refuses the expansion bombs
        assert attack in ("billion_laughs", "quadratic_blowup"), exc
    else:
        text = etree.tostring(root)
        assert FifoWitness.SECRET.encode() not in text and b"WITNESS" not in text
        assert len(text) < 10_000
    assert time.monotonic() - started < 1


def test_controls_the_witnesses_see_a_permissive_parser(tmp_path: Path) -> None:
    """Without these controls a blind witness would pass every test above."""
    permissive = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
    with FifoWitness(tmp_path) as fifo:
        root = etree.fromstring(encode(attacks(fifo.path, "http://unused")["xxe_file"], "utf-8"), parser=permissive)
        assert FifoWitness.SECRET in (root.findtext("description") or "")
    assert fifo.opened >= 1
    with recording_server() as server, urllib.request.urlopen(server.url + "/probe", timeout=5) as reply:
        assert reply.read() == b"WITNESS-CONTENT"
    assert len(server.connections) == 1


def test_xinclude_is_never_processed(client: FlaskClient, gateway: Services, api_key: str,
                                     witnesses: tuple[FifoWitness, RecordingServer]) -> None:
    fifo, server = witnesses
    body = (f'<request xmlns:xi="http://www.w3.org/2001/XInclude">{FIELDS}<description>ok</description>'
            f'<xi:include href="file://{fifo.path}" parse="text"/><xi:include href="{server.url}/x" parse="text"/>'
            "</request>").encode()
    r = client.post("/open311/v2/requests.json", data=body, content_type="application/xml",
                    headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200, r.data
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, 1)
        assert row is not None and row.description == "ok"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bare_doctype_is_refused(client: FlaskClient, api_key: str, fmt: str) -> None:
    for doctype in ("<!DOCTYPE request>", "<!DOCTYPE request []>", "<!doctype request>"):
        r = client.post(f"/open311/v2/requests.{fmt}", data=f"{doctype}<request>{FIELDS}</request>",
                        content_type="text/xml", headers={"Authorization": f"Bearer {api_key}"})
        assert r.status_code == 400
        assert errors_of(r, fmt)[0][0] == 400


def test_depth_and_element_count_are_bounded(client: FlaskClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    ok = f"<request>{FIELDS}<x>{'<a>' * (MAX_DEPTH - 2)}{'</a>' * (MAX_DEPTH - 2)}</x></request>"
    r = client.post("/open311/v2/requests.json", data=ok, content_type="text/xml", headers=headers)
    assert r.status_code == 200, r.data
    deep = f"<request>{FIELDS}<x>{'<a>' * (MAX_DEPTH - 1)}{'</a>' * (MAX_DEPTH - 1)}</x></request>"
    r = client.post("/open311/v2/requests.json", data=deep, content_type="text/xml", headers=headers)
    assert errors_of(r, "json") == [(400, f"XML nested deeper than {MAX_DEPTH} levels.")]
    very_deep = f"<request>{'<a>' * 100_000}{'</a>' * 100_000}</request>"  # beyond libxml2's own limit too
    r = client.post("/open311/v2/requests.json", data=very_deep, content_type="text/xml", headers=headers)
    assert r.status_code == 400 and errors_of(r, "json")[0][0] == 400
    wide = f"<request>{FIELDS}{'<x/>' * MAX_ELEMENTS}</request>"
    r = client.post("/open311/v2/requests.json", data=wide, content_type="text/xml", headers=headers)
    assert errors_of(r, "json") == [(400, f"XML with more than {MAX_ELEMENTS} elements.")]


def test_size_is_bounded(make_app: Callable[..., Flask]) -> None:
    client = make_app(OPEN311_MAX_DOCUMENT_SIZE=2048).test_client()
    body = f"<request>{FIELDS}<description>{'x' * 3000}</description></request>"
    for fmt in ("xml", "json"):
        r = client.post(f"/open311/v2/requests.{fmt}", data=body, content_type="application/xml")
        assert r.status_code == 413
        assert errors_of(r, fmt) == [(413, "The request body is larger than 2048 bytes.")]


def test_other_encodings_are_read_and_bad_ones_refused(client: FlaskClient, gateway: Services, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    body = f"<request>{FIELDS}<description>Caf\u00e9 wall</description></request>"
    r = client.post("/open311/v2/requests.json", data=encode(body, "iso-8859-1"), content_type="text/xml",
                    headers=headers)
    assert r.status_code == 200, r.data
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, 1)
        assert row is not None and row.description == "Caf\u00e9 wall"
    for name in ("x-nope", "UTF-7", "ebcdic-cp-us"):  # UTF-7 could spell "<!DOCTYPE" as "+ADwAIQ-DOCTYPE"
        r = client.post("/open311/v2/requests.json", data=f'<?xml version="1.0" encoding="{name}"?>{body}',
                        content_type="text/xml", headers=headers)
        assert errors_of(r, "json") == [(400, "XML encoding not accepted: send UTF-8 (or UTF-16, ISO-8859-1, "
                                              "windows-1252).")]
    r = client.post("/open311/v2/requests.json", data=b"\xff\xfe<\x00r\x00\x00\xd8", content_type="text/xml",
                    headers=headers)  # a lone surrogate in UTF-16
    assert r.status_code == 400 and errors_of(r, "json")[0][1].startswith("Malformed XML")
