"""`filedrop`: one JSON file per ticket (and its photos beside it) written atomically into an intake directory;
replies read back."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

from open311.adapter import (
    Adapter,
    Addition,
    PermanentError,
    Receipt,
    RemoteUpdate,
    TemporaryError,
    Ticket,
    TicketPhoto,
)
from open311.core.dates import parse_datetime

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 256 * 1024
MAX_REPLIES_PER_PULL = 10_000


class FiledropOptions(Schema):
    """Options: the intake directory (created if missing) and where reply files are read from."""

    directory = fields.String(required=True, validate=validate.Length(min=1))
    replies = fields.String(load_default=None, allow_none=True)
    copy_photos = fields.Boolean(load_default=True)


def _safe_name(text: str) -> str:
    """Return a file-name-safe version of an id."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


class FiledropAdapter(Adapter):
    """Writes `<jurisdiction>_<id>.json` into `directory`; a redelivery overwrites the same file.

    Status comes back as JSON files dropped into `replies` (default `<directory>/replies`); each is
    moved to `processed/` once its updates are stored, or to `rejected/` when it cannot be read.
    """

    options_schema = FiledropOptions
    supports_updates = True
    takes_sla_events = True      # an SLA event is an addition file, `<key>.json`, key ...:sla_breached:<event id>

    @property
    def directory(self) -> Path:
        """The intake directory."""
        return Path(self.options["directory"])

    @property
    def replies(self) -> Path:
        """The folder reply files are dropped into."""
        return Path(self.options["replies"]) if self.options.get("replies") else self.directory / "replies"

    def deliver(self, ticket: Ticket) -> Receipt:
        """Write the photos, then the ticket, each atomically (temp file, fsync, rename): a back office that sees
        `<key>.json` finds its photos beside it as `<key>.photo-N.<ext>` (named in `photo_files`)."""
        stem = _safe_name(ticket.idempotency_key)
        self._write(stem, {"idempotency_key": ticket.idempotency_key, "ticket": ticket.to_json()}, ticket.photos)
        return Receipt(external_id=stem)

    def deliver_addition(self, addition: Addition) -> Receipt:
        """Write `<ticket key>_follower_<id>.json` (photos beside it) atomically; a redelivery overwrites it."""
        stem = _safe_name(addition.idempotency_key)
        self._write(stem, {"idempotency_key": addition.idempotency_key, "addition": addition.to_json()},
                    addition.photos)
        return Receipt(external_id=stem)

    def _write(self, stem: str, payload: dict[str, Any], photos: Sequence[TicketPhoto]) -> None:
        """Write the photos as `<stem>.photo-N.<ext>`, then `<stem>.json` naming them in `photo_files`, each
        atomically; an unwritable folder is permanent, any other OS error temporary."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            photo_files = []
            if self.options.get("copy_photos", True):
                for number, photo in enumerate(photos, 1):
                    photo_name = f"{stem}.photo-{number}.{photo.filename.rsplit('.', 1)[-1]}"
                    _write_atomically(self.directory, photo_name, photo.read())
                    photo_files.append(photo_name)
            text = json.dumps({**payload, "photo_files": photo_files}, ensure_ascii=False, indent=2)
            _write_atomically(self.directory, stem + ".json", text.encode())
        except PermissionError as exc:
            raise PermanentError(f"cannot write to intake directory: {exc.strerror}") from exc
        except OSError as exc:
            raise TemporaryError(f"cannot write to intake directory: {exc.strerror}") from exc

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterator[RemoteUpdate]:
        """Yield the updates of each reply file, oldest file first; a file is moved away once consumed."""
        try:
            files = sorted((p for p in self.replies.glob("*.json") if p.is_file()),
                           key=lambda p: (p.stat().st_mtime, p.name))[:MAX_REPLIES_PER_PULL]
        except OSError as exc:
            raise TemporaryError(f"cannot read replies folder: {exc.strerror}") from exc
        for path in files:
            try:
                updates = _read_reply(path)
            except ValueError as exc:
                log.warning("filedrop reply %s rejected: %s", path.name, exc)
                _move(path, "rejected")
                continue
            yield from updates
            # Resumed only after the sync stored what was yielded: the file is done with.
            _move(path, "processed")


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    """Write a file under a temporary name, fsync it, then rename it into place (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_reply(path: Path) -> list[RemoteUpdate]:
    """The updates in one reply file: an object or a list of objects (see docs/adapters.md)."""
    if path.stat().st_size > MAX_REPLY_BYTES:
        raise ValueError(f"larger than {MAX_REPLY_BYTES} bytes")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    items = data if isinstance(data, list) else [data]
    updates = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"item {index} is not an object")
        try:
            when = parse_datetime(str(item.get("updated_datetime") or ""))
        except ValueError:
            raise ValueError(f"item {index}: updated_datetime is not a W3C datetime") from None
        if not item.get("status") or not (item.get("service_request_id") or item.get("external_id")):
            raise ValueError(f"item {index}: status and service_request_id (or external_id) are required")
        default_id = path.stem if len(items) == 1 else f"{path.stem}#{index}"
        updates.append(RemoteUpdate(
            update_id=str(item.get("update_id") or default_id), external_id=_opt(item, "external_id"),
            service_request_id=_opt(item, "service_request_id"), status=str(item["status"]), updated_datetime=when,
            description=_opt(item, "description"), media_url=_opt(item, "media_url"),
            closure_code=_opt(item, "closure_code"), duplicate_of=_opt(item, "duplicate_of")))
    return updates


def _opt(item: dict[str, Any], key: str) -> str | None:
    """An optional value as text."""
    value = item.get(key)
    return None if value is None else str(value)


def _move(path: Path, folder: str) -> None:
    """Move a consumed reply file aside (a failure only means it is read again, and deduplicated)."""
    target = path.parent / folder
    try:
        target.mkdir(exist_ok=True)
        os.replace(path, target / path.name)
    except OSError as exc:
        log.warning("filedrop reply %s could not be moved to %s/: %s", path.name, folder, exc.strerror)
