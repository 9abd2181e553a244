"""The status page's own words in English and Spanish (the catalog's texts come from the catalog)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your report", "number": "Report number", "status": "Status", "open": "Open", "closed": "Closed",
        "reason": "Reason", "received": "Received", "expected": "Expected by", "where": "Where",
        "history": "History", "no_history": "No updates yet.", "photo": "Photo of the work done",
        "follow": "Get updates", "follow_help": "We will e-mail you at the next milestone: assigned, closed, "
        "reopened.", "email": "E-mail address", "follow_button": "Follow by e-mail",
        "push_button": "Follow on this device", "followed": "Done: you will hear about the next milestone.",
        "not_fixed": "Not fixed?", "not_fixed_help": "Tell us what is still wrong and the report opens again.",
        "what": "What is still wrong", "not_fixed_button": "Reopen the report",
        "reopened": "The report is open again. Thank you.", "language": "Español", "other_locale": "es",
        "gone_title": "Not found", "gone": "This link is not valid, or the report's link was withdrawn.",
        "unsubscribe_title": "Stop the updates", "unsubscribe_help": "You will get no more e-mails or "
        "notifications about this report.", "unsubscribe_button": "Stop the updates",
        "unsubscribed": "Done: you will get no more updates about this report.", "problem": "Please check",
        "skip": "Skip to the content", "bad_email": "Please enter a full e-mail address, like name@example.com.",
        "full": "This report has as many followers as it can take: no more can be added.",
    },
    "es": {
        "title": "Su reporte", "number": "Número de reporte", "status": "Estado", "open": "Abierto",
        "closed": "Cerrado", "reason": "Motivo", "received": "Recibido", "expected": "Fecha prevista",
        "where": "Dónde", "history": "Historial", "no_history": "Todavía no hay novedades.",
        "photo": "Foto del trabajo realizado", "follow": "Recibir novedades",
        "follow_help": "Le escribiremos en el próximo paso: asignado, cerrado, reabierto.",
        "email": "Correo electrónico", "follow_button": "Seguir por correo",
        "push_button": "Seguir en este dispositivo", "followed": "Listo: recibirá el próximo aviso.",
        "not_fixed": "¿No está resuelto?", "not_fixed_help": "Díganos qué sigue mal y el reporte se abrirá de nuevo.",
        "what": "Qué sigue mal", "not_fixed_button": "Reabrir el reporte",
        "reopened": "El reporte está abierto de nuevo. Gracias.", "language": "English", "other_locale": "en",
        "gone_title": "No encontrado", "gone": "Este enlace no es válido o fue retirado.",
        "unsubscribe_title": "Dejar de recibir novedades", "unsubscribe_help": "No recibirá más correos ni "
        "avisos sobre este reporte.", "unsubscribe_button": "Dejar de recibir novedades",
        "unsubscribed": "Listo: no recibirá más novedades sobre este reporte.", "problem": "Revise",
        "skip": "Ir al contenido", "bad_email": "Escriba un correo electrónico completo, como nombre@ejemplo.com.",
        "full": "Este reporte ya tiene todos los seguidores que admite: no se pueden agregar más.",
    },
}


def words_for(locale: str | None) -> tuple[str, dict[str, str]]:
    """The page's language (English unless Spanish) and its words."""
    lang = (locale or "en").split("-")[0].lower()
    lang = lang if lang in WORDS else "en"
    return lang, WORDS[lang]
