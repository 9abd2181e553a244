"""The relay loop: claim due outbox rows, hand each ticket to its adapter with no transaction open."""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading

from sqlalchemy.exc import SQLAlchemyError

from .adapter import PermanentError, TemporaryError
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
        gateway = self.gateway
        with gateway.session() as session:
            try:
                ticket = build_ticket(session, gateway.config, claimed)
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
        try:
            receipt = adapter.deliver(ticket)
        except TemporaryError as exc:
            self._fail(claimed, str(exc), permanent=False, retry_after=exc.retry_after)
            return
        except PermanentError as exc:
            self._fail(claimed, str(exc), permanent=True)
            return
        except Exception as exc:  # an adapter bug must not kill the relay; the row is retried
            log.exception("adapter for %s failed unexpectedly on outbox %s", claimed.department, claimed.id)
            self._fail(claimed, f"unexpected {type(exc).__name__} in adapter", permanent=False)
            return
        with gateway.session() as session:
            kept = record_delivered(session, claimed, self.worker, receipt, gateway.clock())
        self.delivered += 1
        if kept:
            log.info("delivered outbox %d (request %d) to %s as %s", claimed.id, claimed.request_id,
                     claimed.department, receipt.external_id[:100])
        else:
            log.warning("delivered outbox %d after its lease expired; another relay owns it now", claimed.id)

    def _fail(self, claimed: Claimed, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        """Record a failed attempt and log it (the message never holds personal data)."""
        with self.gateway.session() as session:
            state = record_failure(session, claimed, self.worker, message, permanent=permanent,
                                   settings=self.settings, now=self.gateway.clock(), rng=self.rng,
                                   retry_after=retry_after)
        level = logging.ERROR if state == DEAD else logging.WARNING
        log.log(level, "outbox %d (request %d, %s) attempt %d failed: %s -> %s", claimed.id, claimed.request_id,
                claimed.department, claimed.attempts, message[:300], "dead letter" if state == DEAD else "retry")
