"""A response cache in front of the Flask app: repeated GETs answered with the bytes already sent.

Views opt in by marking the request (`mark_static`, `mark_data`); only a complete 200 answer to a plain
GET (no conditional or range header, no cookie set) is kept, headers and all, after every hook ran
(CORS, JSONP, ETag, Cache-Control), so a hit sends exactly what the app would send again:

- static: catalog documents (discovery, services, definitions), fixed while the process runs.
- record: one request by id (GET requests/{id} without extensions): valid while the database is unchanged
  (the token below); its answer does not depend on the clock, so a Status screen polling its request is
  answered from here until something is written.
- data: feed pages. Valid while the database is unchanged (SQLite's `PRAGMA data_version`, read on a
  connection of our own, changes whenever any other connection commits) and within the clock second the
  page was computed in (the default 90-day window moves with the clock). A hide or unhide is such a
  commit, so no kept page outlives it (tests/api/test_hidden.py). Without such a token (PostgreSQL, a
  replica) feed pages are not kept.

The key is everything a GET answer here depends on: path, query string, host, scheme, script name and
Accept-Language. A hit still names its route for the access line and is counted in the metrics.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.request import pathname2url

from flask import Flask, request

from open311.core import metrics
from open311.core.logs import ROUTE_KEY
from open311.services import Services

MARK = "open311.cacheable"
ENTRIES = 512
MAX_BODY = 1024 * 1024
# Bodies kept at most, all entries together: varied query strings must not grow a worker without bound.
MAX_BYTES = 32 * 1024 * 1024
# Any of these makes the answer depend on more than the key (304, 412, 206): the app answers them.
_BYPASS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
           "HTTP_RANGE", "HTTP_IF_RANGE")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def mark_static() -> None:
    """This GET's answer never changes while the process runs."""
    request.environ[MARK] = ("static",)


def mark_record() -> None:
    """This GET's answer depends on the stored data alone (not on the clock)."""
    request.environ[MARK] = ("record",)


def mark_data(now: datetime) -> None:
    """This GET's answer depends on the stored data and on the clock second `now` it was computed at."""
    request.environ[MARK] = ("data", now)


class DataVersion:
    """SQLite's data_version on a private read-only connection (reopened in a forked child)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.pid = -1
        self.connection: sqlite3.Connection | None = None

    def __call__(self) -> int | None:
        """The current version; None (nothing is kept) while the file cannot be read."""
        with self.lock:
            try:
                if self.connection is None or self.pid != os.getpid():
                    self.connection = sqlite3.connect(f"file:{pathname2url(self.path)}?mode=ro", uri=True,
                                                      check_same_thread=False)
                    self.pid = os.getpid()
                return int(self.connection.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                self.connection = None
                return None


@dataclass(frozen=True)
class Entry:
    """A kept answer and what it was valid for."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    route: str
    mark: tuple[Any, ...]
    version: int | None


class ResponseCache:
    """WSGI middleware keeping marked 200 answers (LRU, at most ENTRIES and MAX_BYTES of bodies)."""

    def __init__(self, app: WSGIApp, clock: Callable[[], datetime], version: Callable[[], int | None]) -> None:
        self.app = app
        self.clock = clock
        self.version = version
        self.entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or any(name in environ for name in _BYPASS):
            return self.app(environ, start_response)
        started = time.perf_counter()
        key = (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
               environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme", ""),
               environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        entry = self.entries.get(key)
        version = None if entry is not None and entry.mark[0] == "static" else self.version()
        if entry is not None and self._valid(entry, version):
            with self.lock:
                if key in self.entries:
                    self.entries.move_to_end(key)
            environ[ROUTE_KEY] = entry.route
            start_response(entry.status, list(entry.headers))
            metrics.record_request(entry.route, "GET", 200, time.perf_counter() - started)
            return [entry.body]
        return self._miss(key, version, environ, start_response)

    def _valid(self, entry: Entry, version: int | None) -> bool:
        if entry.mark[0] == "static":
            return True
        if version is None or entry.version != version:
            return False
        return entry.mark[0] == "record" or bool(entry.mark[1] == self.clock())

    def _miss(self, key: tuple[str, ...], version: int | None, environ: dict[str, Any],
              start_response: StartResponse) -> Iterable[bytes]:
        """Let the app answer; keep the answer when its view marked it and it is a plain 200."""
        sent: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        mark = environ.get(MARK)
        if mark is None or not sent or not str(sent[0]).startswith("200 ") \
                or (mark[0] != "static" and version is None) \
                or any(name.lower() == "set-cookie" for name, _ in sent[1]):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if len(body) <= MAX_BODY:
            entry = Entry(sent[0], list(sent[1]), body, str(environ.get(ROUTE_KEY) or "unmatched"), mark, version)
            with self.lock:
                old = self.entries.pop(key, None)
                self.size += len(body) - (len(old.body) if old is not None else 0)
                self.entries[key] = entry
                while len(self.entries) > ENTRIES or self.size > MAX_BYTES:
                    self.size -= len(self.entries.popitem(last=False)[1].body)
        return [body]


def _data_version_of(url: Any) -> Callable[[], int | None] | None:
    """A data version reader for a SQLite file database, else None."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or str(url.database).startswith("file:"):
        return None
    return DataVersion(str(url.database))


def init_app(app: Flask) -> None:
    """Put the cache in front of the app (inside ProxyFix, which create_app adds later, around it)."""
    gateway: Services = app.extensions["open311"]
    reader = _data_version_of(gateway.engine.url)

    def version() -> int | None:
        # A replica lags the primary by an unknown delay: no token tells when its data changed.
        return reader() if reader is not None and gateway.feed_engine is None else None

    app.wsgi_app = ResponseCache(app.wsgi_app, lambda: gateway.clock(), version)  # type: ignore[method-assign]
