"""The staff pages' security: CSRF, departments kept apart, the login limit, session rotation, contact details
shown only to their department and only as its policy allows, and an audit row for each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from open311.services import Services
from open311.storage.models import StaffAudit
from tests.conftest import Clock
from tests.delivery import seed_requests
from tests.staff.helpers import (
    PASSWORD,
    audit_actions,
    csrf_of,
    deliver_all,
    login,
    make_account,
    session_cookie,
    staff_config,
)

CANARY_EMAIL = "canary.resident@example.org"
CANARY_PHONE = "555-0100"


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(staff_config(tmp_path, extra={"DPR": {"contact_policy": "none"}}))


def _rows(gateway: Services, action: str) -> list[StaffAudit]:
    with gateway.session() as session, session.begin():
        return list(session.scalars(select(StaffAudit).where(StaffAudit.action == action)))


def test_a_form_without_its_csrf_token_is_refused_and_audited(app: Flask, gateway: Services) -> None:
    (rid,) = seed_requests(gateway, 1, "DPW")
    deliver_all(gateway)
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    assert login(client, "ann@dpw.example.gov").status_code == 303
    page = client.get(f"/staff/requests/{rid}")
    token = csrf_of(page)
    for data in ({"note": "x", "visibility": "internal"},
                 {"note": "x", "visibility": "internal", "csrf_token": "forged"},
                 {"note": "x", "visibility": "internal", "csrf_token": ""}):
        refused = client.post(f"/staff/requests/{rid}/note", data=data)
        assert refused.status_code == 400 and "This form has expired" in refused.get_data(as_text=True)
    assert len(_rows(gateway, "csrf_refused")) == 3
    assert _rows(gateway, "note_internal") == []
    # the login form and logout are CSRF-checked too
    other = app.test_client()
    other.get("/staff/login")
    assert other.post("/staff/login", data={"email": "ann@dpw.example.gov", "password": PASSWORD}).status_code == 400
    assert client.post("/staff/logout", data={}).status_code == 400
    assert len(_rows(gateway, "csrf_refused")) == 5
    done = client.post(f"/staff/requests/{rid}/note", data={"note": "ok", "visibility": "internal",
                                                              "csrf_token": token})
    assert done.status_code == 303


def test_an_agent_gets_404_for_another_departments_request_and_it_is_audited(app: Flask, gateway: Services) -> None:
    (dpr,) = seed_requests(gateway, 1, "DPR")
    (dpw,) = seed_requests(gateway, 1, "DPW")
    deliver_all(gateway)
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    assert client.get(f"/staff/requests/{dpw}").status_code == 200
    page = client.get(f"/staff/requests/{dpr}")
    assert page.status_code == 404 and "No such request" in page.get_data(as_text=True)
    token = csrf_of(client.get(f"/staff/requests/{dpw}"))
    for action, data in (("status", {"status": "CLOSED", "closure_code": "fixed"}), ("note", {"note": "x"}),
                         ("duplicate", {"duplicate_of": str(dpw)})):
        assert client.post(f"/staff/requests/{dpr}/{action}", data={**data, "csrf_token": token}).status_code == 404
    missing = client.get("/staff/requests/999999")
    assert missing.status_code == 404 and missing.get_data() == page.get_data()  # not told apart
    huge = client.get("/staff/requests/" + "9" * 30)  # beyond any BIGINT: still a 404, never a 500
    assert huge.status_code == 404 and huge.get_data() == page.get_data()
    denied = _rows(gateway, "denied")
    assert [row.request_id for row in denied] == [dpr, dpr, dpr, dpr, 999999, None]
    with gateway.session() as session, session.begin():
        from open311.storage.models import ServiceRequest
        assert session.get(ServiceRequest, dpr).status == "open"  # nothing was done to it
    queue = client.get("/staff/?status=any").get_data(as_text=True)
    assert f"#{dpw}" in queue and f"#{dpr}" not in queue


def test_the_eleventh_wrong_password_in_a_minute_gets_429(app: Flask, gateway: Services, clock: Clock) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    for _ in range(10):
        assert login(client, "ann@dpw.example.gov", "wrong password!").status_code == 400
    eleventh = login(client, "ann@dpw.example.gov", "wrong password!")
    assert eleventh.status_code == 429 and eleventh.headers["Retry-After"] == "60"
    # even the right password waits out the minute (no guessing on), whatever the case of the address
    assert login(client, "ANN@dpw.example.gov", PASSWORD).status_code == 429
    assert len(_rows(gateway, "login_failed")) == 10 and len(_rows(gateway, "login_limited")) == 2
    assert all(row.staff_id is not None and row.subject and "ann" not in row.subject
               for row in _rows(gateway, "login_failed"))
    # an unknown address is limited the same way (and its rows never hold the address tried)
    for _ in range(10):
        login(client, "nobody@example.org", "whatever it is")
    assert login(client, "nobody@example.org", "whatever it is").status_code == 429
    assert not any("nobody" in (row.subject or "") + (row.detail or "") for row in _rows(gateway, "login_failed"))
    clock.advance(61)
    assert login(client, "ann@dpw.example.gov", PASSWORD).status_code == 303


def test_a_session_from_before_login_is_not_accepted_after_it(app: Flask, gateway: Services) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    client.get("/staff/login")
    before = session_cookie(client)
    assert before
    response = login(client, "ann@dpw.example.gov")
    after = session_cookie(client)
    assert after and after != before
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Path=/staff" in cookie
    assert client.get("/staff/").status_code == 200
    # an attacker who planted (or read) the pre-login token gets the login page, not the account
    attacker = app.test_client()
    attacker.set_cookie("open311_staff", before, path="/staff")
    stale = attacker.get("/staff/")
    assert stale.status_code == 303 and stale.headers["Location"].startswith("/staff/login")
    assert len(_rows(gateway, "session_refused")) == 1
    # logging out ends the session for good
    client.post("/staff/logout", data={"csrf_token": csrf_of(client.get("/staff/"))})
    replay = app.test_client()
    replay.set_cookie("open311_staff", after, path="/staff")
    assert replay.get("/staff/").status_code == 303
    assert len(_rows(gateway, "session_refused")) == 2
    assert [a for a, _ in audit_actions(gateway) if a in ("login", "logout")] == ["login", "logout"]


def test_contact_details_appear_only_to_the_department_and_as_its_policy_allows(
        app: Flask, gateway: Services) -> None:
    (dpw,) = seed_requests(gateway, 1, "DPW", email=CANARY_EMAIL)
    (dpr,) = seed_requests(gateway, 1, "DPR", email=CANARY_EMAIL)
    deliver_all(gateway)
    make_account(gateway, "ann@dpw.example.gov")
    make_account(gateway, "bob@dpr.example.gov", department="DPR")
    make_account(gateway, "sue@dpr.example.gov", role="supervisor", department="DPR")
    make_account(gateway, "ops@example.gov", role="operator", department=None)

    def pages(client: FlaskClient, ids: tuple[int, ...]) -> list[str]:
        urls = ["/staff/", "/staff/?status=any", "/staff/delivery"]
        urls += [f"/staff/requests/{rid}{q}" for rid in ids for q in ("", "?contact=1")]
        return [client.get(url).get_data(as_text=True) for url in urls]

    dpw_agent = app.test_client()
    login(dpw_agent, "ann@dpw.example.gov")
    hidden = dpw_agent.get(f"/staff/requests/{dpw}").get_data(as_text=True)
    assert CANARY_EMAIL not in hidden and "Show contact details" in hidden
    assert _rows(gateway, "view_contact") == []
    shown = dpw_agent.get(f"/staff/requests/{dpw}?contact=1").get_data(as_text=True)
    assert CANARY_EMAIL in shown and CANARY_PHONE in shown
    assert [row.request_id for row in _rows(gateway, "view_contact")] == [dpw]
    for who in ("bob@dpr.example.gov", "sue@dpr.example.gov", "ops@example.gov"):
        client = app.test_client()
        login(client, who)
        for text in pages(client, (dpw, dpr)):
            assert CANARY_EMAIL not in text and CANARY_PHONE not in text and "Lovelace" not in text
    assert [row.request_id for row in _rows(gateway, "view_contact")] == [dpw]
    denied = {(row.request_id, row.staff_id) for row in _rows(gateway, "denied")}
    assert {rid for rid, _ in denied} >= {dpw}
    with gateway.session() as session, session.begin():
        for row in session.scalars(select(StaffAudit)):
            text = f"{row.subject} {row.detail} {row.address}"
            assert CANARY_EMAIL not in text and CANARY_PHONE not in text and "Lovelace" not in text


def test_roles_keep_to_their_pages(app: Flask, gateway: Services) -> None:
    (rid,) = seed_requests(gateway, 1, "DPW")
    deliver_all(gateway)
    agent = make_account(gateway, "ann@dpw.example.gov")
    make_account(gateway, "ops@example.gov", role="operator", department=None)
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    assert client.get("/staff/delivery").status_code == 403
    token = csrf_of(client.get(f"/staff/requests/{rid}"))
    assert client.post(f"/staff/requests/{rid}/assign",
                       data={"assignee": str(agent.id), "csrf_token": token}).status_code == 403
    operator = app.test_client()
    login(operator, "ops@example.gov")
    assert operator.get("/staff/").headers["Location"] == "/staff/delivery"
    assert operator.get(f"/staff/requests/{rid}").status_code == 403
    assert len(_rows(gateway, "denied")) == 3


def test_a_disabled_account_loses_its_sessions_at_once(app: Flask, gateway: Services) -> None:
    from open311.staff.accounts import disable_account

    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    assert client.get("/staff/").status_code == 200
    with gateway.session() as session:
        disable_account(session, "ann@dpw.example.gov", gateway.clock())
    assert client.get("/staff/").status_code == 303
    assert login(client, "ann@dpw.example.gov").status_code == 400


def test_sessions_end_after_their_idle_time(app: Flask, gateway: Services, clock: Clock) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    clock.advance(59 * 60)
    assert client.get("/staff/").status_code == 200
    clock.advance(61 * 60)
    assert client.get("/staff/").status_code == 303


def test_a_setup_link_works_once(app: Flask, gateway: Services) -> None:
    from open311.staff.accounts import create_account

    with gateway.session() as session:
        made = create_account(session, jurisdiction_id="lacounty.gov", department="DPW", email="new@dpw.example.gov",
                              role="agent", now=gateway.clock())
    client = app.test_client()
    form = client.get(f"/staff/setup/{made.token}")
    assert form.status_code == 200 and "new@dpw.example.gov" in form.get_data(as_text=True)
    short = client.post(f"/staff/setup/{made.token}", data={"password": "short", "confirm": "short",
                                                             "csrf_token": csrf_of(form)})
    assert short.status_code == 400 and "at least 12" in short.get_data(as_text=True)
    done = client.post(f"/staff/setup/{made.token}", data={"password": PASSWORD, "confirm": PASSWORD,
                                                            "csrf_token": csrf_of(form)})
    assert done.status_code == 303
    assert client.get(f"/staff/setup/{made.token}").status_code == 404
    assert login(client, "new@dpw.example.gov").status_code == 303
    assert [a for a, _ in audit_actions(gateway)] == ["password_set", "login"]


def test_abandoned_sessions_are_deleted_when_someone_logs_in(app: Flask, gateway: Services, clock: Clock) -> None:
    from open311.storage.models import StaffSession

    make_account(gateway, "ann@dpw.example.gov")
    for _ in range(3):   # three browsers that opened the login page and never came back
        app.test_client().get("/staff/login")
    clock.advance(61 * 60)
    client = app.test_client()
    assert login(client, "ann@dpw.example.gov").status_code == 303
    css = client.get("/staff/static/staff.css")   # the pages' own files need no session look-up
    assert css.status_code == 200 and b":focus-visible" in css.data
    css.close()
    with gateway.session() as session, session.begin():
        kept = session.scalars(select(StaffSession)).all()
    assert len(kept) == 1 and kept[0].staff_id is not None   # only the new login's
