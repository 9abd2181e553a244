"""What a notice says, in the language the report was made in (English and Spanish; English for any other).

Plain text and HTML from the same words. Everything shown is public already (service, number, status note,
closure reason, expected date): a notice never carries contact data or the report's own text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from babel.dates import format_datetime

SUBJECTS = {
    "en": {"received": "We received your report: {service} (#{id})",
           "assigned": "Your report is assigned: {service} (#{id})",
           "closed": "Your report is closed: {service} (#{id})",
           "reopened": "Your report is open again: {service} (#{id})"},
    "es": {"received": "Recibimos su reporte: {service} (n.º {id})",
           "assigned": "Su reporte fue asignado: {service} (n.º {id})",
           "closed": "Su reporte fue cerrado: {service} (n.º {id})",
           "reopened": "Su reporte fue reabierto: {service} (n.º {id})"},
}
LEADS = {
    "en": {"received": "Thank you. {agency} received your report and will look into it.",
           "assigned": "{agency} has assigned your report to a crew.",
           "closed": "{agency} closed your report. Reason: {reason}.",
           "reopened": "Your report is open again: {agency} will look at it once more."},
    "es": {"received": "Gracias. {agency} recibió su reporte y lo revisará.",
           "assigned": "{agency} asignó su reporte a un equipo.",
           "closed": "{agency} cerró su reporte. Motivo: {reason}.",
           "reopened": "Su reporte está abierto de nuevo: {agency} lo revisará otra vez."},
}
REASONS = {
    "en": {"fixed": "fixed", "no_action_needed": "no action was needed", "referred": "referred to another agency",
           "duplicate": "it duplicates another report, which you now follow", "not_found": "the problem was not found",
           "cancelled": "cancelled", "unspecified": "not given"},
    "es": {"fixed": "resuelto", "no_action_needed": "no se necesitaba ninguna acción",
           "referred": "remitido a otra agencia", "duplicate": "duplica otro reporte, que usted sigue ahora",
           "not_found": "no se encontró el problema", "cancelled": "cancelado", "unspecified": "no indicado"},
}
LABELS = {
    "en": {"note": "Note", "expected": "Expected by", "status": "See its status, follow it or say it is not fixed:",
           "unsubscribe": "Stop these e-mails:", "why": "You get this because you asked for updates on this report."},
    "es": {"note": "Nota", "expected": "Fecha prevista", "status": "Vea su estado, sígalo o diga que no está resuelto:",
           "unsubscribe": "Dejar de recibir estos correos:",
           "why": "Recibe este mensaje porque pidió novedades sobre este reporte."},
}
LOCALES = tuple(SUBJECTS)


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
    """The notice language for a report's locale (English when we have no texts for it)."""
    base = (locale or "en").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else "en"


def write(facts: Facts, locale: str | None) -> Written:
    """The notice in the report's language."""
    lang = language(locale)
    values = {"service": facts.service_name, "id": facts.request_id, "agency": facts.agency,
              "reason": REASONS[lang].get(facts.closure_code or "unspecified", REASONS[lang]["unspecified"])}
    subject = SUBJECTS[lang][facts.milestone].format(**values)
    lead = LEADS[lang][facts.milestone].format(**values)
    labels = LABELS[lang]
    lines = [lead]
    if facts.status_notes:
        lines.append(f"{labels['note']}: {facts.status_notes}")
    if facts.expected is not None and facts.milestone in ("received", "assigned", "reopened"):
        when = format_datetime(facts.expected.astimezone(facts.timezone), "medium", locale=lang)
        lines.append(f"{labels['expected']}: {when}")
    text = "\n\n".join([*lines, f"{labels['status']}\n{facts.status_url}",
                        f"{labels['why']}\n{labels['unsubscribe']} {facts.unsubscribe_url}"]) + "\n"
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(subject)}</title></head>'
            f"<body>{body}<p>{escape(labels['status'])}<br><a href=\"{escape(facts.status_url)}\">"
            f"{escape(facts.status_url)}</a></p><p><small>{escape(labels['why'])} "
            f"<a href=\"{escape(facts.unsubscribe_url)}\">{escape(labels['unsubscribe'])}</a></small></p>"
            "</body></html>")
    return Written(subject, text, html, lead)
