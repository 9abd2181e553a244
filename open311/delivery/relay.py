"""The relay loop: claim due outbox rows, hand each ticket to its adapter with no transaction open."""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from open311.adapter import Addition, PermanentError, Receipt, TemporaryError
from open311.core import metrics
from open311.delivery.outbox import DEAD, DONE, Claimed, claim_due, record_delivered_many, record_failure, release
from open311.delivery.tickets import Undeliverable, Work, build_tickets
from open311.feeds.callbacks import build_callback, send_callback
from open311.feeds.subscriptions import CALLBACK_KIND, record_callback_outcome
from open311.notices.compose import compose
from open311.notices.milestones import NOTICE_KIND, sent
from open311.notices.recipients import unsubscribe
from open311.notifier import GoneError
from open311.services import Services
from open311.settings import DeliverySettings, link_origin
from open311.storage.db import writing

log = logging.getLogger(__name__)


def worker_name() -> str:
    """A name unique to this relay run, recorded on the rows it leases."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Attempt:
    """One delivery attempt, recorded with the rest of its batch: a receipt, or why it failed."""

    claimed: Claimed
    receipt: Receipt | None = None
    error: str = ""
    permanent: bool = False
    retry_after: float | None = None
    seconds: float | None = None    # time in the adapter (None: it was not called), for the metrics
    settled: bool = False           # its outcome is recorded already (a notice: at once, right after sending)


class Relay:
    """Delivers the outbox; one instance per thread or process, any number of them per database.

    A batch costs two write transactions, whatever its size: the claim, and the outcomes. In `run` the
    outcomes of one batch and the claim of the next share one transaction (one commit, one disk flush on
    SQLite), and the batch's tickets are read with three queries. Outcomes are recorded when the whole
    batch has been attempted: a relay that dies before leaves its attempted rows leased, and they are
    delivered again when the lease runs out, under the same idempotency key, as after any crash between
    a delivery and its record.
    """

    def __init__(self, gateway: Services, settings: DeliverySettings, *, stop: threading.Event | None = None,
                 rng: random.Random | None = None) -> None:
        self.gateway = gateway
        self.settings = settings
        self.callback_settings = replace(settings, max_attempts=gateway.policies.callbacks.max_attempts)
        self.stop = stop or threading.Event()
        self.rng = rng or random.SystemRandom()
        self.worker = worker_name()
        self.delivered = 0

    def run(self, *, once: bool = False) -> int:
        """Deliver until stopped (or, with `once`, until nothing is due); return how many were delivered."""
        attempts: list[Attempt] = []
        unattempted: list[Claimed] = []
        while True:
            claim = not self.stop.is_set()
            try:
                claimed, tickets = self._settle(attempts, unattempted, claim=claim)
            except SQLAlchemyError as exc:  # the database is unavailable: the rows wait there, so do we
                if once or not claim:
                    raise
                log.error("relay %s: database error, retrying shortly: %s", self.worker, type(exc).__name__)
                self.stop.wait(max(self.settings.poll, 1.0))
                continue                    # the outcomes in hand are recorded on the next try
            attempts, unattempted = [], []
            if not claim:
                break
            if not claimed:
                if once:
                    break
                self.stop.wait(self.settings.poll)
                continue
            attempts, unattempted = self._attempt(claimed, tickets)
        return self.delivered

    def run_batch(self) -> int:
        """Claim one batch, deliver it and record the outcomes; rows not yet attempted when a stop comes are
        released. Returns how many rows were claimed."""
        claimed, tickets = self._settle([], [], claim=True)
        attempts, unattempted = self._attempt(claimed, tickets)
        self._settle(attempts, unattempted, claim=False)
        return len(claimed)

    def _attempt(self, claimed: list[Claimed], tickets: Mapping[int, Work],
                 ) -> tuple[list[Attempt], list[Claimed]]:
        """Attempt each claimed row in turn, with no transaction open; stop early when asked (the rest is
        returned, to be released)."""
        attempts: list[Attempt] = []
        for index, item in enumerate(claimed):
            if self.stop.is_set():
                return attempts, claimed[index:]
            if item.kind == CALLBACK_KIND:
                attempts.append(self.deliver_callback(item))
            elif item.kind == NOTICE_KIND:
                attempts.append(self.deliver_notice(item))
            else:
                attempts.append(self.deliver(item, tickets[item.id]))
        return attempts, []

    def deliver(self, claimed: Claimed, ticket: Work) -> Attempt:
        """One attempt: call the adapter (outside any transaction) with the row's ticket, or its addition."""
        if isinstance(ticket, Undeliverable):
            return Attempt(claimed, error=str(ticket), permanent=True)
        if claimed.attempts > self.settings.max_attempts:  # its relays kept dying mid-delivery
            return Attempt(claimed, error="lease expired on every attempt", permanent=True)
        jurisdiction_id = ticket.ticket.jurisdiction_id if isinstance(ticket, Addition) else ticket.jurisdiction_id
        adapter = self.gateway.adapters.get((jurisdiction_id, claimed.department))
        if adapter is None:
            return Attempt(claimed, error=f"no adapter for {jurisdiction_id}/{claimed.department}",
                           permanent=True)
        started = time.monotonic()
        try:
            receipt = adapter.deliver_addition(ticket) if isinstance(ticket, Addition) else adapter.deliver(ticket)
        except TemporaryError as exc:
            return Attempt(claimed, error=str(exc), retry_after=exc.retry_after, seconds=time.monotonic() - started)
        except PermanentError as exc:
            return Attempt(claimed, error=str(exc), permanent=True, seconds=time.monotonic() - started)
        except Exception as exc:  # an adapter bug must not kill the relay; the row is retried
            log.exception("adapter for %s failed unexpectedly on outbox %s", claimed.department, claimed.id)
            return Attempt(claimed, error=f"unexpected {type(exc).__name__} in adapter",
                           seconds=time.monotonic() - started)
        return Attempt(claimed, receipt=receipt, seconds=time.monotonic() - started)

    def deliver_callback(self, claimed: Claimed) -> Attempt:
        """One attempt of a subscriber's callback."""
        gateway = self.gateway
        assert claimed.subscription_id is not None
        with gateway.session() as session:
            callback = build_callback(session, gateway.config, claimed.subscription_id, claimed.status_update_id,
                                      claimed.sla_event_id)
        if callback is None:
            return Attempt(claimed, error="subscription deleted or disabled", permanent=True)
        try:
            send_callback(gateway.http, callback, gateway.policies.callbacks)
        except TemporaryError as exc:
            return Attempt(claimed, error=str(exc), retry_after=exc.retry_after)
        except PermanentError as exc:
            return Attempt(claimed, error=str(exc), permanent=True)
        return Attempt(claimed, receipt=Receipt(external_id=callback.event_id))

    def deliver_notice(self, claimed: Claimed) -> Attempt:
        """One attempt of a notice to a resident; once sent it is recorded at once (its own transaction), so a
        relay killed from then on never sends it again."""
        gateway = self.gateway
        assert claimed.notice_id is not None
        with gateway.session() as session:
            ready = compose(session, gateway.config, claimed.notice_id, secret=gateway.notice_secret,
                            origin=link_origin(gateway.settings))
        if ready.notice is None:
            return Attempt(claimed, receipt=Receipt(external_id=f"not sent: {ready.skip}"))
        notifier = gateway.notifiers.get(ready.notice.channel)
        if notifier is None:
            return Attempt(claimed, error=f"no {ready.notice.channel} notifier: its OPEN311_NOTICE_* settings are "
                           "unset", permanent=True)
        started = time.monotonic()
        try:
            notifier.send(ready.notice)
        except TemporaryError as exc:
            return Attempt(claimed, error=str(exc), retry_after=exc.retry_after, seconds=time.monotonic() - started)
        except PermanentError as exc:
            if isinstance(exc, GoneError) and ready.recipient_id is not None:
                with gateway.session() as session:
                    unsubscribe(session, ready.recipient_id, gateway.clock())
            return Attempt(claimed, error=str(exc), permanent=True, seconds=time.monotonic() - started)
        except Exception as exc:  # a notifier bug must not kill the relay; the row is retried
            log.exception("notifier %s failed unexpectedly on outbox %s", ready.notice.channel, claimed.id)
            return Attempt(claimed, error=f"unexpected {type(exc).__name__} in notifier",
                           seconds=time.monotonic() - started)
        receipt, now = Receipt(external_id=ready.notice.idempotency_key[:200]), gateway.clock()
        with gateway.session() as session, writing(session) as connection:
            done = record_delivered_many(connection, [(claimed, receipt)], self.worker, now)
            sent(connection, claimed.notice_id, now)
        return Attempt(claimed, receipt=receipt, seconds=time.monotonic() - started, settled=claimed.id in done)

    def _settle(self, attempts: list[Attempt], unattempted: list[Claimed], *,
                claim: bool) -> tuple[list[Claimed], dict[int, Work]]:
        """In one transaction: record the outcomes, release the rows not attempted, and (with `claim`) lease
        the next batch and read its tickets. Then log, count, and update the subscriptions of callbacks."""
        if not attempts and not unattempted and not claim:
            return [], {}
        gateway, now = self.gateway, self.gateway.clock()
        tickets: dict[int, Work] = {}
        with gateway.session() as session:
            with writing(session) as connection:
                done = record_delivered_many(connection, [(a.claimed, a.receipt) for a in attempts
                                                          if a.receipt is not None and not a.settled], self.worker, now)
                states = [(DONE if a.claimed.id in done or a.settled else None) if a.receipt is not None
                          else self._record_failure(connection, a, now) for a in attempts]
                released = release(connection, unattempted, self.worker, now) if unattempted else 0
                claimed = claim_due(connection, self.worker, self.settings, now) if claim else []
                deliveries = [c for c in claimed if c.kind not in (CALLBACK_KIND, NOTICE_KIND)]
                if deliveries:
                    tickets = build_tickets(connection, gateway.config, deliveries, gateway.media)
            for attempt, state in zip(attempts, states, strict=True):
                subscription = attempt.claimed.subscription_id
                if attempt.claimed.kind != CALLBACK_KIND or subscription is None:
                    continue
                if attempt.receipt is not None:
                    record_callback_outcome(session, subscription, delivered=True, dead=False, reason=None, now=now)
                elif state == DEAD:  # a callback given up on drops its subscription
                    record_callback_outcome(session, subscription, delivered=False, dead=True, reason=attempt.error,
                                            now=now)
        for attempt, state in zip(attempts, states, strict=True):
            self._report(attempt, state)
        if unattempted:
            log.info("relay %s stopping: released %d claimed row(s)", self.worker, released)
        return claimed, tickets

    def _record_failure(self, connection: Connection, attempt: Attempt, now: datetime) -> str:
        """Write a failed attempt: retry later or dead letter; return the row's new state."""
        claimed = attempt.claimed
        settings = self.callback_settings if claimed.kind == CALLBACK_KIND else self.settings
        return record_failure(connection, claimed, self.worker, attempt.error, permanent=attempt.permanent,
                              settings=settings, now=now, rng=self.rng, retry_after=attempt.retry_after)

    def _report(self, attempt: Attempt, state: str | None) -> None:
        """Log an outcome once recorded, and count it (the messages never hold personal data)."""
        claimed = attempt.claimed
        if attempt.receipt is not None:
            self.delivered += 1
            if attempt.seconds is not None:
                metrics.record_delivery(claimed.department, attempt.seconds, True)
            if state == DONE:
                log.info("delivered outbox %d (request %d) to %s as %s", claimed.id, claimed.request_id,
                         claimed.department, attempt.receipt.external_id[:100])
            else:
                log.warning("delivered outbox %d after its lease expired; another relay owns it now", claimed.id)
            return
        if attempt.seconds is not None:
            metrics.record_delivery(claimed.department, attempt.seconds, False, permanent=state == DEAD)
        level = logging.ERROR if state == DEAD else logging.WARNING
        log.log(level, "outbox %d (request %d, %s) attempt %d failed: %s -> %s", claimed.id, claimed.request_id,
                claimed.department, claimed.attempts, attempt.error[:300], "dead letter" if state == DEAD else "retry")
