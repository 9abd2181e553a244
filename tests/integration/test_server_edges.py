"""What the real server (`open311 serve`, gunicorn) does with requests it cannot parse: the spec's error list
(XML when the path ends in .xml, else JSON) with the right status, and log lines without the client's address
or the refused text; the app's own 400s for long id lists are reachable through it.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from lxml import etree

from open311.cli.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE
from open311.storage.db import make_engine
from open311.storage.schema import upgrade
from tests.conftest import ROOT
from tests.integration.live import ServeProcess, open311_serve

API = "/open311/v2"
FAKE_KEY = "o311_fakekey_in_a_broken_header_7Qx"
GUNICORN_DEFAULT_LINE = 4094  # what the server refused before: the app's caps were unreachable beyond it


class Answer(NamedTuple):
    """A raw HTTP response: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes


@contextmanager
def serving(tmp: Path, *args: str) -> Iterator[ServeProcess]:
    """`open311 serve ARGS` on a fresh SQLite database."""
    url = f"sqlite:///{tmp / 'edges.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    env = {"OPEN311_DATABASE_URL": url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
           "OPEN311_INTAKE_DIR": str(tmp / "intake"), "PYTHONUNBUFFERED": "1"}
    with open311_serve(env, *args, logs=tmp / "logs") as served:
        yield served


