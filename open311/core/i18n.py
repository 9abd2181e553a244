"""The server's own texts in the resident's language: gettext catalogs (Babel) and language negotiation.

Messages are written in English in the code, marked with `gettext` (imported as `_`) and extracted with
`make messages` (pybabel extract + update) into open311/locale/<locale>/LC_MESSAGES/messages.po. A message
without a translation is answered in English, never as a key. Placeholders are named (`%(service)s`), so a
translation may put them in any order; `make lint` compiles every catalog and fails when one is lost.

The language of a message is the one `using()` set (a notice written for a report's locale), else the one
the HTTP layer's provider reads off the request (`locale=`, then Accept-Language), else English.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SOURCE = "en"
FOLDER = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
# Tags that name one of our locales by another name: Chinese by region, Filipino for Tagalog.
ALIASES = {"zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-my": "zh-Hans", "zh-hans": "zh-Hans",
           "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "zh-hant": "zh-Hant", "fil": "tl"}
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})

_chosen: ContextVar[str | None] = ContextVar("open311_locale", default=None)
_provider: Callable[[], str | None] = lambda: None  # noqa: E731 - replaced by the HTTP layer


def set_provider(provider: Callable[[], str | None]) -> None:
    """Where the language comes from when no `using()` block chose one (the HTTP layer: the request)."""
    global _provider
    _provider = provider


@contextmanager
def using(locale: str | None) -> Iterator[None]:
    """Messages in `locale` inside the block (a notice written in its report's language)."""
    token = _chosen.set(locale or SOURCE)
    try:
        yield
    finally:
        _chosen.reset(token)


def current() -> str:
    """The language messages are given in now."""
    return _chosen.get() or _provider() or SOURCE


def gettext(message: str, **values: object) -> str:
    """`message` in the current language, with its %(name)s placeholders filled in."""
    text = translations(current()).gettext(message)
    return text % values if values else text


def lazy(message: str) -> str:
    """Mark a message for extraction where it is defined; translate it with gettext where it is shown."""
    return message


@functools.cache
def available() -> tuple[str, ...]:
    """English and every language with a message catalog, as locale codes (zh-Hans, not zh_Hans)."""
    return (SOURCE, *sorted(p.parent.parent.name.replace("_", "-") for p in FOLDER.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def canonical(tag: str, offered: Iterable[str]) -> str | None:
    """The offered locale a language tag names (es-MX -> es, zh-TW -> zh-Hant, fil -> tl), or None."""
    by_lower = {o.lower(): o for o in offered}
    wanted = tag.strip().replace("_", "-").lower()
    while wanted:
        if wanted in by_lower:
            return by_lower[wanted]
        alias = ALIASES.get(wanted)
        if alias is not None and alias.lower() in by_lower:
            return by_lower[alias.lower()]
        wanted = wanted.rpartition("-")[0]
    return None


def negotiate(accepted: Iterable[str], offered: Iterable[str]) -> str | None:
    """The first offered locale among tags in order of preference (an Accept-Language header's)."""
    choices = tuple(offered)
    for tag in accepted:
        found = canonical(tag, choices)
        if found is not None:
            return found
    return None


def babel_locale(locale: str) -> Locale:
    """Babel's Locale for one of ours (zh-Hans -> zh_Hans; English for a code CLDR does not know)."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE)


def direction(locale: str) -> str:
    """rtl for Arabic and Farsi, else ltr."""
    return "rtl" if locale.split("-")[0] in RIGHT_TO_LEFT else "ltr"


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The message catalog of a language: its compiled .mo when current, else read from the .po."""
    if locale == SOURCE:
        return NullTranslations()
    folder = FOLDER / locale.replace("-", "_") / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if not po.is_file():
        return NullTranslations()
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as stream:
            return Translations(stream, domain=DOMAIN)
    with po.open("rb") as stream:  # not compiled yet (`make messages-compile` does): compile in memory
        catalog = read_po(stream, locale=locale.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
