"""POST rate limits over the `limits` library: per API key (its own limit or the default) and per client address.

This module owns the OPEN311_RATELIMIT_* settings, the counting of POSTs to the service-request route and to
the subscriptions route (nothing else is counted, and reads never touch the counters), the spec-shaped 429
with Retry-After, the X-RateLimit-* headers, and counting in process memory while the configured storage is
down. POST subscriptions counts per key against OPEN311_RATELIMIT_SUBSCRIPTIONS (a key's own limit is for
service requests) and per address against OPEN311_RATELIMIT_PER_ADDRESS, in counters of its own.

Counters live in OPEN311_RATELIMIT_STORAGE: memory:// (one process, the default) or redis://... (shared by
every worker and host). Their keys keep flask-limiter's layout (LIMITER/<prefix>/<bucket>/<route>:<scope>/<limit>),
so counts carry over from versions that used it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, WindowStats, parse_many, strategies
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from werkzeug.exceptions import HTTPException

from open311.errors import ConfigError, Open311Error, TooManyRequests
from open311.georeport.app import current_services
from open311.georeport.auth import api_key_of, key_row
from open311.georeport.parsing import parse_submission, submission_of
from open311.georeport.rate_counters import ProcessMemoryStorage
from open311.intake.keys import check_rate_limit
from open311.storage.models import ApiKey

log = logging.getLogger(__name__)

# The routes counted, with the root elements their XML bodies have (back-office pushes authenticate differently).
REQUESTS, FOLLOWERS, SUBSCRIPTIONS = "georeport.Requests", "georeport.Followers", "georeport.Subscriptions"
REOPEN = "georeport.Reopen"
# (the subscription roots are push.XML_ROOTS)
LIMITED_ENDPOINTS = {REQUESTS: ("request", "service_request"), FOLLOWERS: ("request", "service_request"),
                     REOPEN: ("request", "service_request"),
                     SUBSCRIPTIONS: ("subscription", "request")}
STRATEGIES: dict[str, type[strategies.RateLimiter]] = {
    "moving-window": strategies.MovingWindowRateLimiter,
    "fixed-window": strategies.FixedWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}
OFF = ("", "0", "false", "no", "off", "none")
EXTENSION = "open311.limiter"  # app.extensions key (the readiness check reads .enabled and .storage)
RETRY = "retry after the number of seconds given in the Retry-After header."
RECHECK_CEILING = 32.0  # seconds at most between checks of a storage that is down


@dataclass(frozen=True)
class Settings:
    """The OPEN311_RATELIMIT_* settings, checked (a limit is None when switched off)."""

    per_key: str | None
    per_address: str | None
    subscriptions: str | None   # POST subscriptions per key
    strategy: str
    storage: str
    prefix: str
    enabled: bool


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


def read_settings(config: Mapping[str, Any], problems: list[str]) -> Settings:
    """The settings from the app config, noting every invalid one in `problems`."""
    strategy = str(config["OPEN311_RATELIMIT_STRATEGY"])
    if strategy not in STRATEGIES:
        problems.append(f"OPEN311_RATELIMIT_STRATEGY: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    return Settings(
        per_key=_limit_setting(config, "OPEN311_RATELIMIT_PER_KEY", problems),
        per_address=_limit_setting(config, "OPEN311_RATELIMIT_PER_ADDRESS", problems),
        subscriptions=_limit_setting(config, "OPEN311_RATELIMIT_SUBSCRIPTIONS", problems),
        strategy=strategy, storage=str(config["OPEN311_RATELIMIT_STORAGE"]),
        prefix=str(config["OPEN311_RATELIMIT_PREFIX"]),
        enabled=str(config["OPEN311_RATELIMIT_ENABLED"]).strip().lower() not in OFF)


def open_storage(settings: Settings, problems: list[str]) -> tuple[Storage, strategies.RateLimiter] | None:
    """The configured storage and its strategy (the Redis client connects on first use), or None noting why not."""
    scheme = settings.storage.partition("://")[0] if "://" in settings.storage else "?"
    try:  # memory:// without limits' MemoryStorage and the timer thread it starts (open311/georeport/rate_counters.py)
        storage = ProcessMemoryStorage() if scheme == "memory" else storage_from_string(settings.storage)
    except (ConfigurationError, ValueError) as exc:  # its message may quote the URL, password and all
        reason = str(exc).replace(settings.storage, f"{scheme}://...")
        problems.append(f"OPEN311_RATELIMIT_STORAGE: {reason} (use memory:// or redis://host:6379/0)")
        return None
    if not isinstance(storage, Storage):
        problems.append(f"OPEN311_RATELIMIT_STORAGE: {scheme}:// is an asynchronous storage")
        return None
    if settings.strategy not in STRATEGIES:  # already noted
        return None
    try:
        return storage, STRATEGIES[settings.strategy](storage)
    except NotImplementedError:
        problems.append(f"OPEN311_RATELIMIT_STRATEGY: {settings.strategy} does not work with {scheme}:// storage")
        return None


@lru_cache(maxsize=1024)
def parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """The items of a limit string such as "20/minute;1000/day" (parsed once per distinct string)."""
    return tuple(parse_many(limits))


def _own_limit(row: ApiKey, default: str) -> str:
    """The key's own limit, else the default (also when the stored limit does not parse)."""
    try:
        return row.rate_limit if row.rate_limit and parsed(row.rate_limit) else default
    except ValueError:
        return default


