"""The relay loop: claim due outbox rows, hand each ticket to its adapter with no transaction open."""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from . import metrics
from .adapter import PermanentError, Receipt, TemporaryError
from .callbacks import build_callback, send_callback
from .gateway import Gateway
from .outbox import (
    DEAD,
    Claimed,
    Undeliverable,
    build_ticket,
    claim_due,
    record_delivered,
    record_failure,
    release,
)
from .subscriptions import CALLBACK_KIND, record_callback_outcome
from .tuning import DeliverySettings

log = logging.getLogger(__name__)


def worker_name() -> str:
    """A name unique to this relay run, recorded on the rows it leases."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class Relay:
    """Delivers the outbox; one instance per thread or process, any number of them per database."""

    def __init__(self, gateway: Gateway, settings: DeliverySettings, *, stop: threading.Event | None = None,
                 rng: random.Random | None = None) -> None:
        self.gateway = gateway
        self.settings = settings
        self.stop = stop or threading.Event()
        self.rng = rng or random.SystemRandom()
        self.worker = worker_name()
        self.delivered = 0

    def run(self, *, once: bool = False) -> int:
        """Deliver until stopped (or, with `once`, until nothing is due); return how many were delivered."""
        while not self.stop.is_set():
            try:
                claimed = self.run_batch()
            except SQLAlchemyError as exc:  # the database is unavailable: the rows wait there, so do we
                if once:
                    raise
                log.error("relay %s: database error, retrying shortly: %s", self.worker, type(exc).__name__)
                self.stop.wait(max(self.settings.poll, 1.0))
                continue
            if claimed == 0:
                if once:
                    break
                self.stop.wait(self.settings.poll)
        return self.delivered

    def run_batch(self) -> int:
        """Claim one batch and deliver it; rows not yet attempted when a stop comes are released."""
        with self.gateway.session() as session:
            claimed = claim_due(session, self.worker, self.settings, self.gateway.clock())
        for index, item in enumerate(claimed):
            if self.stop.is_set():
                with self.gateway.session() as session:
                    count = release(session, claimed[index:], self.worker, self.gateway.clock())
                log.info("relay %s stopping: released %d claimed row(s)", self.worker, count)
                break
            self.deliver(item)
        return len(claimed)

    def deliver(self, claimed: Claimed) -> None:
        """One attempt: build the ticket, call the adapter outside any transaction, record the outcome."""
        if claimed.kind == CALLBACK_KIND:
            self.deliver_callback(claimed)
            return
        gateway = self.gateway
        with gateway.session() as session:
            try:
                ticket = build_ticket(session, gateway.config, claimed, gateway.media)
            except Undeliverable as exc:
                self._fail(claimed, str(exc), permanent=True)
                return
        if claimed.attempts > self.settings.max_attempts:  # its relays kept dying mid-delivery
            self._fail(claimed, "lease expired on every attempt", permanent=True)
            return
        adapter = gateway.adapters.get((ticket.jurisdiction_id, claimed.department))
        if adapter is None:
            self._fail(claimed, f"no adapter for {ticket.jurisdiction_id}/{claimed.department}", permanent=True)
            return
        started = time.monotonic()
        try:
            receipt = adapter.deliver(ticket)
        except TemporaryError as exc:
            self._fail(claimed, str(exc), permanent=False, retry_after=exc.retry_after, started=started)
            return
        except PermanentError as exc:
            self._fail(claimed, str(exc), permanent=True, started=started)
            return
        except Exception as exc:  # an adapter bug must not kill the relay; the row is retried
            log.exception("adapter for %s failed unexpectedly on outbox %s", claimed.department, claimed.id)
            self._fail(claimed, f"unexpected {type(exc).__name__} in adapter", permanent=False, started=started)
            return
        metrics.record_delivery(claimed.department, time.monotonic() - started, True)
        self._done(claimed, receipt)

    def deliver_callback(self, claimed: Claimed) -> None:
        """One attempt of a subscriber's callback; a callback given up on drops its subscription."""
        gateway = self.gateway
        assert claimed.subscription_id is not None and claimed.status_update_id is not None
        with gateway.session() as session:
            callback = build_callback(session, gateway.config, claimed.subscription_id, claimed.status_update_id)
        if callback is None:
            self._fail(claimed, "subscription deleted or disabled", permanent=True)
            return
        try:
            send_callback(gateway.http, callback, gateway.callbacks)
        except TemporaryError as exc:
            self._fail(claimed, str(exc), permanent=False, retry_after=exc.retry_after)
            return
        except PermanentError as exc:
            self._fail(claimed, str(exc), permanent=True)
            return
        with gateway.session() as session:
            record_callback_outcome(session, claimed.subscription_id, delivered=True, dead=False, reason=None,
                                    now=gateway.clock())
        self._done(claimed, Receipt(external_id=callback.event_id))

    def _done(self, claimed: Claimed, receipt: Receipt) -> None:
        """Record a delivery and log it."""
        with self.gateway.session() as session:
            kept = record_delivered(session, claimed, self.worker, receipt, self.gateway.clock())
        self.delivered += 1
        if kept:
            log.info("delivered outbox %d (request %d) to %s as %s", claimed.id, claimed.request_id,
                     claimed.department, receipt.external_id[:100])
        else:
            log.warning("delivered outbox %d after its lease expired; another relay owns it now", claimed.id)

    def _fail(self, claimed: Claimed, message: str, *, permanent: bool, retry_after: float | None = None,
              started: float | None = None) -> None:
        """Record a failed attempt and log it (the message never holds personal data)."""
        callback = claimed.kind == CALLBACK_KIND
        settings = replace(self.settings, max_attempts=self.gateway.callbacks.max_attempts) if callback \
            else self.settings
        now = self.gateway.clock()
        with self.gateway.session() as session:
            state = record_failure(session, claimed, self.worker, message, permanent=permanent,
                                   settings=settings, now=now, rng=self.rng, retry_after=retry_after)
            if callback and state == DEAD and claimed.subscription_id is not None:
                record_callback_outcome(session, claimed.subscription_id, delivered=False, dead=True,
                                        reason=message, now=now)
        if started is not None:
            metrics.record_delivery(claimed.department, time.monotonic() - started, False, permanent=state == DEAD)
        level = logging.ERROR if state == DEAD else logging.WARNING
        log.log(level, "outbox %d (request %d, %s) attempt %d failed: %s -> %s", claimed.id, claimed.request_id,
                claimed.department, claimed.attempts, message[:300], "dead letter" if state == DEAD else "retry")
