"""`make messages-check`: every message catalog compiles, keeps its placeholders, and is reported complete or not.

Run as `python -m open311.cli.messages_check open311/locale`: exit 1 when a catalog cannot be read, a translation
loses or invents a placeholder (Babel's python-format check), or a catalog lacks a text of messages.pot.
Untranslated texts are listed as counts (they are served in English), not failures.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po


def read(path: Path) -> Catalog:
    """One .po or .pot file."""
    with path.open("rb") as stream:
        return read_po(stream, abort_invalid=True)


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


if __name__ == "__main__":
    sys.exit(check(Path(sys.argv[1] if len(sys.argv) > 1 else "open311/locale")))
