"""Helpers for delivery and sync tests: configs naming adapters per department, seeded requests, waiting."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from open311.services import Services
from open311.storage.models import OutboxMessage, RequestContact, ServiceRequest
from tests.conftest import ROOT

DEPARTMENTS = {"DPW": "Public Works", "DPR": "Parks and Recreation", "DPH": "Public Health",
               "DRP": "Regional Planning", "DEO": "Economic Opportunity"}
STATUS_MAP = {"NEW": "open", "OPEN": "open", "ASSIGNED": "open", "IN_PROGRESS": "open", "COMPLETED": "closed",
              "CLOSED": "closed"}
# One service per department from the shipped catalog.
SERVICES = {"DPW": ("DPW-GRAFFITI", "Graffiti Abatement"), "DPR": ("DPR-RESTROOM", "Park Restroom"),
            "DPH": ("DPH-POOL-WATER", "Pool Water"), "DRP": ("DRP-INOPERABLE", "Inoperable Vehicle"),
            "DEO": ("DEO-VEND-SIDEWALK", "Sidewalk Vending")}


def precise_now() -> datetime:
    """The real time with microseconds, so sub-second backoffs fall due."""
    return datetime.now(UTC)


def shipped_jurisdiction(root: Path = ROOT) -> dict[str, Any]:
    """The shipped lacounty.gov configuration with every file path made absolute (usable from anywhere)."""
    data = yaml.safe_load((root / "jurisdictions.yaml").read_text())
    jurisdiction: dict[str, Any] = data["jurisdictions"]["lacounty.gov"]

    def absolute(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: absolute(v, k) for k, v in node.items()}
        if isinstance(node, str) and key in ("path", "boundary"):
            return str(root / node)
        return node

    jurisdiction = absolute(jurisdiction)
    jurisdiction["service_definitions"] = str(root / "service_definitions" / "lacounty.gov")
    return jurisdiction


def write_config(directory: Path, departments: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """A jurisdictions.yaml for lacounty.gov with the shipped catalog and GIS; unnamed departments use filedrop."""
    departments = departments or {}
    jurisdiction = shipped_jurisdiction()
    jurisdiction["departments"] = {
        code: {"name": name, "adapter": "filedrop", "options": {"directory": str(directory / "intake" / code)},
               "status_map": STATUS_MAP, "contact_policy": "none" if code == "DEO" else "full",
               **departments.get(code, {})}
        for code, name in DEPARTMENTS.items()}
    path = directory / "jurisdictions.yaml"
    path.write_text(json.dumps({"jurisdictions": {"lacounty.gov": jurisdiction}}, indent=2))  # JSON is YAML
    return path


def seed_requests(gateway: Services, count: int, department: str = "DPW", *, email: str | None = None,
                  now: datetime | None = None) -> list[int]:
    """Insert `count` requests with their outbox rows in one transaction; return their ids."""
    now = now or gateway.clock()
    code, name = SERVICES[department]
    ids = []
    with gateway.session() as session, session.begin():
        for n in range(count):
            row = ServiceRequest(jurisdiction_id="lacounty.gov", service_code=code, service_name=name,
                                 department=department, agency_responsible=DEPARTMENTS[department], status="open",
                                 description=f"request {n}", lat=34.0239, long=-118.172, attributes={},
                                 requested_datetime=now, updated_datetime=now, token=f"t{n}-{time.monotonic_ns()}")
            session.add(row)
            session.flush()
            if email:
                session.add(RequestContact(request_id=row.id, first_name="Ada", last_name="Lovelace", email=email,
                                           phone="555-0100"))
            session.add(OutboxMessage(request_id=row.id, department=department, state="pending", attempts=0,
                                      next_attempt_at=now, created_at=now, updated_at=now))
            ids.append(row.id)
    return ids


def outbox_states(gateway: Services) -> dict[str, int]:
    """How many outbox rows are in each state."""
    with gateway.session() as session, session.begin():
        return dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll until `condition()` holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
