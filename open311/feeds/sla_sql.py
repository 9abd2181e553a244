"""sla_state in SQL: the stored clock columns compared with the time of the query, one clause for any states.

The clause's shape never depends on which states are asked for: each state's condition is switched on or off
by a boolean bind parameter (`f_sla_<state>`), so the statement is built once (request_statements).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, bindparam, func, or_

from open311.core.sla_clock import SLA_STATES
from open311.storage.models import ServiceRequest, UTCDateTime

_COL = ServiceRequest.__table__.c


def state_clause() -> ColumnElement[bool]:
    """Requests whose sla_state is one of those switched on (bind parameters f_sla_*, f_sla_now)."""
    at = func.coalesce(_COL.sla_paused_at, bindparam("f_sla_now", type_=UTCDateTime()))
    running = and_(_COL.status == "open", _COL.expected_datetime.is_not(None))
    conditions = {
        "on_track": and_(running, at < _COL.sla_risk_at),
        "at_risk": and_(running, at >= _COL.sla_risk_at, at < _COL.expected_datetime),
        "breached": and_(running, at >= _COL.expected_datetime),
        "met": _COL.sla_final == "met",
        "missed": _COL.sla_final == "missed",
    }
    return or_(*(and_(bindparam(f"f_sla_{state}", type_=Boolean()), conditions[state]) for state in SLA_STATES))


def state_params(states: Sequence[str], now: datetime) -> dict[str, Any]:
    """The bind values of state_clause for these states at `now`."""
    return {"f_sla_now": now, **{f"f_sla_{state}": state in states for state in SLA_STATES}}
