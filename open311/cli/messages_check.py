"""`make messages-check`: every message catalog compiles, keeps its placeholders, and is reported complete or not.

Run as `python -m open311.cli.messages_check open311/locale webapp/public/i18n`: exit 1 when a server catalog
cannot be read, a translation loses or invents a placeholder (Babel's python-format check), or a catalog lacks a
text of messages.pot; and when a web app interface file (<lang>.json beside en.json) is not valid JSON, has a key
en.json lacks, or loses or invents a {placeholder}. Untranslated texts are listed as counts (they are served in
English), not failures.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po


def read(path: Path) -> Catalog:
    """One .po or .pot file."""
    with path.open("rb") as stream:
        return read_po(stream, abort_invalid=True)


NAMED = re.compile(r"%\((\w+)\)")


def _named(text: str) -> set[str]:
    """The named placeholders of a message (Babel's own check lets a translation drop them: we do not)."""
    return set(NAMED.findall(text))


def check(folder: Path) -> int:
    """Check every catalog under `folder`; print one line each; return the exit status."""
    template = read(folder / "messages.pot")
    wanted = {m.id for m in template if m.id}
    failed = False
    for path in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        locale = path.parent.parent.name
        try:
            catalog = read(path)
        except (PoFileError, ValueError) as exc:
            print(f"{path}: cannot be read: {exc}")
            failed = True
            continue
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


PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLURAL = re.compile(r"(Zero|One|Two|Few|Many)$")   # Intl.PluralRules forms beside a key (js/i18n.js tCount)


def _flat(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def check_interface(folder: Path) -> int:
    """Check every interface file of the web app against en.json; print one line each; return the exit status."""
    english = dict(_flat(json.loads((folder / "en.json").read_text(encoding="utf-8"))))
    failed = False
    for path in sorted(folder.glob("*.json")):
        if path.name == "en.json":
            continue
        try:
            texts = dict(_flat(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot be read: {exc}")
            failed = True
            continue
        problems = []
        for key, value in texts.items():
            base = key if key in english else PLURAL.sub("", key)
            source = english.get(base, english.get(f"{base}One"))
            if source is None:
                problems.append(f"{path}: {key}: not a key of en.json")
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"{path}: {key}: must be a text")
            elif set(PLACEHOLDER.findall(value)) - set(PLACEHOLDER.findall(str(source))) - {"count"} or (
                    key in english and set(PLACEHOLDER.findall(str(source))) - set(PLACEHOLDER.findall(value))
                    - ({"count"} if PLURAL.search(key) else set())):
                problems.append(f"{path}: {key}: placeholders {sorted(PLACEHOLDER.findall(value))} differ from "
                                f"en.json's {sorted(PLACEHOLDER.findall(str(source)))}")
        for line in problems:
            print(line)
        failed = failed or bool(problems)
        missing = [k for k in english if k not in texts]
        print(f"{path.stem} (web app): {len(english) - len(missing)} of {len(english)} translated"
              + (" - FAILED" if problems else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    server = check(Path(sys.argv[1] if len(sys.argv) > 1 else "open311/locale"))
    interface = check_interface(Path(sys.argv[2])) if len(sys.argv) > 2 else 0
    sys.exit(server or interface)
