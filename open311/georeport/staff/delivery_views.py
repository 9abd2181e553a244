"""The operators' delivery dashboard: per department, what waits, what failed, how fast tickets leave."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue

from open311.delivery.figures import delivery_figures
from open311.delivery.outbox import DEAD, list_messages, requeue_dead
from open311.georeport.staff.web import bp, check_csrf, gateway, note, now, page, require
from open311.staff.accounts import OPERATOR

DEAD_SHOWN = 100


def _departments() -> list[str]:
    """Every configured department code (a quiet one still gets its row)."""
    return sorted({code for j in gateway().config.jurisdictions.values() for code in j.departments})


@bp.get("/delivery")
def delivery() -> ResponseReturnValue:
    """Queue depth, oldest undelivered, last success, p95 time to deliver and dead letters, per department."""
    require(OPERATOR)
    services = gateway()
    with services.session() as session:
        figures = delivery_figures(session, now(), _departments())
        dead = list_messages(session, states=(DEAD,), limit=DEAD_SHOWN)
    return page("delivery.html", figures=figures, dead=dead,
                done=request.args.get("done") == "retry", retried=request.args.get("count", ""))


@bp.post("/delivery/retry")
def retry() -> ResponseReturnValue:
    """Put one dead letter (or a department's) back in the queue, due now."""
    staff = require(OPERATOR)
    check_csrf()
    ident = request.form.get("id") or ""
    department = request.form.get("department") or ""
    ids = [int(ident)] if ident.isdigit() and len(ident) < 19 else []
    with gateway().session() as session:
        count = requeue_dead(session, now(), ids=ids, department=department or None) if ids or department else 0
    note("retry_dead", staff=staff, detail=f"{count} requeued ({'id ' + ident if ids else department or '-'})")
    return redirect(url_for("staff.delivery", done="retry", count=count), 303)
