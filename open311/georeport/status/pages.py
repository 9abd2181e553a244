"""GET /r/<token>: a request's status page (a capability URL); follow it, say it is not fixed; unsubscribe.

The page shows only what the public feed shows (status, history, closure reason and photo, expected date) in
the report's language, never contact data. Its answers are never cached and send no Referer (the URL is the
capability). A wrong or withdrawn token is a 404.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from babel.dates import format_datetime
from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from open311.config.jurisdictions import Jurisdiction
from open311.core import i18n
from open311.core.closure import public_closure
from open311.errors import BadRequest, Conflict, Forbidden, NotFound
from open311.feeds.history import updates_by_request
from open311.georeport.app import current_services
from open311.georeport.http_cache import make_conditional
from open311.georeport.lifecycle import reopen_hook
from open311.georeport.notice_intake import notice_setup
from open311.georeport.status.words import words_for
from open311.intake.reopen import reopen_request
from open311.intake.submit import Submission
from open311.notices.links import find_status_link, read_unsubscribe_token
from open311.notices.recipients import add_recipients, read_notify, unsubscribe
from open311.notices.texts import reason
from open311.storage.db import writing
from open311.storage.models import NoticeRecipient, ServiceRequest, StatusLink

bp = Blueprint("status", __name__, url_prefix="/r", template_folder="templates", static_folder="static",
               static_url_path="/static")
MAX_FOLLOWERS = 20   # recipients a status link may add to one request (the link can be shared, not farmed)


@bp.app_template_global("direction")
def _direction(lang: str) -> str:
    """The page's writing direction (rtl for Arabic and Farsi), for the templates' <html dir>."""
    return i18n.direction(lang)


def _lang(link_locale: str | None) -> tuple[str, dict[str, str]]:
    """The page's language: `?lang=` when it names one, else the report's."""
    return words_for(request.args.get("lang") or link_locale)


def _html(body: str, status: int = 200) -> Response:
    """A status page answer: never cached, no Referer, only our own scripts and styles."""
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update({
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: "
        "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    })
    return response


def _gone(lang_locale: str | None = None) -> Response:
    """The 404 page (a wrong, tampered or withdrawn link)."""
    lang, words = _lang(lang_locale)
    return _html(render_template("status/gone.html", lang=lang, w=words), 404)


def _found(token: str) -> tuple[StatusLink, ServiceRequest, Jurisdiction] | None:
    """The live link of a token, its request and jurisdiction."""
    gateway = current_services()
    with gateway.session() as session:
        link = find_status_link(session, token)
        if link is None:
            return None
        with session.begin():
            row = session.get(ServiceRequest, link.request_id)
    jurisdiction = gateway.config.jurisdictions.get(row.jurisdiction_id) if row is not None else None
    if row is None or jurisdiction is None:
        return None
    return link, row, jurisdiction


def _when(value: datetime | None, jurisdiction: Jurisdiction, lang: str) -> str | None:
    """A date as the report's language writes it, in the jurisdiction's time zone."""
    if value is None:
        return None
    return format_datetime(value.astimezone(jurisdiction.timezone), "medium", locale=i18n.babel_locale(lang))


def _page(token: str, link: StatusLink, row: ServiceRequest, jurisdiction: Jurisdiction, *, status: int = 200,
          done: str | None = None, problems: tuple[str, ...] = (), field: str | None = None,
          problems_lang: str = "en") -> Response:
    """The status page; with problems, `field` names the form field they are about (marked invalid, focused) and
    `problems_lang` the language they are written in (the gateway's own errors are English)."""
    lang, words = _lang(link.locale)
    gateway = current_services()
    with gateway.session() as session:
        history = updates_by_request(session, [row.id]).get(row.id, [])
    service = jurisdiction.catalog.services_in(lang).get(row.service_code)
    closure = public_closure(row.status, row.closure_code)
    photo = next((u.media_url for u in reversed(history) if u.status == "closed" and u.media_url), None)
    notes = [{"when": _when(u.updated_datetime, jurisdiction, lang), "status": words.get(u.status or "", u.status),
              "text": u.description} for u in history]
    body = render_template(
        "status/page.html", lang=lang, w=words, token=token, row=row,
        service_name=service.service_name if service is not None else row.service_name,
        status_word=words.get(row.status, row.status), reason=_closure_reason(closure, lang),
        photo=photo, notes=notes, received=_when(row.requested_datetime, jurisdiction, lang),
        expected=_when(row.expected_datetime, jurisdiction, lang) if row.status == "open" else None,
        done=words.get(done or "", None), problems=problems, problem_field=field if problems else None,
        problems_lang=problems_lang, closed=row.status == "closed",
        address=row.address if row.hidden_at is None else None,
        vapid_key=str(current_app.config.get("OPEN311_NOTICE_VAPID_PUBLIC_KEY") or "")
        if "push" in gateway.notifiers else "", email_on="email" in gateway.notifiers)
    return _html(body, status)


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker that shows pushed notices (served here so that its scope is /r/); read whole (it is
    small), so that no file handle outlives the request, whoever reads the answer."""
    response = Response(Path(bp.static_folder or "", "sw.js").read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.headers["Service-Worker-Allowed"] = "/r/"
    return make_conditional(response)


@bp.get("/<token>")
def status_page(token: str) -> ResponseReturnValue:
    """A request's status, in the report's language."""
    found = _found(token)
    if found is None:
        return _gone()
    return _page(token, *found, done=request.args.get("done"))


@bp.post("/<token>/follow")
def follow(token: str) -> ResponseReturnValue:
    """Follow by e-mail (or this device's push subscription): notices from the next milestone on."""
    found = _found(token)
    if found is None:
        return _gone()
    link, row, jurisdiction = found
    gateway = current_services()
    fields = {key: value for key, value in request.form.items() if key in ("notify", "email", "push_subscription")}
    problems: list[str] = []
    setup = notice_setup(gateway, jurisdiction.catalog, {"locale": link.locale})
    wanted = read_notify(fields, setup.policy, problems)
    lang, words = _lang(link.locale)
    if not wanted and not problems:
        problems.append("notify must be email or push.")
    by_email = fields.get("notify") == "email" and "email" in gateway.notifiers   # the page's e-mail form
    problems_lang = "en"
    if problems and by_email:   # its one field's problem, in the page's words
        problems, problems_lang = [words["bad_email"]], lang
    with gateway.session() as session:
        with session.begin():
            count = session.scalar(select(func.count()).select_from(NoticeRecipient)
                                   .where(NoticeRecipient.request_id == row.id)) or 0
        if count + len(wanted) > MAX_FOLLOWERS:
            problems, problems_lang = [words["full"]], lang
        if problems:
            return _page(token, link, row, jurisdiction, status=400, problems=tuple(problems),
                         field="email" if by_email else None, problems_lang=problems_lang)
        with writing(session) as connection:
            add_recipients(connection, row.id, wanted, lang, gateway.clock())
    return _page(token, link, row, jurisdiction, done="followed")


@bp.post("/<token>/not-fixed")
def not_fixed(token: str) -> ResponseReturnValue:
    """Reopen a closed report (the lifecycle's reopen, with the link speaking for the submitter)."""
    found = _found(token)
    if found is None:
        return _gone()
    link, row, jurisdiction = found
    gateway = current_services()
    submission = Submission(fields={"description": request.form.get("description") or ""})
    try:
        with gateway.session() as session:
            reopen_request(session, jurisdiction, str(row.id), submission, None, gateway.clock(),
                           on_update=reopen_hook(jurisdiction))
    except (BadRequest, Conflict, Forbidden, NotFound) as exc:
        return _page(token, link, row, jurisdiction, status=exc.status, problems=exc.descriptions,
                     field="description")
    refreshed = _found(token)
    assert refreshed is not None
    return _page(token, *refreshed, done="reopened")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_page(token: str) -> ResponseReturnValue:
    """GET: a page with the button (mail scanners fetch links); POST (the button, or RFC 8058's one-click
    `List-Unsubscribe=One-Click`): stop every notice to this recipient at once. A tampered token is a 404."""
    gateway = current_services()
    recipient_id = read_unsubscribe_token(gateway.notice_secret, token[:100])
    with gateway.session() as session, session.begin():
        row = session.get(NoticeRecipient, recipient_id) if recipient_id is not None else None
    if row is None:
        return _gone()
    lang, words = _lang(row.locale)
    if request.method == "POST":
        with gateway.session() as session:
            unsubscribe(session, row.id, gateway.clock())
        return _html(render_template("status/unsubscribe.html", lang=lang, w=words, token=token, done=True))
    return _html(render_template("status/unsubscribe.html", lang=lang, w=words, token=token, done=False))


def _closure_reason(closure: str | None, lang: str) -> str | None:
    """Why the report was closed, in the page's language (None when no reason was given)."""
    if not closure:
        return None
    with i18n.using(lang):
        return reason(closure)
