"""Which language catalog texts are answered in: the `locale` parameter, else Accept-Language, else English.

Only the residents' texts change (names, descriptions, groups, keywords, questions, value names and
service notices); codes, keys and the documents' shape are the same in every language.
"""

from __future__ import annotations

from flask import Response, request

from open311.catalog.definitions import Catalog, Service
from open311.errors import BadRequest
from open311.georeport.parsing import param


def catalog_locale(catalog: Catalog) -> str:
    """The language to answer in: `locale` (400 when the catalog lacks it), else Accept-Language."""
    available = catalog.locales
    raw = param(request.args, "locale")
    if raw is not None:
        wanted = raw.replace("_", "-").split("-")[0].lower()
        if wanted not in available:
            raise BadRequest(f"locale {raw[:20]!r} is not available; available: {', '.join(available)}.")
        return wanted
    return request.accept_languages.best_match(available, default=available[0]) or available[0]


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
