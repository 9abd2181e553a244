"""A department's work queue: its delivered requests, filtered and sorted as staff ask, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from open311.core.sla_clock import SLA_STATES
from open311.feeds.sla import sla_state
from open311.feeds.sla_sql import state_clause, state_params
from open311.storage.models import OutboxMessage, ServiceRequest, StaffAccount, StaffAssignment

PAGE_SIZE = 50
STATUSES = ("open", "closed", "any")
ASSIGNED = ("any", "me", "none")
SORTS = ("oldest", "newest", "updated")


@dataclass(frozen=True)
class Filters:
    """What the queue shows: status, service, SLA state, area (a ZIP code), assignment, order and page."""

    status: str = "open"
    service_code: str | None = None
    sla: str | None = None
    area: str | None = None
    assigned: str = "any"
    sort: str = "oldest"
    page: int = 1


@dataclass(frozen=True)
class Item:
    """One line of the queue (public fields only: no contact data is ever listed)."""

    id: int
    service_code: str
    service_name: str
    status: str
    requested_datetime: datetime
    updated_datetime: datetime
    address: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    sla_state: str | None
    assignee: str | None
    hidden: bool


@dataclass(frozen=True)
class Page:
    """A page of the queue and how many requests match in all."""

    items: list[Item]
    total: int
    page: int
    pages: int


def read_filters(args: dict[str, str], service_codes: set[str]) -> tuple[Filters, list[str]]:
    """Filters from query arguments; unknown values are reported (and the default used), never a failure."""
    problems: list[str] = []

    def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = (args.get(name) or default).strip()
        if value not in allowed:
            problems.append(f"{name} must be one of {', '.join(allowed)}")
            return default
        return value

    service = (args.get("service_code") or "").strip() or None
    if service is not None and service not in service_codes:
        problems.append("service_code is not a service of this department")
        service = None
    sla = (args.get("sla") or "").strip() or None
    if sla is not None and sla not in SLA_STATES:
        problems.append(f"sla must be one of {', '.join(SLA_STATES)}")
        sla = None
    area = (args.get("area") or "").strip()[:20] or None
    page_text = (args.get("page") or "1").strip()
    page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 7 else 1
    if page_text != "1" and not (page_text.isdigit() and len(page_text) < 7):
        problems.append("page must be a whole number")
    return Filters(pick("status", STATUSES, "open"), service, sla, area, pick("assigned", ASSIGNED, "any"),
                   pick("sort", SORTS, "oldest"), max(page, 1)), problems


def find_queue(session: Session, jurisdiction_id: str, department: str, filters: Filters, *, me: int,
               now: datetime) -> Page:
    """The department's requests whose ticket reached the queue (its delivery is done), as the filters say."""
    delivered = exists().where(OutboxMessage.request_id == ServiceRequest.id, OutboxMessage.kind == "deliver",
                               OutboxMessage.department == department, OutboxMessage.state == "done")
    where = [ServiceRequest.jurisdiction_id == jurisdiction_id, ServiceRequest.department == department, delivered]
    params: dict[str, object] = {}
    if filters.status != "any":
        where.append(ServiceRequest.status == filters.status)
    if filters.service_code:
        where.append(ServiceRequest.service_code == filters.service_code)
    if filters.area:
        where.append(ServiceRequest.zipcode == filters.area)
    if filters.sla:
        where.append(state_clause())
        params = state_params([filters.sla], now)
    if filters.assigned == "me":
        where.append(StaffAssignment.staff_id == me)
    elif filters.assigned == "none":
        where.append(StaffAssignment.staff_id.is_(None))
    order = {"oldest": (ServiceRequest.requested_datetime, ServiceRequest.id),
             "newest": (ServiceRequest.requested_datetime.desc(), ServiceRequest.id.desc()),
             "updated": (ServiceRequest.updated_datetime.desc(), ServiceRequest.id.desc())}[filters.sort]
    joined = (select(ServiceRequest, StaffAccount.email)
              .outerjoin(StaffAssignment, StaffAssignment.request_id == ServiceRequest.id)
              .outerjoin(StaffAccount, StaffAccount.id == StaffAssignment.staff_id).where(*where))
    counted = (select(func.count()).select_from(ServiceRequest)
               .outerjoin(StaffAssignment, StaffAssignment.request_id == ServiceRequest.id).where(*where))
    with session.begin():
        total = int(session.scalar(counted, params) or 0)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(filters.page, pages)
        rows = session.execute(joined.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE),
                               params).all()
    items = [Item(row.id, row.service_code, row.service_name, row.status, row.requested_datetime,
                  row.updated_datetime, row.address, row.zipcode, row.lat, row.long, sla_state(row, now), email,
                  row.hidden_at is not None) for row, email in rows]
    return Page(items, total, page, pages)
