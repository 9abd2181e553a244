"""Requests gunicorn refuses before the app sees them: answered with the spec's error list, logged without
the client's address or the refused text.

gunicorn answers a request it cannot parse (a request line over `limit_request_line`, too many or too large
header fields, a header line without a colon, a control character, a repeated Host) from
`Worker.handle_error`, which writes an HTML page and logs "Invalid request from ip=ADDRESS: <the refused
line>", so a key sent in a malformed header line would be logged verbatim. No setting changes either, so
`open311 serve` runs gunicorn's own sync and gthread workers with `handle_error` overridden: a worker class
of one's own is gunicorn's documented extension (setting `worker_class`: "a subclass of
gunicorn.workers.base.Worker").
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from gunicorn import util
from gunicorn.http import Request
from gunicorn.http import errors as parse
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from open311.georeport.render import CONTENT_TYPES, Many, render

log = logging.getLogger("open311.cli.server")
GENERAL_ERROR = "General service error: the request could not be processed."


class Refusal(NamedTuple):
    """What the client is told: status, reason phrase and the error's description."""

    status: int
    reason: str
    description: str


def refusal(exc: BaseException, cfg: Any) -> Refusal:
    """The answer to a request gunicorn could not accept; never quotes the request."""
    if isinstance(exc, (parse.InvalidResponseHeader, parse.InvalidResponseHeaderName)):
        return Refusal(500, "Internal Server Error", GENERAL_ERROR)  # the app's fault, not the client's
    if isinstance(exc, parse.LimitRequestLine):
        return Refusal(414, "URI Too Long",
                       f"The request line is longer than {cfg.limit_request_line} bytes: ask for fewer ids or "
                       "values per request.")
    if isinstance(exc, parse.LimitRequestHeaders):
        return Refusal(431, "Request Header Fields Too Large",
                       f"The request headers are too large: at most {cfg.limit_request_fields} header fields "
                       f"of at most {cfg.limit_request_field_size} bytes each.")
    if isinstance(exc, (parse.InvalidHeader, parse.InvalidHeaderName, parse.ObsoleteFolding)):
        return Refusal(400, "Bad Request",
                       "A request header is malformed: a line without a colon, an invalid name, a control "
                       "character, a folded line, or a repeated Host, Content-Length or Transfer-Encoding.")
    if isinstance(exc, (parse.InvalidRequestLine, parse.InvalidRequestMethod, parse.InvalidHTTPVersion)):
        return Refusal(400, "Bad Request",
                       "The request line is malformed: it must be METHOD /path HTTP/1.1, the path printable "
                       "ASCII (anything else percent-encoded).")
    if isinstance(exc, parse.UnsupportedTransferCoding):
        return Refusal(501, "Not Implemented", "The only Transfer-Encoding accepted is chunked.")
    if isinstance(exc, parse.ExpectationFailed):
        return Refusal(417, "Expectation Failed", "The only Expect accepted is 100-continue.")
    if isinstance(exc, parse.ForbiddenProxyRequest):
        return Refusal(403, "Forbidden", "This address may not send the PROXY protocol.")
    if isinstance(exc, (parse.ParseException, OSError)):  # chunk framing, PROXY line, scheme headers, TLS
        return Refusal(400, "Bad Request", "The request could not be read.")
    return Refusal(500, "Internal Server Error", GENERAL_ERROR)


def request_path(req: Any, exc: BaseException) -> str | None:
    """The path of the refused request, when its request line was read.

    gunicorn hands the request over only for some errors (`req`, or `exc.req`); for a refused header it
    raises while the request is being built, so the request line already read is found on the
    exception's traceback (the gunicorn `Request` being built). None when the line was never read.
    """
    for candidate in (req, getattr(exc, "req", None)):
        path = getattr(candidate, "path", None)
        if isinstance(path, str):
            return path
    tb = exc.__traceback__
    while tb is not None:
        building = tb.tb_frame.f_locals.get("self")
        if isinstance(building, Request) and isinstance(building.path, str):
            return building.path
        tb = tb.tb_next
    return None


def error_bytes(answer: Refusal, path: str | None) -> bytes:
    """The whole HTTP response: the spec's error list, XML when the path ends in .xml, else JSON."""
    fmt = "xml" if path is not None and path.endswith(".xml") else "json"
    body = render(fmt, "errors", Many("error", [{"code": answer.status, "description": answer.description}]))
    head = (f"HTTP/1.1 {answer.status} {answer.reason}\r\nConnection: close\r\n"
            f"Content-Type: {CONTENT_TYPES[fmt]}\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("ascii") + body


class SpecErrors:
    """`handle_error` answering with the spec's error list; its log line names the status, never the client."""

    cfg: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Refuse the request spec-shaped; log one line without address, request line or header text."""
        answer = refusal(exc, self.cfg)
        if answer.status >= 500:
            log.error("request failed in the server (%s)", answer.status, exc_info=exc,
                      extra={"event": "refused", "status": answer.status})
        else:
            log.warning("refused a request the server could not accept: %s (%s)", answer.reason,
                        answer.status, extra={"event": "refused", "status": answer.status})
        try:
            util.write_nonblock(client, error_bytes(answer, request_path(req, exc)))
        except Exception:  # the client is gone: nothing more to tell it
            log.debug("could not send the error response")


class SpecSyncWorker(SpecErrors, SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker (one thread), with spec-shaped refusals."""


class SpecThreadWorker(SpecErrors, ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker (`threads` > 1), with spec-shaped refusals."""


def worker_class(threads: int) -> type[Any]:
    """The worker gunicorn itself would pick for `threads` (sync for one, gthread for more), refusing spec-shaped."""
    return SpecThreadWorker if threads > 1 else SpecSyncWorker
