"""`make messages-check`: every message catalog compiles, keeps its placeholders, and is reported complete or not.

Run as `python -m open311.cli.messages_check open311/locale webapp`: exit 1 when a server catalog cannot be
read, a translation loses or invents a placeholder (Babel's python-format check, and a named one dropped), or a
catalog lacks a text of messages.pot; and when a web app catalog (webapp/locale/<locale>/LC_MESSAGES/webapp.po)
cannot be read, lacks a key of en.json, has one it lacks, or loses or invents a {placeholder}. Untranslated
texts are listed as counts (they are served in English), not failures.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po


def read(path: Path) -> Catalog:
    """One .po or .pot file."""
    with path.open("rb") as stream:
        return read_po(stream, abort_invalid=True)


def readable(paths: Iterable[Path]) -> Iterator[tuple[Path, Catalog | None]]:
    """Each catalog read, or None (said on stdout) when it cannot be."""
    for path in sorted(paths):
        try:
            yield path, read(path)
        except (PoFileError, ValueError) as exc:
            print(f"{path}: cannot be read: {exc}")
            yield path, None


NAMED = re.compile(r"%\((\w+)\)")


def _named(text: str) -> set[str]:
    """The named placeholders of a message (Babel's own check lets a translation drop them: we do not)."""
    return set(NAMED.findall(text))


def check(folder: Path) -> int:
    """Check every catalog under `folder`; print one line each; return the exit status."""
    template = read(folder / "messages.pot")
    wanted = {m.id for m in template if m.id}
    failed = False
    for path, catalog in readable(folder.glob("*/LC_MESSAGES/messages.po")):
        if catalog is None:
            failed = True
            continue
        locale = path.parent.parent.name
        problems = [f"{path}: {message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
        problems += [f"{path}: {message.id!r}: placeholders {sorted(found)} differ from {sorted(wanted_names)}"
                     for message in catalog if message.id and isinstance(message.id, str) and message.string
                     and isinstance(message.string, str)
                     and (wanted_names := _named(message.id)) != (found := _named(message.string))]
        have = {m.id for m in catalog if m.id}
        absent = wanted - have
        if absent:
            problems.append(f"{path}: {len(absent)} texts of messages.pot are missing (run make messages)")
        for line in problems:
            print(line)
        failed = failed or bool(problems)
        untranslated = sum(1 for m in catalog if m.id and not m.string)
        fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
        print(f"{locale}: {len(have) - untranslated} of {len(wanted)} translated"
              + (f", {fuzzy} fuzzy" if fuzzy else "") + (" - FAILED" if problems else ""))
    return 1 if failed else 0


BRACED = re.compile(r"\{(\w+)\}")


def check_interface(webapp: Path) -> int:
    """Check the web app's catalogs (webapp/locale) against en.json: every key present, no {placeholder} lost or
    invented (a plural form may leave out {count}); print one line each; return the exit status."""
    from open311.georeport.webapp_texts import DOMAIN, english, plural_keys

    texts = english(webapp / "public")
    known = {**texts, **dict(plural_keys(texts))}
    failed = False
    for path, catalog in readable((webapp / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        if catalog is None:
            failed = True
            continue
        have = {m.context: m for m in catalog if m.id and m.context}
        problems = [f"{path}: {key}: not a key of en.json" for key in have if key not in known]
        problems += [f"{path}: {len(absent)} keys of en.json are missing (run make messages)"
                     for absent in [set(texts) - set(have)] if absent]
        for key, message in have.items():
            if key in known and message.string:
                wanted, found = set(BRACED.findall(known[key])), set(BRACED.findall(str(message.string)))
                plural = key not in texts or (key.endswith("One") and key[:-3] in texts)
                optional = {"count"} if plural else set()   # a plural form may say the count or not
                if found - wanted - optional or wanted - found - optional:
                    problems.append(f"{path}: {key}: placeholders {sorted(found)} differ from {sorted(wanted)}")
        for line in problems:
            print(line)
        failed = failed or bool(problems)
        done = sum(1 for key in texts if key in have and have[key].string)
        failure = " - FAILED" if problems else ""
        print(f"{path.parent.parent.name} (web app): {done} of {len(texts)} translated{failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    server = check(Path(sys.argv[1] if len(sys.argv) > 1 else "open311/locale"))
    interface = check_interface(Path(sys.argv[2])) if len(sys.argv) > 2 else 0
    sys.exit(server or interface)
