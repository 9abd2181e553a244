"""The web app's interface texts as gettext catalogs: en.json is the English source, webapp/locale holds the rest.

`webapp/public/i18n/en.json` is what the page's code names (`t("request.title")`); every other language is a
gettext catalog `webapp/locale/<locale>/LC_MESSAGES/webapp.po` whose messages carry the key as their context
(msgctxt) and the English text as msgid, so translators use the same tools as for the server's texts.
`make messages` writes webapp.pot from en.json and merges it into every catalog; the page fetches
`assets/i18n/<locale>.json`, built here from the catalog: a text not translated yet is the English one, never
the key. Counts: beside `request.count` and `request.countOne`, the template offers `countZero`, `countTwo`,
`countFew` and `countMany` (the forms of Intl.PluralRules); a language fills those it has, and only filled
ones are served (js/i18n.js tCount falls back to the plain key).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

DOMAIN = "webapp"
PLURAL_FORMS = ("Zero", "Two", "Few", "Many")   # "One" is in en.json; the plain key is "other"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, text) of a nested interface file."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


def nest(flat: Mapping[str, str]) -> dict[str, Any]:
    """The nested interface file of dotted keys."""
    tree: dict[str, Any] = {}
    for key, text in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = text
    return tree


def english(public: Path) -> dict[str, str]:
    """The English texts by dotted key (en.json, the source)."""
    path = public / "i18n" / "en.json"
    return _english(path, path.stat().st_mtime)


@functools.lru_cache(maxsize=8)
def _english(path: Path, modified: float) -> dict[str, str]:
    """en.json flattened (cached until the file changes)."""
    return dict(flatten(json.loads(path.read_text(encoding="utf-8"))))


def plural_keys(texts: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(key, English other form) of every plural form a language may add: countFew beside count/countOne."""
    for key in texts:
        if key.endswith("One") and key[:-3] in texts:
            for form in PLURAL_FORMS:
                yield f"{key[:-3]}{form}", texts[key[:-3]]


def template(public: Path) -> Catalog:
    """webapp.pot: one message per key of en.json (context = key), and the optional plural forms."""
    texts = english(public)
    catalog = Catalog(project="open311-gateway web app", copyright_holder="open311-gateway contributors")
    for key, text in texts.items():
        catalog.add(text, context=key, flags=("no-python-format",))
    for key, other in plural_keys(texts):
        catalog.add(other, context=key, flags=("no-python-format",),
                    auto_comments=[f"Plural form {key} (Intl.PluralRules); leave it empty if the language has no "
                                   "such form."])
    return catalog


def catalog_path(folder: Path, locale: str) -> Path:
    """Where a language's catalog lives (zh-Hans -> zh_Hans, as pybabel names folders)."""
    return folder / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=64)
def _translated(path: Path, modified: float) -> dict[str, str]:
    """key -> translation of one catalog (cached until the file changes)."""
    with path.open("rb") as stream:
        catalog = read_po(stream)
    return {m.context: str(m.string) for m in catalog if m.id and m.context and m.string and not m.fuzzy}


def interface(public: Path, folder: Path, locale: str) -> dict[str, Any] | None:
    """The nested interface texts of a language (English where untranslated), or None when it has no catalog."""
    path = catalog_path(folder, locale)
    if not path.is_file():
        return None
    texts = english(public)
    found = _translated(path, path.stat().st_mtime)
    flat = {key: found.get(key, text) for key, text in texts.items()}
    flat.update({key: found[key] for key, _ in plural_keys(texts) if key in found})
    return nest(flat)


def write_template(public: Path, folder: Path) -> Path:
    """Write webapp.pot (make messages)."""
    path = folder / f"{DOMAIN}.pot"
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        write_po(stream, template(public), width=120, omit_header=False)
    return path


if __name__ == "__main__":   # python -m open311.georeport.webapp_texts webapp: write webapp/locale/webapp.pot
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "webapp")
    print(f"writing {write_template(root / 'public', root / 'locale')}")
