"""Structured logs: one JSON object per line, for the app and for gunicorn, never with personal data.

What keeps personal data out: access lines name the route template (`/open311/v2/requests/<id>.<fmt>`),
never the raw path, query string or client address; exceptions are logged as their type and frames,
never their message (a database error quotes the row it failed on); and every message is scrubbed of
query strings and e-mail addresses as a last line of defence. What gunicorn's workers write to its error
log is scrubbed of network addresses and quoted text as well: gunicorn quotes the request it failed to parse
and names the client ("Invalid request from ip=..."). Its master process never reads a request, and keeps
its own lines whole ("Listening at: http://127.0.0.1:5000", which tools read).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger

# Set by the app on each request's WSGI environ so that the access line can name the route.
ROUTE_KEY = "open311.route"
_QUERY = re.compile(r"\?[^\s\"'<>]*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# IPv4, and IPv6 in full (seven colons) or compressed (`::1`, `fe80::1`, `::ffff:10.0.0.1`).
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_HEX = r"[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}(?::{_HEX})*)?)"
                   r"(?::\[address\])?(?![\w:])")
# Quoted text, as Python's repr() writes it: 'abc', "it's", b'GET / ...'.
_QUOTED = re.compile(r"b?'(?:[^'\\]|\\.)*'" r'|b?"(?:[^"\\]|\\.)*"')
_FIELDS = ("event", "method", "route", "status", "bytes", "duration_ms", "url", "worker")


def scrub(text: str) -> str:
    """Remove query strings and e-mail addresses from a message."""
    if "?" in text:
        text = _QUERY.sub("?[removed]", text)
    if "@" in text:
        text = _EMAIL.sub("[email removed]", text)
    return text


def describe_exception(exc_type: type[BaseException] | None, tb: TracebackType | None) -> str:
    """An exception as its type and frames (innermost first), without its message."""
    frames = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(traceback.extract_tb(tb)))
    return f"{exc_type.__name__ if exc_type else 'Exception'} at {frames or '?'}"


def scrub_server(text: str) -> str:
    """A server message without network addresses or quoted (request) text, then scrubbed as any message."""
    if "'" in text or '"' in text:
        text = _QUOTED.sub("'[removed]'", text)
    if "." in text:
        text = _IPV4.sub("[address]", text)
    if ":" in text:
        text = _IPV6.sub("[address]", text)
    return scrub(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, pid, message, and known structured fields."""

    def message(self, record: logging.LogRecord) -> str:
        """The record's message, scrubbed."""
        return scrub(record.getMessage())

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": self.message(record),
        }
        for name in _FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = describe_exception(record.exc_info[0], record.exc_info[2])
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send the root logger (app, libraries) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces its dialect each time a revision is read (every readiness check).
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))


class ServerFormatter(JsonFormatter):
    """JSON lines for gunicorn's error log: what a worker (any process but the master) logs loses addresses
    and quoted text."""

    def __init__(self, master_pid: int) -> None:
        super().__init__()
        self.master_pid = master_pid

    def message(self, record: logging.LogRecord) -> str:
        """The record's message, scrubbed as a server message when a worker wrote it."""
        text = record.getMessage()
        return scrub(text) if record.process == self.master_pid else scrub_server(text)


class GunicornLogger(GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger with JSON lines, access lines that carry no path, query or address, and error-log
    lines that carry no address or quoted text."""

    def setup(self, cfg: Any) -> None:
        """Let gunicorn set up its handlers, then make them write JSON."""
        super().setup(cfg)
        # gunicorn sets its logger up in the master; the workers it forks inherit it.
        server = ServerFormatter(master_pid=os.getpid())
        for log, formatter in ((self.error_log, server), (self.access_log, JsonFormatter())):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """One line per request: method, route template, status, size, duration."""
        if not self.access_log_enabled:
            return
        route = environ.get(ROUTE_KEY) or "unmatched"
        status = int(str(resp.status).split(None, 1)[0]) if resp.status else 0
        millis = round(request_time.total_seconds() * 1000, 2)
        self.access_log.info("%s %s %s", req.method, route, status, extra={
            "event": "access", "method": req.method, "route": route, "status": status,
            "bytes": getattr(resp, "sent", None), "duration_ms": millis})
