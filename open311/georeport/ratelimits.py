"""POST rate limits with flask-limiter: per API key (its own limit or the default) and per client address.

Counters live in OPEN311_RATELIMIT_STORAGE: memory:// (one process, the default) or redis://...
(shared by every worker and host). A breach answers 429 with Retry-After and the spec's error list.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage
from werkzeug.exceptions import HTTPException

from open311.errors import ConfigError, Open311Error
from open311.georeport.auth import api_key_of, key_row
from open311.georeport.parsing import submission_of
from open311.intake.keys import check_rate_limit
from open311.services import get_gateway
from open311.storage.models import ApiKey

# The routes clients POST service requests to (back-office pushes authenticate differently).
LIMITED_ENDPOINTS = ("georeport.Requests",)
STRATEGIES = ("moving-window", "fixed-window", "sliding-window-counter")
OFF = ("", "0", "false", "no", "off", "none")


def _limit_setting(config: Mapping[str, Any], name: str, problems: list[str]) -> str | None:
    """A limit string from config (None when switched off), noting an invalid one."""
    value = str(config.get(name) or "").strip()
    if value.lower() in OFF:
        return None
    try:
        return check_rate_limit(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


def _presented_key() -> ApiKey | None:
    """The active key row this POST presents, looked up once per request (None: no usable key)."""
    if "open311_rate_key" not in g:
        g.open311_rate_key = _lookup_key()
    row: ApiKey | None = g.open311_rate_key
    return row


def _lookup_key() -> ApiKey | None:
    """Find the presented key; a body that does not parse is left for the view to refuse."""
    if request.method != "POST":
        return None
    try:
        key = api_key_of(request, submission_of(request))
    except (Open311Error, HTTPException):  # the view raises the same error again
        return None
    if not key:
        return None
    with get_gateway().session() as session:
        row = key_row(session, key)
    return row if row is not None and row.revoked_at is None else None


@dataclass(frozen=True)
class PerKeyLimit:
    """The per-key limit: the presented key's own limit, else the configured default."""

    default: str

    def limit(self) -> str:
        """The limit string flask-limiter applies to this request."""
        row = _presented_key()
        return (row.rate_limit if row is not None else None) or self.default

    def message(self) -> str:
        """The description of the 429 error."""
        return (f"Too many requests for this api_key (its limit is {self.limit()}): retry after the number of "
                "seconds given in the Retry-After header.")


def _key_identity() -> str:
    """The bucket of the presented key."""
    row = _presented_key()
    return f"key:{row.id}" if row is not None else "key:none"


def _without_usable_key() -> bool:
    """Nothing to count against: the view answers 403 (the address limit still applies)."""
    return _presented_key() is None


def _retry_after_only_when_refused(response: Response) -> Response:
    """flask-limiter sends Retry-After with every limited response; it means something only on 429 (and 503)."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _is_read() -> bool:
    """GET, HEAD and OPTIONS: never counted against any limit."""
    return request.method in ("GET", "HEAD", "OPTIONS")


def _posts_only(hook: Any, *, response: bool = False) -> Any:
    """A before-request hook (or, with `response`, an after-request hook) that runs for writes only."""
    if response:
        def after(answer: Response) -> Response:
            return answer if _is_read() else hook(answer)

        return after

    @functools.wraps(hook)
    def before() -> Any:
        return None if _is_read() else hook()

    return before


def _belongs_to(hook: Any, limiter: Limiter) -> bool:
    """Whether an after-request hook is the limiter's own (a partial of one of its methods bound to it)."""
    return isinstance(hook, functools.partial) and hook.args == (limiter,)


def _posts_through(limited: Any, original: Any) -> Any:
    """The view a route runs: POSTs through the limiter's wrappers, reads straight to the view."""

    @functools.wraps(original)
    def view(*args: Any, **kwargs: Any) -> Any:
        return (limited if request.method == "POST" else original)(*args, **kwargs)

    return view


SWEEP_INTERVAL = 1.0


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage, sweeping expired counters at most once a second.

    The stock storage starts a new timer thread on nearly every hit once traffic is sparser than one request
    per 10 ms (each start waits for the thread to be scheduled: about 0.5 ms on a busy machine). Expired
    entries never count (every check compares timestamps), so sweeping less often only keeps them in memory
    a little longer.
    """

    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # overrides the name-mangled hook
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        if not self.timer.is_alive():
            self.timer = threading.Timer(SWEEP_INTERVAL, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
            self.timer.daemon = True
            self.timer.start()


def init_app(app: Flask) -> Limiter:
    """Create the limiter from the OPEN311_RATELIMIT_* settings and attach the POST limits."""
    config = app.config
    problems: list[str] = []
    per_key = _limit_setting(config, "OPEN311_RATELIMIT_PER_KEY", problems)
    per_address = _limit_setting(config, "OPEN311_RATELIMIT_PER_ADDRESS", problems)
    strategy = str(config["OPEN311_RATELIMIT_STRATEGY"])
    if strategy not in STRATEGIES:
        problems.append(f"OPEN311_RATELIMIT_STRATEGY: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if problems:
        raise ConfigError(problems)
    limiter = Limiter(
        get_remote_address, storage_uri=str(config["OPEN311_RATELIMIT_STORAGE"]), strategy=strategy,
        key_prefix=str(config["OPEN311_RATELIMIT_PREFIX"]), headers_enabled=True, retry_after="delta-seconds",
        # Storage down: count in memory per process rather than refuse every POST.
        swallow_errors=True, in_memory_fallback_enabled=True,
        enabled=str(config["OPEN311_RATELIMIT_ENABLED"]).strip().lower() not in OFF,
    )
    # Flask runs after_request hooks last-registered first: this one runs after flask-limiter's own.
    app.after_request(_retry_after_only_when_refused)
    limiter.init_app(app)
    # Only POSTs are limited: reads skip the limiter's per-request bookkeeping altogether.
    limiter.request_filter(_is_read)
    storage = limiter._storage  # None when the limits are switched off
    if type(storage) is MemoryStorage:
        storage.__class__ = SweptMemoryStorage
    # That filter makes every limit skip reads, yet the limiter's hooks would still look its limits up and
    # check for deductions and headers on each one: reads do not enter them (none of it applies to them).
    before = app.before_request_funcs.setdefault(None, [])
    before[:] = [_posts_only(f) if f == limiter._check_request_limit else f for f in before]
    after = app.after_request_funcs.setdefault(None, [])
    after[:] = [_posts_only(f, response=True) if _belongs_to(f, limiter) else f for f in after]
    for endpoint in LIMITED_ENDPOINTS:
        original: Any = app.view_functions[endpoint]
        view = original
        if per_key:
            rule = PerKeyLimit(per_key)
            view = limiter.limit(rule.limit, key_func=_key_identity, methods=["POST"], scope="api_key",
                                 exempt_when=_without_usable_key, error_message=rule.message)(view)
        if per_address:
            message = (f"Too many requests from this address (limit {per_address}): retry after the number of "
                       "seconds given in the Retry-After header.")
            view = limiter.limit(per_address, methods=["POST"], scope="address", error_message=message)(view)
        app.view_functions[endpoint] = _posts_through(view, original)
    app.extensions["open311.limiter"] = limiter
    return limiter
