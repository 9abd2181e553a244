"""What every staff page shares: the blueprint, the session cookie, CSRF, the audit helper, errors, headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from open311.config.jurisdictions import Department, Jurisdiction
from open311.errors import Open311Error
from open311.georeport.app import current_services
from open311.georeport.webapp import tile_origin
from open311.services import Services
from open311.staff import audit, sessions
from open311.staff.accounts import OPERATOR, STAFF_ADAPTER
from open311.storage.models import StaffAccount

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates", static_folder="static",
               static_url_path="/static")
COOKIE = "open311_staff"
EXPIRED_FORM = "This form has expired or did not come from this site. Reload the page and try again."


class StaffRefusal(HTTPException):
    """A refusal rendered as a staff page (status, title, message)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = status
        self.message = message
        self.extra_headers = dict(headers or {})


def refuse(status: int, message: str, headers: Mapping[str, str] | None = None) -> NoReturn:
    """Stop this request with a staff error page."""
    raise StaffRefusal(status, message, headers)


def gateway() -> Services:
    """The services of the app."""
    return current_services()


def now() -> datetime:
    """The gateway's clock."""
    return gateway().clock()


def policy() -> sessions.SessionPolicy:
    """Session lengths from the settings."""
    config = current_app.config
    return sessions.SessionPolicy(idle=timedelta(minutes=int(config["OPEN311_STAFF_SESSION_IDLE_MINUTES"])),
                                  lifetime=timedelta(hours=int(config["OPEN311_STAFF_SESSION_MAX_HOURS"])))


def address() -> str | None:
    """The client's address (ProxyFix has applied trusted proxies)."""
    return request.remote_addr


def note(action: str, *, staff: StaffAccount | None = None, request_id: int | None = None,
         detail: str | None = None, subject: str | None = None) -> None:
    """Write one audit row for this request."""
    with gateway().session() as session:
        audit.record(session, action, now(), staff=staff, request_id=request_id, detail=detail, subject=subject,
                     address=address())


def current() -> sessions.Current | None:
    """The session this request presented, if it is live."""
    found: sessions.Current | None = g.get("staff_session")
    return found


def account() -> StaffAccount | None:
    """The logged-in account, if any."""
    found = current()
    return found.account if found is not None else None


@bp.before_request
def _load_session() -> None:
    """Look the cookie's session up once per request (not for the pages' own CSS and scripts)."""
    if request.endpoint == "staff.static":
        g.staff_session, g.staff_stale = None, False
        return
    token = request.cookies.get(COOKIE)
    with gateway().session() as session:
        g.staff_session = sessions.load(session, token, policy(), now()) if token else None
    g.staff_stale = bool(token) and g.staff_session is None


def require(*roles: str) -> StaffAccount:
    """The logged-in account (one of `roles` when given); else the login page (a stale cookie is audited)."""
    found = account()
    if found is None:
        if g.get("staff_stale"):
            note("session_refused", detail=f"{request.method} {request.path[:200]}")
        if request.method == "GET":
            target = request.full_path.rstrip("?") if request.path.startswith("/staff/") else "/staff/"
            abort(redirect(url_for("staff.login", next=target), 303))
        refuse(401, "Your session has ended. Log in again and repeat what you were doing.")
    if roles and found.role not in roles:
        note("denied", staff=found, detail=f"role {found.role}: {request.method} {request.path[:200]}")
        refuse(403, "Your role does not give access to this page.")
    return found


def check_csrf() -> None:
    """Refuse (400) a form POST that does not carry its session's CSRF token; audited."""
    if sessions.csrf_ok(current(), request.form.get("csrf_token")):
        return
    note("csrf_refused", staff=account(), detail=f"{request.method} {request.path[:200]}")
    refuse(400, EXPIRED_FORM)


def desk_of(staff: StaffAccount) -> tuple[Jurisdiction, Department] | None:
    """The jurisdiction and department whose queue an agent or supervisor works (None: no staff queue)."""
    if staff.role == OPERATOR or staff.department is None:
        return None
    jurisdiction = gateway().config.jurisdictions.get(staff.jurisdiction_id)
    department = jurisdiction.departments.get(staff.department) if jurisdiction is not None else None
    if jurisdiction is None or department is None or department.adapter != STAFF_ADAPTER:
        return None
    return jurisdiction, department


def secure_cookie() -> bool:
    """Secure outside debug (OPEN311_STAFF_INSECURE_COOKIE=1 or Flask's debug mode turn it off)."""
    return not (current_app.debug or int(current_app.config.get("OPEN311_STAFF_INSECURE_COOKIE") or 0))


def set_session_cookie(response: BaseResponse, found: sessions.Current) -> BaseResponse:
    """The session cookie: HttpOnly, SameSite=Lax, Secure (outside debug), only for /staff/."""
    response.set_cookie(COOKIE, found.token, httponly=True, samesite="Lax", secure=secure_cookie(), path="/staff")
    return response


def anonymous() -> sessions.Current:
    """This browser's session, created (before login) when it has none: the login form's CSRF token."""
    found = current()
    if found is None:
        with gateway().session() as session:
            found = sessions.start_anonymous(session, now())
        g.staff_session = found
        g.staff_new_cookie = True
    return found


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A staff page rendered with the shared context (account, CSRF token)."""
    found = current()
    me = account()
    body = render_template(f"staff/{template}", me=me, csrf_token=found.csrf_token if found else "",
                           desk=desk_of(me) if me is not None else None, now=now(), utc=UTC, **context)
    return Response(body, status=status, mimetype="text/html")


@bp.after_request
def _headers(response: Response) -> Response:
    """No caching anywhere, a strict content policy, and the cookie of a session made during this request."""
    found = current()
    if g.get("staff_new_cookie") and found is not None:
        set_session_cookie(response, found)
    tiles = str(current_app.config.get("OPEN311_WEBAPP_TILE_URL") or "")
    images = " ".join(filter(None, ("'self' data:", tile_origin(tiles) if tiles else None,
                                    _media_origin())))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _media_origin() -> str | None:
    """Where photos are served from when that is not this gateway (OPEN311_MEDIA_URL elsewhere)."""
    configured = str(current_app.config.get("OPEN311_MEDIA_URL") or "")
    parts = urlsplit(configured)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@bp.errorhandler(StaffRefusal)
def _refused(error: StaffRefusal) -> Response:
    """A refusal as a page."""
    response = page("error.html", error.code or 400, message=error.message, code=error.code or 400)
    response.headers.update(error.extra_headers)
    return response


@bp.errorhandler(Open311Error)
def _use_case_error(error: Open311Error) -> Response:
    """A use-case error (404 for another department's request, 400 ...) as a page."""
    response = page("error.html", error.status, message=" ".join(error.descriptions), code=error.status)
    response.headers.update({k: v for k, v in (error.headers or {}).items() if k.lower() == "retry-after"})
    return response
