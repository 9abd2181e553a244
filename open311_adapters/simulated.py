"""`simulated`: a back office that is not there, for the sandbox jurisdiction (docs/api.md#sandbox).

It acknowledges every ticket at once (status NEW: received), then the status sync finds it ASSIGNED after
`assign_after` seconds and CLOSED after `close_after`, with a closure reason: `fixed` as a rule, `referred` for
every `referral_every`-th request and `duplicate` for every `duplicate_every`-th one (of an earlier sandbox
ticket still tracked; `not_found` when there is none). So an app maker sees every state a real department
produces, seconds apart in the demo configuration.

Nothing is kept: the delivery time rides in the external id (`SIM-<service_request_id>-<unix seconds>`), and
each pull derives the updates due by now from it, so a restart or a second process answers the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from marshmallow import Schema, fields, validate

from open311.adapter import Adapter, Receipt, RemoteUpdate, Ticket

PREFIX = "SIM"


class SimulatedOptions(Schema):
    """Seconds until each step, and how often a closure is a referral or a duplicate (0: never)."""

    assign_after = fields.Float(load_default=10.0, validate=validate.Range(min=0))
    close_after = fields.Float(load_default=30.0, validate=validate.Range(min=0))
    referral_every = fields.Integer(load_default=5, validate=validate.Range(min=0))
    duplicate_every = fields.Integer(load_default=7, validate=validate.Range(min=0))


def external_id(service_request_id: str, delivered: datetime) -> str:
    """The back office's id of a ticket: our id and when it was delivered."""
    return f"{PREFIX}-{service_request_id}-{int(delivered.timestamp())}"


def parse_external_id(value: str) -> tuple[str, datetime] | None:
    """(service_request_id, delivered) from an external id, or None for one this adapter did not make."""
    parts = value.split("-")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[1], datetime.fromtimestamp(int(parts[2]), UTC)


class SimulatedAdapter(Adapter):
    """A back office that answers on a schedule (see the module's docstring)."""

    options_schema = SimulatedOptions
    supports_updates = True

    def deliver(self, ticket: Ticket) -> Receipt:
        """Acknowledge at once: received."""
        return Receipt(external_id(ticket.service_request_id, self.clock()), status="NEW")

    def closure(self, service_request_id: str, tracked: Sequence[str]) -> tuple[str, str | None]:
        """How a ticket closes: fixed, or now and then referred or a duplicate of an earlier tracked ticket."""
        number = int(service_request_id)
        every_dup, every_ref = self.options["duplicate_every"], self.options["referral_every"]
        if every_dup and number % every_dup == 0:
            earlier = sorted((int(i) for i in tracked if int(i) < number), reverse=True)
            return ("duplicate", str(earlier[0])) if earlier else ("not_found", None)
        if every_ref and number % every_ref == 0:
            return "referred", None
        return "fixed", None

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterator[RemoteUpdate]:
        """The steps due by now of every tracked ticket (the sync skips those it already has by update_id)."""
        now = self.clock()
        tickets = [(eid, found) for eid in external_ids if (found := parse_external_id(eid)) is not None]
        tracked = [sid for _, (sid, _) in tickets]
        assign, close = (timedelta(seconds=self.options[k]) for k in ("assign_after", "close_after"))
        for eid, (sid, delivered) in tickets:
            if delivered + assign <= now:
                yield RemoteUpdate(update_id=f"{eid}:assigned", external_id=eid, service_request_id=sid,
                                   status="ASSIGNED", updated_datetime=delivered + assign,
                                   description="Assigned to a crew (simulated back office).")
            if delivered + max(close, assign) <= now:
                code, duplicate_of = self.closure(sid, tracked)
                notes = {"fixed": "Fixed (simulated back office).", "referred": "Referred to another agency "
                         "(simulated back office).", "duplicate": "A duplicate of an earlier report (simulated "
                         "back office).", "not_found": "The problem was not found (simulated back office)."}
                yield RemoteUpdate(update_id=f"{eid}:closed", external_id=eid, service_request_id=sid,
                                   status="CLOSED", updated_datetime=delivered + max(close, assign),
                                   description=notes[code], closure_code=code, duplicate_of=duplicate_of)
