"""Photos with requests: uploads and data: URLs checked and processed, stored under random names, listed, read.

A POST's photos are processed (open311/media/photos.py) while the request is validated; only clean, re-encoded
bytes are written to the media store, just before the request's transaction, and removed again if that
transaction fails. Links given as media_url are stored as text and never fetched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from open311.adapter import TemporaryError, TicketPhoto
from open311.core.i18n import gettext as _
from open311.errors import BadRequest, ServiceUnavailable
from open311.media.photos import Photo, PhotoError, PhotoLimits, describe, process_photo, sniff
from open311.media.store import MediaStore, MediaStoreError
from open311.storage.models import RequestMedia, ServiceRequest, UpdateMedia

log = logging.getLogger(__name__)

# Multipart file fields that carry photos: media, media[], media[0], photo1 ... photo999.
UPLOAD_FIELD = re.compile(r"^(?:media(?:\[[0-9]{0,3}\])?|photo[0-9]{0,3})$")
DATA_URL = re.compile(r"^data:([^,]{0,200}),(.*)\Z", re.IGNORECASE | re.DOTALL)
DATA_URL_EXAMPLE = "data:image/jpeg;base64,<data>"


@dataclass(frozen=True)
class Upload:
    """One photo as received, before any check: a multipart file or a decoded data: URL, and the part that
    carried it (for error messages)."""

    part: str
    data: bytes
    filename: str | None = None

    @property
    def label(self) -> str:
        """How error messages name this upload: the part, and the file name the client gave."""
        return f"{self.part} ({self.filename[:80]!r})" if self.filename else self.part

    @property
    def digest(self) -> str:
        """SHA-256 of the bytes as sent (idempotency: the same key with another photo is another request)."""
        return hashlib.sha256(self.data).hexdigest()


def is_upload_field(name: str) -> bool:
    """True for the multipart file fields that carry photos."""
    return bool(UPLOAD_FIELD.fullmatch(name))


def is_data_url(value: str) -> bool:
    """True when a media_url value is a data: URL (an inline photo) rather than a link."""
    return value.lstrip()[:5].lower() == "data:"


def decode_data_url(value: str, part: str = "media_url") -> Upload:
    """The photo inside a base64 data: URL; 400 when the URL is not one."""
    match = DATA_URL.match(value.strip())
    if match is None:
        raise BadRequest(f"{part}: a data: URL must look like {DATA_URL_EXAMPLE}.")
    parameters = [p.strip().lower() for p in match.group(1).split(";")[1:]]
    if "base64" not in parameters:
        raise BadRequest(f"{part}: only base64 data: URLs are accepted ({DATA_URL_EXAMPLE}).")
    payload = match.group(2)
    if "%" in payload:
        payload = unquote(payload)
    # A form-encoded body turns an unescaped "+" into a space; line breaks are allowed in base64.
    payload = "".join(payload.replace(" ", "+").split())
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{part}: the base64 content of the data: URL is malformed.") from None
    return Upload(part, data)


@dataclass(frozen=True)
class MediaPolicy:
    """How a POST's photos are taken: how many, their bounds, the store and the public URL prefix."""

    max_files: int
    limits: PhotoLimits
    store: MediaStore
    url_prefix: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any], store: MediaStore, url_prefix: str) -> MediaPolicy:
        """Read the OPEN311_MEDIA_* limits (open311/settings.py) from the app config."""
        limits = photo_limits(config)
        prefix = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
        return cls(int(config.get("OPEN311_MEDIA_MAX_FILES", 5)), limits, store, prefix)


def photo_limits(config: Mapping[str, Any]) -> PhotoLimits:
    """Bounds on one photo from the app config."""
    return PhotoLimits(max_bytes=int(config.get("OPEN311_MEDIA_MAX_BYTES", PhotoLimits.max_bytes)),
                       max_pixels=int(config.get("OPEN311_MEDIA_MAX_PIXELS", PhotoLimits.max_pixels)),
                       max_edge=int(config.get("OPEN311_MEDIA_MAX_EDGE", PhotoLimits.max_edge)))


@dataclass(frozen=True)
class StoredPhoto:
    """A processed photo with the random name it is stored under and its public URL."""

    name: str
    url: str
    photo: Photo


def precheck(uploads: Sequence[Upload], policy: MediaPolicy | None) -> list[str]:
    """The cheap checks (count, bytes, type by content), to report with other problems before any decoding."""
    if not uploads:
        return []
    if policy is None or policy.max_files == 0:
        return [_("Photo uploads are not accepted here; give media_url as a link instead.")]
    problems = []
    if len(uploads) > policy.max_files:
        problems.append(_("At most %(max)d photos may be sent with a request; %(count)d were sent.",
                          max=policy.max_files, count=len(uploads)))
    for upload in uploads:
        if not upload.data:
            problems.append(_("%(photo)s: the file is empty.", photo=upload.label))
        elif len(upload.data) > policy.limits.max_bytes:
            problems.append(_("%(photo)s: it is %(size)d bytes, more than the %(limit)d bytes allowed per photo.",
                              photo=upload.label, size=len(upload.data), limit=policy.limits.max_bytes))
        elif sniff(upload.data) is None:
            problems.append(_("%(photo)s: it is not a JPEG, PNG or WebP image: its content is %(content)s.",
                              photo=upload.label, content=describe(upload.data)))
    return problems