def _presented_key() -> ApiKey | None:
    """The active key row this POST presents, looked up once per request (None: no usable key)."""
    if "open311_rate_key" not in g:
        g.open311_rate_key = _lookup_key()
    return cast(ApiKey | None, g.open311_rate_key)


def _lookup_key() -> ApiKey | None:
    """Find the presented key; a body that does not parse is left for the view to refuse."""
    try:
        if request.endpoint in (REQUESTS, FOLLOWERS):  # bodies with photos, parsed once per request
            submission = submission_of(request)
        else:  # another root element, no photos; the view parses the (cached) body again
            submission = parse_submission(request, LIMITED_ENDPOINTS[str(request.endpoint)])
        key = api_key_of(request, submission)
    except (Open311Error, HTTPException):  # the view raises the same error again
        return None
    if not key:
        return None
    with current_services().session() as session:
        row = key_row(session, key)
    return row if row is not None and row.revoked_at is None else None


@dataclass(frozen=True)
class Rule:
    """One limit on one bucket: the limit, the identifiers of its counter, and the sentence of its 429."""

    item: RateLimitItem
    identifiers: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Verdict:
    """The limit a POST's headers describe, its window after this POST, and whether it refused the POST."""

    rule: Rule
    window: WindowStats
    refused: bool

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* as flask-limiter wrote them (Reset: the Unix time, rounded up, the window frees)."""
        return {"X-RateLimit-Limit": str(self.rule.item.amount),
                "X-RateLimit-Remaining": str(self.window.remaining),
                "X-RateLimit-Reset": str(int(self.window.reset_time + 1))}

    def retry_after(self) -> int:
        """Whole seconds until the refusing limit takes a POST again (1 .. its window)."""
        wait = math.ceil(self.window.reset_time - time.time())
        return max(1, min(self.rule.item.get_expiry(), wait))


def evaluate(limiter: strategies.RateLimiter, rules: list[Rule]) -> Verdict | None:
    """Count the POST against each rule in turn, stopping at the first it breaches; None without rules."""
    for rule in rules:
        if not limiter.hit(rule.item, *rule.identifiers):
            return Verdict(rule, limiter.get_window_stats(rule.item, *rule.identifiers), refused=True)
    windows = [(limiter.get_window_stats(rule.item, *rule.identifiers), rule) for rule in rules]
    if not windows:
        return None
    window, rule = min(windows, key=lambda found: found[0].remaining)  # closest to exhausted; first on ties
    return Verdict(rule, window, refused=False)


class PostLimiter:
    """The POST limits of one app: the rules of each POST, and its counters (in memory while storage is down)."""

    def __init__(self, settings: Settings, storage: Storage | None, limiter: strategies.RateLimiter | None) -> None:
        self.settings, self.storage = settings, storage  # storage: None when the limits are switched off
        self.enabled, self._limiter = limiter is not None, limiter
        self._fallback: strategies.RateLimiter | None = None
        self._lock = threading.Lock()
        self._recheck_at: float | None = None  # while the storage is down: when to ask it again
        self._recheck_in = 1.0
        self._address_items = parsed(settings.per_address) if settings.per_address else ()

    def _ids(self, bucket: str, scope: str) -> tuple[str, ...]:
        """A counter's identifiers, as flask-limiter built them (prefix, bucket, route:scope)."""
        route = f"{request.endpoint}:{scope}"
        return (self.settings.prefix, bucket, route) if self.settings.prefix else (bucket, route)

    def rules(self) -> list[Rule]:
        """What this POST counts against: its key's limits (if it has a usable key), then its address's."""
        found: list[Rule] = []
        subscribing = request.endpoint == SUBSCRIPTIONS
        default = self.settings.subscriptions if subscribing else self.settings.per_key
        row = _presented_key() if default else None
        if row is not None and default:
            limit = default if subscribing else _own_limit(row, default)
            what = "subscription requests" if subscribing else "requests"
            message = f"Too many {what} for this api_key (its limit is {limit}): {RETRY}"
            found += [Rule(item, self._ids(f"key:{row.id}", "api_key"), message) for item in parsed(limit)]
        if self._address_items:
            what = "subscription requests" if subscribing else "requests"
            message = f"Too many {what} from this address (limit {self.settings.per_address}): {RETRY}"
            ids = self._ids(request.remote_addr or "127.0.0.1", "address")
            found += [Rule(item, ids, message) for item in self._address_items]
        return sorted(found, key=lambda rule: rule.item.get_expiry())  # shortest window first, as flask-limiter

    def count(self, rules: list[Rule]) -> Verdict | None:
        """Count a POST; a storage failure switches to process memory (never refuses the POST for it)."""
        limiter = self._counting()
        try:
            return evaluate(limiter, rules)
        except Exception as exc:  # whatever the storage client raises: count in memory rather than refuse
            if limiter is not self._limiter:
                log.exception("rate limits not counted (%s): the POST goes through", type(exc).__name__)
                return None
            limiter = self._storage_failed(exc)
        return evaluate(limiter, rules)

    def _counting(self) -> strategies.RateLimiter:
        """The configured storage's limiter, or the in-memory one while that storage is down."""
        assert self._limiter is not None  # only enabled limits are counted
        if self._recheck_at is not None and time.monotonic() >= self._recheck_at:
            self._recheck()
        if self._recheck_at is None or self._fallback is None:
            return self._limiter
        return self._fallback

    def _storage_failed(self, exc: Exception) -> strategies.RateLimiter:
        """Note the storage down (warning once per outage) and return the in-memory limiter."""
        with self._lock:
            if self._recheck_at is None:
                log.warning("rate-limit storage unreachable (%s): counting in process memory until it answers",
                            type(exc).__name__)
                self._recheck_in = 1.0
                self._recheck_at = time.monotonic() + self._recheck_in
            if self._fallback is None:
                self._fallback = STRATEGIES[self.settings.strategy](ProcessMemoryStorage())
            return self._fallback

    def _recheck(self) -> None:
        """Ask the storage that was down whether it answers: back to it if so, else ask again later (backing off)."""
        assert self.storage is not None
        with self._lock:
            if self._recheck_at is None or time.monotonic() < self._recheck_at:
                return  # another thread asked meanwhile
            self._recheck_in = min(self._recheck_in * 2, RECHECK_CEILING)
            self._recheck_at = time.monotonic() + self._recheck_in  # no other thread asks while this one waits
        try:
            healthy = self.storage.check()
        except Exception:  # a client raising instead of answering False
            healthy = False
        if healthy:
            log.info("rate-limit storage answers again: counting there")
            self._recheck_at = None


