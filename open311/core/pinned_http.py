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

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs


class PinnedAdapter(HTTPAdapter):
    """A transport adapter whose connections go to `address`, whatever host name the URL carries."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: bool | str,
            cert: str | tuple[str, str] | None = None) -> tuple[_HostParams, _PoolKwargs]:
        """The pool's host is the pinned address; TLS keeps checking the URL's host name."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = host_params["host"]
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            tls = cast("dict[str, Any]", pool_kwargs)
            tls["server_hostname"] = name   # SNI
            tls["assert_hostname"] = name   # the certificate is checked against the name, not the address
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float, float] | tuple[float, None] | None = None,
             verify: bool | str = True, cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        """Send with a Host header naming the URL's host (the connection itself goes to the address), no proxy."""
        request.headers["Host"] = urlsplit(request.url or "").netloc.rpartition("@")[2]
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})


def trusted_cas(verify: bool | str | None) -> bool | str:
    """What to verify certificates with: an explicit CA bundle or False as given, else the environment's bundle
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, as requests reads them), else requests' default bundle."""
    if verify is not True and verify is not None:
        return verify
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def pinned_session(address: str, *, verify: bool | str | None = True) -> requests.Session:
    """A session whose every connection goes to `address`, with no proxy and no settings from the environment.

    Post with allow_redirects=False: a redirect is then handed to the caller as it is, never followed (a
    transport adapter never follows one itself, and another host would not be the pinned address anyway).
    """
    session = requests.Session()
    session.trust_env = False          # no proxy or .netrc from the environment: the pin is the destination
    session.verify = trusted_cas(verify)
    adapter = PinnedAdapter(address)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