def take_photos(uploads: Sequence[Upload], policy: MediaPolicy | None) -> tuple[StoredPhoto, ...]:
    """Process every upload (nothing is stored yet); 400 naming each part that is not an acceptable photo."""
    problems = precheck(uploads, policy)
    if problems:
        raise BadRequest(*problems)
    if not uploads or policy is None:
        return ()
    photos: list[StoredPhoto] = []
    for upload in uploads:
        try:
            photo = process_photo(upload.data, policy.limits)
        except PhotoError as exc:
            problems.append(f"{upload.label}: {exc}.")
            continue
        name = f"{secrets.token_urlsafe(24)}.{photo.extension}"
        photos.append(StoredPhoto(name, policy.url_prefix + name, photo))
    if problems:
        raise BadRequest(*problems)
    return tuple(photos)


def save_photos(store: MediaStore, photos: Sequence[StoredPhoto]) -> None:
    """Write the photos; on a store failure remove those written and answer 503 (nothing was accepted)."""
    written: list[StoredPhoto] = []
    try:
        for item in photos:
            store.put(item.name, item.photo.data, item.photo.content_type)
            written.append(item)
    except MediaStoreError as exc:
        log.error("media store (%s) failed while storing a request's photos: %s", store.kind, exc)
        discard_photos(store, written)
        raise ServiceUnavailable("The photos cannot be stored right now and the request was not accepted; "
                                 "try again shortly.", headers={"Retry-After": "30"}) from None


def discard_photos(store: MediaStore, photos: Sequence[StoredPhoto]) -> None:
    """Remove photos whose request was not stored (a failed or lost transaction); failures are only logged."""
    for item in photos:
        try:
            store.delete(item.name)
        except MediaStoreError as exc:
            log.warning("media store (%s): an unused photo could not be removed: %s", store.kind, exc)


def media_rows(request_id: int, photos: Sequence[StoredPhoto], link: str | None) -> list[RequestMedia]:
    """The request's media rows: stored photos in the order sent, then the client's link."""
    rows = [RequestMedia(request_id=request_id, position=n, url=p.url, name=p.name, content_type=p.photo.content_type,
                         size=len(p.photo.data), width=p.photo.width, height=p.photo.height, sha256=p.photo.sha256)
            for n, p in enumerate(photos)]
    if link:
        rows.append(RequestMedia(request_id=request_id, position=len(rows), url=link))
    return rows


def media_by_request(session: Session, request_ids: Sequence[int]) -> dict[int, list[RequestMedia]]:
    """Every media row of these requests, in order, in one query."""
    found: dict[int, list[RequestMedia]] = defaultdict(list)
    if not request_ids:
        return found
    stmt = (select(RequestMedia).where(RequestMedia.request_id.in_(list(request_ids)))
            .order_by(RequestMedia.request_id, RequestMedia.position))
    with session.begin():
        for item in session.scalars(stmt):
            found[item.request_id].append(item)
    return found


def public_urls(row: ServiceRequest, media: Sequence[RequestMedia]) -> list[str]:
    """The media URLs outputs list for a request: none while it is hidden; its single media_url when it was
    stored before requests had media rows."""
    if row.hidden_at is not None:
        return []
    if media:
        return [item.url for item in media]
    return [row.media_url] if row.media_url else []


def served_photo(session: Session, name: str) -> RequestMedia | UpdateMedia | None:
    """The stored photo of this name (a request's, or a status update's closure photo), if its request exists and
    is not hidden."""
    stmt = (select(RequestMedia).join(ServiceRequest, ServiceRequest.id == RequestMedia.request_id)
            .where(RequestMedia.name == name, ServiceRequest.hidden_at.is_(None)))
    of_update = (select(UpdateMedia).join(ServiceRequest, ServiceRequest.id == UpdateMedia.request_id)
                 .where(UpdateMedia.name == name, ServiceRequest.hidden_at.is_(None)))
    with session.begin():
        return session.scalars(stmt).first() or session.scalars(of_update).first()


def read_photo(store: MediaStore, name: str, sha256: str | None) -> bytes:
    """A stored photo's bytes for an adapter, checked against its SHA-256; missing or unreadable is temporary."""
    try:
        data = store.get(name)
    except MediaStoreError as exc:
        raise TemporaryError(f"photo {name} cannot be read: {exc}") from None
    if data is None:
        raise TemporaryError(f"photo {name} is missing from the media store")
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise TemporaryError(f"photo {name} in the media store does not match its SHA-256")
    return data


def ticket_photos(media: Sequence[RequestMedia], store: MediaStore | None,
                  service_request_id: str) -> tuple[TicketPhoto, ...]:
    """The stored photos of a request as a ticket carries them: URL, file name, type, size, and a reader."""
    photos = []
    for number, item in enumerate((m for m in media if m.name), 1):
        name, sha256 = str(item.name), item.sha256

        def reader(name: str = name, sha256: str | None = sha256) -> bytes:
            if store is None:
                raise TemporaryError("no media store is configured to read photos from")
            return read_photo(store, name, sha256)

        extension = name.rsplit(".", 1)[-1]
        photos.append(TicketPhoto(url=item.url, filename=f"request-{service_request_id}-photo-{number}.{extension}",
                                  content_type=item.content_type or "application/octet-stream",
                                  size=item.size or 0, sha256=sha256 or "", width=item.width, height=item.height,
                                  reader=reader))
    return tuple(photos)
