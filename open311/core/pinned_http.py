"""HTTP to one vetted IP address: a requests transport adapter that never resolves the host name again.

Why: the gateway resolves a callback URL's host and checks every address before it calls it. If requests
then resolved the name a second time to connect, a DNS answer changed in between (DNS rebinding) would
reach an address nobody checked, such as 127.0.0.1. PinnedAdapter hands urllib3's connection pool the
checked address as the host to connect to, while TLS still sends SNI for, and verifies the certificate
against, the URL's host name (urllib3's `server_hostname` and `assert_hostname` pool arguments), and the
Host header still names it. Public APIs only: HTTPAdapter.build_connection_pool_key_attributes (the hook
requests documents for subclasses) and urllib3 2's HTTPSConnectionPool keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class PinnedAdapter(HTTPAdapter):
    """A transport adapter whose connections go to `address`, whatever host name the URL carries."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: bool | str,
            cert: str | tuple[str, str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The pool's host is the pinned address; TLS keeps checking the URL's host name."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = host_params["host"]
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name   # SNI
            pool_kwargs["assert_hostname"] = name   # certificate checked against the name, not the address
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: None | float | tuple[float, float] | tuple[float, None] = None,
             verify: bool | str = True, cert: None | bytes | str | tuple[bytes | str, bytes | str] = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        """Send with a Host header naming the URL's host (the connection itself goes to the address)."""
        request.headers["Host"] = urlsplit(request.url or "").netloc.rpartition("@")[2]
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})


def pinned_session(address: str, *, verify: bool | str = True) -> requests.Session:
    """A session whose every connection goes to `address`: no proxies, no redirects, no environment settings."""
    session = requests.Session()
    session.trust_env = False          # no proxy or .netrc from the environment: the pin is the destination
    session.max_redirects = 0
    session.verify = verify
    adapter = PinnedAdapter(address)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
