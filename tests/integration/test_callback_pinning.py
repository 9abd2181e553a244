"""Callbacks connect to the address that was checked (issue #16): DNS rebinding does not reach loopback, TLS is
still verified against the host name (SNI and certificate), and a redirect from the receiver is not followed.

Name resolution is made controllable in-process by patching socket.getaddrinfo (the OS resolver, not an
outside system). The rebinding test's "public" answer must not leave the machine, so an audit hook refuses
every connect to a non-loopback address while a test holds it (a firewall for the test, not a fake receiver:
the receiving servers are real HTTP(S) servers on 127.0.0.1). Tests whose receiver is a real loopback server
run with allow_private (OPEN311_CALLBACK_ALLOW_PRIVATE=1): loopback is exactly what the default policy refuses.
"""

from __future__ import annotations

import errno
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from open311.adapter import PermanentError, TemporaryError, make_http_session
from open311.feeds.callbacks import Callback, send_callback
from open311.settings import CallbackPolicy
from tests.adapters.peers import QuietHandler, http_peer
from tests.loopback import recording_server

PUBLIC = "93.184.215.14"          # a global address the resolver answers at check time (never connected to)
STRICT = CallbackPolicy(allow_private=False, allow_http=True)
LOOPBACK = CallbackPolicy(allow_private=True, allow_http=True)

_guard = threading.local()


def _egress_hook(event: str, args: tuple[Any, ...]) -> None:
    """While a test holds the guard: note every connect, and refuse those that would leave loopback."""
    if event != "socket.connect" or getattr(_guard, "connects", None) is None:
        return
    address = args[1]
    if isinstance(address, tuple):
        _guard.connects.append((str(address[0]), int(address[1])))
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(errno.ECONNREFUSED, "the test refuses connections off loopback")


sys.addaudithook(_egress_hook)


@contextmanager
def connections() -> Iterator[list[tuple[str, int]]]:
    """The (address, port) of every connect this thread makes in the block; off-loopback ones refused."""
    _guard.connects = []
    try:
        yield _guard.connects
    finally:
        _guard.connects = None


class Resolver:
    """socket.getaddrinfo with scripted answers for some names (one per call, the last repeated)."""

    def __init__(self, real: Any) -> None:
        self.real, self.script, self.asked = real, dict[str, list[str | None]](), list[str]()

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.script:
            return self.real(host, port, *args, **kwargs)
        self.asked.append(name)
        answers = self.script[name]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, int(port or 0)))]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def callback(url: str) -> Callback:
    return Callback(url=url, secret="s" * 43, event_id="lacounty.gov:1:1", body=b'{"event":"status_change"}')


def test_a_name_rebound_to_loopback_after_the_check_never_reaches_loopback(resolver: Resolver) -> None:
    with recording_server() as witness:
        port = witness.server_address[1]
        resolver.script["rebind.test"] = [PUBLIC, "127.0.0.1"]   # public when checked, loopback afterwards
        with connections() as made, pytest.raises(TemporaryError, match="ConnectionError"):
            send_callback(make_http_session(), callback(f"http://rebind.test:{port}/hook"), STRICT)
        assert witness.connections == []                         # the loopback server heard nothing
    assert made == [(PUBLIC, port)]                              # the checked address, and only it
    assert resolver.asked == ["rebind.test"]                     # one lookup: no second one to connect


def test_a_name_that_does_not_resolve_when_sending_is_retried_not_dropped(resolver: Resolver) -> None:
    resolver.script["gone.test"] = [None]
    with connections() as made, pytest.raises(TemporaryError, match="does not resolve"):
        send_callback(make_http_session(), callback("https://gone.test/hook"), STRICT)
    assert made == []


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@contextmanager
def https_receiver(ca: trustme.CA, name: str) -> Iterator[tuple[int, list[str], list[dict[str, str]]]]:
    """A real HTTPS server on 127.0.0.1 with a certificate for `name`: yields its port, the SNI names it saw
    and the headers of the requests it answered."""
    sni: list[str] = []
    seen: list[dict[str, str]] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    context.sni_callback = lambda _sock, server_name, _ctx: sni.append(str(server_name))  # type: ignore[assignment,misc]

    @Request.application
    def app(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(status=204)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, sni, seen
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def trusting(ca: trustme.CA, tmp_path: Path) -> requests.Session:
    """The gateway's HTTP session, trusting the test CA."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    http = make_http_session()
    http.verify = str(path)
    return http


def test_tls_is_verified_against_the_host_name_while_connecting_to_the_checked_address(
        resolver: Resolver, ca: trustme.CA, tmp_path: Path) -> None:
    resolver.script["hooks.callback.test"] = ["127.0.0.1"]
    with https_receiver(ca, "hooks.callback.test") as (port, sni, seen), connections() as made:
        send_callback(trusting(ca, tmp_path), callback(f"https://hooks.callback.test:{port}/hook"), LOOPBACK)
    assert sni == ["hooks.callback.test"]                          # SNI names the host ...
    assert [h["Host"] for h in seen] == [f"hooks.callback.test:{port}"]   # ... and so does the Host header
    assert made == [("127.0.0.1", port)]
    assert resolver.asked == ["hooks.callback.test"]


def test_a_certificate_for_another_name_is_refused(resolver: Resolver, ca: trustme.CA, tmp_path: Path) -> None:
    resolver.script["hooks.callback.test"] = ["127.0.0.1"]
    with https_receiver(ca, "elsewhere.test") as (port, _sni, seen), \
            pytest.raises(TemporaryError, match="SSLError"):
        send_callback(trusting(ca, tmp_path), callback(f"https://hooks.callback.test:{port}/hook"), LOOPBACK)
    assert seen == []


def test_a_redirect_from_the_receiver_is_not_followed() -> None:
    hits: list[str] = []
    with recording_server() as target:
        def redirecting(request: Request) -> Response:
            hits.append(request.path)
            return Response(status=302, headers={"Location": f"{target.url}/internal"})

        with http_peer(redirecting) as base, pytest.raises(PermanentError, match="HTTP 302"):
            send_callback(make_http_session(), callback(f"{base}/hook"), LOOPBACK)
        assert hits == ["/hook"]
        assert target.connections == []                            # the redirect's target heard nothing
