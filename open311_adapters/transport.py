"""HTTP for adapters: explicit timeouts, no redirects, capped responses, failures sorted into retry or not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import requests
from marshmallow import Schema, fields, validate

from open311.adapter import PermanentError, TemporaryError

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False)


class HttpOptions(Schema):
    """Options every HTTP adapter takes: timeouts in seconds and the largest reply read."""

    connect_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1, max=60))
    timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.1, max=300))
    max_response_bytes = fields.Integer(load_default=1024 * 1024, validate=validate.Range(min=1024, max=64 << 20))


@dataclass(frozen=True)
class Reply:
    """A back office's answer, read whole (up to the cap)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self, what: str) -> Any:
        """The body as JSON; a reply that is not JSON is a temporary fault of the back office."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, RecursionError):
            raise TemporaryError(f"{what}: HTTP {self.status} reply is not JSON") from None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date), None when absent or unreadable."""
    raw = (headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _read(response: requests.Response, limit: int, what: str) -> bytes:
    """Read at most `limit` bytes of a streamed body; a larger one is refused (temporary: ask again later)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TemporaryError(f"{what}: reply of {declared} bytes is larger than {limit}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise TemporaryError(f"{what}: reply larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# requests reads the proxy and CA settings of the environment (HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE ...)
# on every request, scanning the whole environment twice: about a third of its own time per request. Read them
# once per session and back-office origin instead (the environment of a running process does not change).
_ENVIRONMENT: WeakKeyDictionary[requests.Session, dict[str, dict[str, Any]]] = WeakKeyDictionary()


def _environment(http: requests.Session, url: str) -> dict[str, Any]:
    """proxies, verify and cert for the URL's origin, as `Session.request` would merge them."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    by_origin = _ENVIRONMENT.setdefault(http, {})
    found = by_origin.get(origin)
    if found is None:
        settings = http.merge_environment_settings(url, {}, True, None, None)
        found = by_origin[origin] = {k: settings[k] for k in ("proxies", "verify", "cert")}
    return found


def send(http: requests.Session, method: str, url: str, options: Mapping[str, Any], what: str,
         **kwargs: Any) -> Reply:
    """One HTTP exchange with the adapter's timeouts, never following redirects; network faults are temporary.

    What `http.request` does (prepare with the session's headers, cookies and auth, then send), with the
    environment's settings read once per origin; `kwargs` are those of `requests.Request` (data, headers,
    params, json, files, auth).
    """
    timeout = (options.get("connect_timeout", 5.0), options.get("timeout", 30.0))
    limit = int(options.get("max_response_bytes", 1024 * 1024))
    try:
        kwargs["data"], kwargs["params"] = kwargs.get("data") or {}, kwargs.get("params") or {}
        prepared = http.prepare_request(requests.Request(method.upper(), url, **kwargs))
        with http.send(prepared, timeout=timeout, allow_redirects=False, stream=True,
                       **_environment(http, prepared.url or url)) as response:
            body = _read(response, limit, what)
            return Reply(response.status_code, response.headers, body)
    except requests.Timeout:
        raise TemporaryError(f"{what}: timed out") from None
    except requests.ConnectionError:
        raise TemporaryError(f"{what}: cannot connect") from None
    except requests.RequestException as exc:
        raise TemporaryError(f"{what}: {type(exc).__name__}") from None


def check(reply: Reply, what: str, detail: str = "") -> Reply:
    """Return a 2xx reply; raise TemporaryError (retryable statuses, honouring Retry-After) or PermanentError.

    Messages carry the status and `detail` only, never the body: it may echo personal data.
    """
    if 200 <= reply.status < 300:
        return reply
    suffix = f" ({detail})" if detail else ""
    if reply.status in RETRYABLE or reply.status >= 500:
        raise TemporaryError(f"{what}: HTTP {reply.status}{suffix}", retry_after=retry_after(reply.headers))
    if 300 <= reply.status < 400:
        raise PermanentError(f"{what}: HTTP {reply.status} redirect (redirects are not followed; fix the URL)")
    raise PermanentError(f"{what}: HTTP {reply.status}{suffix}")
