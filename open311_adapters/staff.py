"""staff: the department's back office is the gateway's own work queue at /staff/ (docs/staff.md).

Delivering a ticket is acknowledging it: the request is already in the database the queue reads, so the
receipt's back-office id is the queue's own name for it. Followers, reopens and SLA events show on the
request's page from the same database, so their additions are acknowledged too. Status does not come back
through fetch_updates: staff actions record their updates directly, through the same path as a back office's
push (open311.delivery.status.record_update, source "staff").
"""

from __future__ import annotations

from typing import ClassVar

from open311.adapter import Adapter, Addition, Receipt, Ticket


class StaffQueueAdapter(Adapter):
    """Tickets land in the staff work queue (nothing leaves the gateway)."""

    takes_sla_events: ClassVar[bool] = True

    def deliver(self, ticket: Ticket) -> Receipt:
        """Acknowledge the ticket: it is now in the department's queue."""
        return Receipt(external_id=f"queue-{ticket.service_request_id}", status="NEW")

    def deliver_addition(self, addition: Addition) -> Receipt:
        """Acknowledge a follower, reopen or SLA event: the request's page shows it."""
        return Receipt(external_id=addition.external_id)
