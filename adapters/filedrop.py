"""`filedrop`: one JSON file per ticket, written atomically into an intake directory."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from marshmallow import Schema, fields

from open311.adapter import Adapter, PermanentError, Receipt, TemporaryError, Ticket


class FiledropOptions(Schema):
    """Options: the intake directory (created if missing)."""

    directory = fields.String(required=True)


def _safe_name(text: str) -> str:
    """Return a file-name-safe version of an id."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


class FiledropAdapter(Adapter):
    """Writes `<jurisdiction>_<id>.json` into `directory`; a redelivery overwrites the same file."""

    options_schema = FiledropOptions

    @property
    def directory(self) -> Path:
        """The intake directory."""
        return Path(self.options["directory"])

    def deliver(self, ticket: Ticket) -> Receipt:
        """Write the ticket atomically (temp file, fsync, rename); the file name is the idempotency key."""
        name = _safe_name(ticket.idempotency_key) + ".json"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            payload: dict[str, Any] = {"idempotency_key": ticket.idempotency_key, "ticket": ticket.to_json()}
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.directory / name)
        except PermissionError as exc:
            raise PermanentError(f"cannot write to intake directory: {exc.strerror}") from exc
        except OSError as exc:
            raise TemporaryError(f"cannot write to intake directory: {exc.strerror}") from exc
        return Receipt(external_id=name.removesuffix(".json"))
