"""Which language catalog texts are answered in: the `locale` parameter, else Accept-Language, else English.

Only the residents' texts change (names, descriptions, groups, keywords, questions, value names and
service notices); codes, keys and the documents' shape are the same in every language.
"""

from __future__ import annotations

from flask import Flask, Response, g, has_request_context, request

from open311.catalog.definitions import Catalog, Service
from open311.core import i18n
from open311.core.i18n import gettext as _
from open311.errors import BadRequest
from open311.georeport.parsing import param


def catalog_locale(catalog: Catalog) -> str:
    """The language to answer in: `locale` (400 when the catalog lacks it), else Accept-Language."""
    available = catalog.locales
    raw = param(request.args, "locale")
    if raw is not None:
        wanted = i18n.canonical(raw, available)
        if wanted is None:
            raise BadRequest(_("locale %(locale)r is not available; available: %(available)s.",
                               locale=raw[:20], available=", ".join(available)))
        return wanted
    return i18n.negotiate(accepted_tags(), available) or available[0]


def accepted_tags() -> list[str]:
    """The request's Accept-Language tags, most wanted first (q=0 left out)."""
    return [tag for tag, quality in request.accept_languages if quality > 0]


def message_locale() -> str | None:
    """The language of the server's own texts for this request: `locale=`, else Accept-Language (once per request)."""
    if not has_request_context():
        return None
    found: str | None = g.get("open311_message_locale")
    if found is None:
        offered = i18n.available()
        raw = request.args.get("locale")   # never the body: reading it here could consume an upload
        found = (raw and i18n.canonical(raw, offered)) or i18n.negotiate(accepted_tags(), offered) or i18n.SOURCE
        g.open311_message_locale = found
    return found


def init_app(app: Flask) -> None:
    """The server's texts follow the request's language (open311/core/i18n.py asks message_locale)."""
    i18n.set_provider(message_locale)


def mark_language(response: Response, locale: str) -> Response:
    """Content-Language, and Vary: Accept-Language so that caches keep one copy per language."""
    response.headers["Content-Language"] = locale
    response.vary.add("Accept-Language")
    return response


def translate_notice(notice: str | None, english: Service | None, translated: Service | None) -> str | None:
    """A POST answer's service_notice in the request's language: the service's own notice is translated,
    a sentence the gateway added after it (an unverified address) is kept as it is."""
    if not notice or english is None or translated is None or not english.service_notice:
        return notice
    if translated.service_notice and notice.startswith(english.service_notice):
        return translated.service_notice + notice[len(english.service_notice):]
    return notice