@pytest.fixture(scope="module", params=[4, 1], ids=["gthread", "sync"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving(tmp_path_factory.mktemp("edges"), "--threads", str(request.param)) as served:
        yield served


def port_of(server: ServeProcess) -> int:
    return int(server.api.split(":")[2].split("/")[0])


def exchange(server: ServeProcess, raw: bytes) -> Answer:
    """Send raw bytes on a fresh connection; read one response (by Content-Length)."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            assert chunk, f"connection closed without a response: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while len(body) < int(headers["content-length"]):
            chunk = conn.recv(65536)
            assert chunk, "connection closed mid-body"
            body += chunk
    return Answer(int(lines[0].split()[1]), headers, body)


def errors_in(answer: Answer, fmt: str) -> list[tuple[int, str]]:
    """The (code, description) pairs of a spec error body, checking its content type."""
    if fmt == "json":
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        body = json.loads(answer.body)
        assert isinstance(body, list) and all(set(e) == {"code", "description"} for e in body)
        return [(e["code"], e["description"]) for e in body]
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(answer.body)
    assert root.tag == "errors" and all([c.tag for c in e] == ["code", "description"] for e in root)
    return [(int(e.findtext("code")), str(e.findtext("description"))) for e in root]


def get(path: str, *headers: str) -> bytes:
    return ("\r\n".join([f"GET {path} HTTP/1.1", "Host: localhost", *headers]) + "\r\n\r\n").encode("latin-1")


LONG = "a" * (LIMIT_REQUEST_LINE + 100)
# name -> (raw request, status, format of the error body)
REFUSED = {
    "request line too long (.json)": (get(f"{API}/services.json?q={LONG}"), 414, "json"),
    # gunicorn refuses an over-long line before reading it whole: its path is unknown, the answer is JSON
    "request line too long (.xml)": (get(f"{API}/services.xml?q={LONG}"), 414, "json"),
    "header line without a colon (.xml)": (get(f"{API}/services.xml", f"ApiKey {FAKE_KEY}"), 400, "xml"),
    "header line without a colon (.json)": (get(f"{API}/requests.json", f"Authorization Bearer {FAKE_KEY}"),
                                            400, "json"),
    "control character in a header (.xml)": (get(f"{API}/services.xml", f"X-Note: a\x01{FAKE_KEY}"), 400, "xml"),
    "control character in a header (.json)": (get(f"{API}/services.json", f"X-Note: a\x1b{FAKE_KEY}"), 400, "json"),
    "invalid header name": (get(f"{API}/services.json", f"X Api(Key): {FAKE_KEY}"), 400, "json"),
    "Host twice (.xml)": (get(f"{API}/services.xml", "Host: evil.example"), 400, "xml"),
    "Host twice (.json)": (get(f"{API}/services.json", "Host: evil.example"), 400, "json"),
    "Host with a control character": (("GET " + API + "/services.xml HTTP/1.1\r\nHost: a\x00b\r\n\r\n")
                                      .encode("latin-1"), 400, "xml"),
    "header field too large (.xml)": (get(f"{API}/services.xml", "X-Big: " + "b" * LIMIT_REQUEST_FIELD_SIZE),
                                      431, "xml"),
    "too many header fields (.json)": (get(f"{API}/services.json",
                                           *(f"X-{i}: {i}" for i in range(LIMIT_REQUEST_FIELDS + 1))), 431, "json"),
    "method not a token": (f"G@T {API}/services.json HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 400, "json"),
    "unknown HTTP version": (f"GET {API}/services.json HTTP/7.1\r\nHost: x\r\n\r\n".encode(), 400, "json"),
    "control character in the path": (f"GET {API}/ser\x7fvices.xml HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                                      400, "json"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_requests_get_the_spec_error_list(server: ServeProcess, case: str) -> None:
    raw, status, fmt = REFUSED[case]
    answer = exchange(server, raw)
    assert answer.status == status, answer
    [(code, description)] = errors_in(answer, fmt)
    assert code == status and description
    assert answer.headers["connection"] == "close"
    for quoted in (FAKE_KEY, "evil.example", "Api(Key)", "aaaa"):
        assert quoted.encode() not in answer.body


def test_refusals_are_logged_without_address_or_request_text(server: ServeProcess) -> None:
    for raw, _, _ in REFUSED.values():
        exchange(server, raw)
    deadline = time.monotonic() + 10
    while len(refused := [e for e in server.entries() if e.get("event") == "refused"]) < len(REFUSED):
        assert time.monotonic() < deadline, refused
        time.sleep(0.05)
    assert {e["status"] for e in refused} == {400, 414, 431}
    assert all(e["level"] == "warning" and "Invalid request from" not in e["message"] for e in refused)
    # Only the master names an address (the one it listens on; it never reads a request): no line of the
    # worker names one (here the client's), and no line at all quotes the refused requests.
    lines = list(zip(server.lines(), server.entries(), strict=True))
    worker = [line for line, entry in lines if entry["pid"] != server.process.pid]
    assert any('"event": "refused"' in line for line in worker)
    for line in worker:
        assert "127.0.0.1" not in line and "ip=" not in line, line
    for line, _ in lines:
        for quoted in (FAKE_KEY, "evil.example", "X-Note", "Api(Key)", "G@T", "aaaaaaaa"):
            assert quoted not in line, line


def test_documented_id_list_400s_are_reachable(server: ServeProcess) -> None:
    ids = ",".join(str(i) for i in range(10_000, 11_001))  # 1,001 ids of five digits
    target = f"{API}/requests.json?service_request_id={ids}"
    assert GUNICORN_DEFAULT_LINE < len(f"GET {target} HTTP/1.1") < LIMIT_REQUEST_LINE
    answer = exchange(server, get(target))
    assert (answer.status, errors_in(answer, "json")) == (
        400, [(400, "At most 1000 service_request_id values may be given.")])
    values = ",".join(["ab"] * 2001)  # OPEN311_MAX_QUERY_VALUES is 2000, a comma list counted by its items
    target = f"{API}/requests.xml?service_code={values}"
    assert GUNICORN_DEFAULT_LINE < len(f"GET {target} HTTP/1.1") < LIMIT_REQUEST_LINE
    answer = exchange(server, get(target))
    assert (answer.status, errors_in(answer, "xml")) == (
        400, [(400, "The query string holds more than 2000 values (service_code holds 2001).")])


@pytest.mark.parametrize(("method", "path", "status", "fmt"), [
    ("POST", f"{API}//requests.json", 404, "json"), ("GET", f"{API}//services.json", 404, "json"),
    ("GET", "/open311//v2/services.xml", 404, "xml"), ("POST", "//requests.json", 404, "json"),
    ("GET", f"{API}/requests//1.xml", 404, "xml"),
])
def test_doubled_slashes_get_an_error_list_not_a_redirect(server: ServeProcess, method: str, path: str,
                                                          status: int, fmt: str) -> None:
    answer = exchange(server, f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n".encode())
    assert answer.status == status and "location" not in answer.headers
    assert [code for code, _ in errors_in(answer, fmt)] == [status]


def test_leading_double_slash_is_served(server: ServeProcess) -> None:
    # werkzeug matches a path with its leading slashes merged: the resource itself, never a redirect
    answer = exchange(server, get(f"/{API}/services.xml"))
    assert answer.status == 200 and etree.fromstring(answer.body).tag == "services"


def test_failed_precondition_is_an_error_list(server: ServeProcess) -> None:
    answer = exchange(server, get(f"{API}/services.xml", "If-Match: junk"))
    assert answer.status == 412 and answer.headers["etag"]
    [(code, _)] = errors_in(answer, "xml")
    assert code == 412 and b"<services" not in answer.body



def test_debug_lines_of_the_server_quote_no_request(tmp_path: Path) -> None:
    # At debug level gunicorn logs "No more data after: b'<what the client sent>'" for a client that hangs up
    # mid-request: that text is removed, with any address.
    with serving(tmp_path, "--log-level", "debug") as server:
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as conn:
            conn.sendall(f"GET {API}/services.json HTTP/1.1\r\nAuthorization: Bearer {FAKE_KEY}\r\n".encode())
        deadline = time.monotonic() + 10
        while not (gone := [e for e in server.entries() if "premature client disconnection" in e["message"]]):
            assert time.monotonic() < deadline, server.lines()
            time.sleep(0.05)
        assert gone[0]["message"].endswith("'[removed]'")
        assert not [line for line in server.lines() if FAKE_KEY in line]
