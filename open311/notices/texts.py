"""What a notice says, in the language the report was made in (any with a message catalog; else English).

Plain text and HTML from the same words. Everything shown is public already (service, number, status note,
closure reason, expected date): a notice never carries contact data or the report's own text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from babel.dates import format_datetime

from open311.core import i18n
from open311.core.i18n import gettext as _
from open311.core.i18n import lazy

SUBJECTS = {"received": lazy("We received your report: %(service)s (#%(id)s)"),
            "assigned": lazy("Your report is assigned: %(service)s (#%(id)s)"),
            "closed": lazy("Your report is closed: %(service)s (#%(id)s)"),
            "reopened": lazy("Your report is open again: %(service)s (#%(id)s)")}
LEADS = {"received": lazy("Thank you. %(agency)s received your report and will look into it."),
         "assigned": lazy("%(agency)s has assigned your report to a crew."),
         "closed": lazy("%(agency)s closed your report. Reason: %(reason)s."),
         "reopened": lazy("Your report is open again: %(agency)s will look at it once more.")}
REASONS = {"fixed": lazy("fixed"), "no_action_needed": lazy("no action was needed"),
           "referred": lazy("referred to another agency"),
           "duplicate": lazy("it duplicates another report, which you now follow"),
           "not_found": lazy("the problem was not found"), "cancelled": lazy("cancelled"),
           "unspecified": lazy("not given")}
LABELS = {"note": lazy("Note"), "expected": lazy("Expected by"),
          "status": lazy("See its status, follow it or say it is not fixed:"),
          "unsubscribe": lazy("Stop these e-mails:"),
          "why": lazy("You get this because you asked for updates on this report.")}


def reason(closure_code: str | None) -> str:
    """Why a report was closed, in the current message language."""
    return _(REASONS.get(closure_code or "unspecified", REASONS["unspecified"]))


@dataclass(frozen=True)
class Facts:
    """The public facts a notice is written from."""

    request_id: int
    service_name: str
    agency: str
    milestone: str
    closure_code: str | None
    status_notes: str | None
    expected: datetime | None
    timezone: tzinfo
    status_url: str
    unsubscribe_url: str


@dataclass(frozen=True)
class Written:
    """A notice's subject, text and HTML."""

    subject: str
    text: str
    html: str
    lead: str


def language(locale: str | None) -> str:
    """The notice language for a report's locale (English when the server has no texts for it)."""
    return i18n.canonical(locale or i18n.SOURCE, i18n.available()) or i18n.SOURCE


def write(facts: Facts, locale: str | None, local: Callable[[str], str] = str) -> Written:
    """The notice in the report's language (`local` translates the agency's name, one of the jurisdiction's
    own texts)."""
    lang = language(locale)
    with i18n.using(lang):
        values = {"service": facts.service_name, "id": facts.request_id, "agency": local(facts.agency),
                  "reason": reason(facts.closure_code)}
        subject = _(SUBJECTS[facts.milestone], **values)
        lead = _(LEADS[facts.milestone], **values)
        labels = {key: _(text) for key, text in LABELS.items()}
    lines = [lead]
    if facts.status_notes:
        lines.append(f"{labels['note']}: {facts.status_notes}")
    if facts.expected is not None and facts.milestone in ("received", "assigned", "reopened"):
        when = format_datetime(facts.expected.astimezone(facts.timezone), "medium", locale=i18n.babel_locale(lang))
        lines.append(f"{labels['expected']}: {when}")
    text = "\n\n".join([*lines, f"{labels['status']}\n{facts.status_url}",
                        f"{labels['why']}\n{labels['unsubscribe']} {facts.unsubscribe_url}"]) + "\n"
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (f'<!doctype html><html lang="{lang}" dir="{i18n.direction(lang)}"><head><meta charset="utf-8">'
            f"<title>{escape(subject)}</title></head>"
            f"<body>{body}<p>{escape(labels['status'])}<br><a href=\"{escape(facts.status_url)}\">"
            f"{escape(facts.status_url)}</a></p><p><small>{escape(labels['why'])} "
            f"<a href=\"{escape(facts.unsubscribe_url)}\">{escape(labels['unsubscribe'])}</a></small></p>"
            "</body></html>")
    return Written(subject, text, html, lead)
