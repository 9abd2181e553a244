"""Helpers of the staff queue's tests: a configuration with staff departments, accounts, logging in, forms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from open311.services import Services
from open311.staff import accounts
from open311.storage.models import StaffAccount
from tests.delivery import write_config

PASSWORD = "correct horse battery staple"
# DPW and DPR work the staff queue in these tests (DPR's contact policy stays full, DEO keeps filedrop/none).
STAFF_DEPARTMENTS = ("DPW", "DPR")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def staff_config(directory: Path, departments: tuple[str, ...] = STAFF_DEPARTMENTS,
                 extra: Mapping[str, Mapping[str, object]] | None = None) -> Path:
    """The shipped catalog with `departments` on the staff adapter (others on filedrop)."""
    chosen = {code: {"adapter": "staff", "options": {}} for code in departments}
    for code, more in (extra or {}).items():
        chosen[code] = {**chosen.get(code, {}), **more}
    return write_config(directory, chosen)


def make_account(gateway: Services, email: str, role: str = "agent", department: str | None = "DPW",
                 password: str | None = PASSWORD) -> StaffAccount:
    """An account, its password set through its set-up token (as the link would)."""
    with gateway.session() as session:
        made = accounts.create_account(session, jurisdiction_id="lacounty.gov", department=department, email=email,
                                       role=role, now=gateway.clock())
        if password is None:
            return made.account
        done = accounts.setup_account(session, made.token, password, gateway.clock())
    assert done is not None
    return done


def csrf_of(response: TestResponse) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF.search(response.get_data(as_text=True))
    assert found is not None, response.get_data(as_text=True)[:500]
    return found.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Open the login page and post the form (as a browser does)."""
    form = client.get("/staff/login")
    return client.post("/staff/login", data={"email": email, "password": password, "csrf_token": csrf_of(form)})


def session_cookie(client: FlaskClient) -> str | None:
    """The staff session cookie the client holds."""
    found = client.get_cookie("open311_staff", path="/staff")
    return found.value if found is not None else None


def deliver_all(gateway: Services) -> int:
    """Run the relay until nothing is due (the staff adapter acknowledges each ticket into the queue)."""
    from open311.delivery.relay import Relay

    return Relay(gateway, gateway.policies.delivery).run(once=True)


def audit_actions(gateway: Services) -> list[tuple[str, int | None]]:
    """(action, request_id) of every audit row, oldest first."""
    from open311.staff.audit import entries

    with gateway.session() as session:
        return [(e.action, e.request_id) for e in entries(session)]