def _check_post() -> None:
    """Before a POST to a counted route: count it, and refuse it (429) over a limit."""
    if request.method != "POST" or request.endpoint not in LIMITED_ENDPOINTS:
        return
    limiter: PostLimiter = current_app.extensions[EXTENSION]
    verdict = limiter.count(limiter.rules())
    g.open311_rate_verdict = verdict
    if verdict is not None and verdict.refused:
        raise TooManyRequests(verdict.rule.message, headers={"Retry-After": str(verdict.retry_after())})


def _add_headers(response: Response) -> Response:
    """X-RateLimit-* on a counted POST's answer, describing the limit it is closest to exhausting."""
    verdict: Verdict | None = g.get("open311_rate_verdict")
    if verdict is not None:
        response.headers.update(verdict.headers())
    return response


def init_app(app: Flask) -> PostLimiter:
    """Check the OPEN311_RATELIMIT_* settings (ConfigError lists every problem) and attach the POST limits."""
    problems: list[str] = []
    settings = read_settings(app.config, problems)
    opened = open_storage(settings, problems) if settings.enabled else None
    if problems:
        raise ConfigError(problems)
    storage, limiter = opened or (None, None)
    post_limiter = PostLimiter(settings, storage, limiter)
    app.extensions[EXTENSION] = post_limiter
    if limiter is not None and (settings.per_key or settings.per_address or settings.subscriptions):
        app.before_request(_check_post)
        app.after_request(_add_headers)
    return post_limiter
