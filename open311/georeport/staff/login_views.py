"""Logging in and out, and the one-time set-up link that sets a new account's password."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from open311.georeport.staff.web import (
    COOKIE,
    account,
    anonymous,
    bp,
    check_csrf,
    current,
    gateway,
    note,
    now,
    page,
    policy,
    refuse,
    secure_cookie,
    set_session_cookie,
)
from open311.staff import accounts, audit, sessions

WINDOW = timedelta(minutes=1)
WRONG = "The e-mail address or the password is wrong."
LIMITED = "Too many wrong passwords in the last minute. Wait a minute, then try again."
DONE = {"password": "Your password is set. Log in with it.", "logout": "You are logged out."}


def _next_page() -> str:
    """Where to go after login: a staff page of this site only."""
    target = request.values.get("next") or ""
    if target.startswith("/staff/") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return target
    return url_for("staff.queue")


@bp.get("/login")
def login() -> ResponseReturnValue:
    """The login form (a pre-login session carries its CSRF token)."""
    if account() is not None:
        return redirect(_next_page(), 303)
    anonymous()
    return page("login.html", next=_next_page(), done=DONE.get(request.args.get("done", "")))


@bp.post("/login")
def login_post() -> ResponseReturnValue:
    """Check CSRF, the failure count (429), then the credentials; a success gets a brand-new session."""
    check_csrf()
    email = (request.form.get("email") or "").strip()[:accounts.MAX_EMAIL]
    password = request.form.get("password") or ""
    subject = audit.subject_of(email)
    config = current_app.config
    with gateway().session() as session:
        mine, here = audit.failed_logins(session, subject=subject, address=request.remote_addr,
                                         since=now() - WINDOW)
    if mine >= int(config["OPEN311_STAFF_LOGIN_FAILURES"]) or \
            here >= int(config["OPEN311_STAFF_LOGIN_FAILURES_PER_ADDRESS"]):
        note("login_limited", subject=subject)
        refuse(429, LIMITED, {"Retry-After": str(int(WINDOW.total_seconds()))})
    with gateway().session() as session:
        found = accounts.authenticate(session, email, password)
    if found is None:
        with gateway().session() as session:
            known = accounts.find_account(session, email.lower()) if email else None
        note("login_failed", staff=known, subject=subject)
        return page("login.html", 400, next=_next_page(), problem=WRONG, email=email)
    with gateway().session() as session:
        fresh = sessions.log_in(session, current(), found, now(), policy())
    g.staff_session = fresh
    note("login", staff=found)
    return set_session_cookie(redirect(_next_page(), 303), fresh)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (CSRF-checked, so no other site can log anyone out)."""
    check_csrf()
    found = current()
    if found is not None:
        with gateway().session() as session:
            sessions.end(session, found.token)
        note("logout", staff=found.account)
    g.staff_session = None
    response = redirect(url_for("staff.login", done="logout"), 303)
    response.delete_cookie(COOKIE, path="/staff", secure=secure_cookie(), httponly=True, samesite="Lax")
    return response


@bp.get("/setup/<token>")
def setup(token: str) -> ResponseReturnValue:
    """The set-up form of a one-time link (404 once used or expired)."""
    with gateway().session() as session:
        pending = accounts.setup_pending(session, token[:200], now())
    if pending is None:
        refuse(404, "This set-up link has been used or has expired. Ask for a new one.")
    anonymous()
    return page("setup.html", token=token, email=pending.email, minimum=accounts.MIN_PASSWORD)


@bp.post("/setup/<token>")
def setup_post(token: str) -> ResponseReturnValue:
    """Set the password and spend the link; then log in."""
    check_csrf()
    password = request.form.get("password") or ""
    problem = accounts.check_password(password)
    if problem is None and password != (request.form.get("confirm") or ""):
        problem = "The two passwords differ."
    with gateway().session() as session:
        pending = accounts.setup_pending(session, token[:200], now())
        if pending is None:
            refuse(404, "This set-up link has been used or has expired. Ask for a new one.")
        if problem is not None:
            return page("setup.html", 400, token=token, email=pending.email, minimum=accounts.MIN_PASSWORD,
                        problem=problem)
        done = accounts.setup_account(session, token[:200], password, now())
    if done is None:
        refuse(404, "This set-up link has been used or has expired. Ask for a new one.")
    note("password_set", staff=done)
    return redirect(url_for("staff.login", done="password"), 303)
