"""The adapter port: how a department's back office receives tickets and reports status."""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, cast

import marshmallow
import requests

ENTRY_POINT_GROUP = "open311.adapters"


class AdapterError(Exception):
    """Base of the errors an adapter raises from deliver() or fetch_updates()."""


class TemporaryError(AdapterError):
    """The back office could not take the ticket now; retry later (optionally after `retry_after` s)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(AdapterError):
    """The back office refused the ticket for good; retrying cannot help (dead-letter it)."""


@dataclass(frozen=True)
class Contact:
    """Personal data of the submitter; only in a ticket when the department's policy allows it."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class TicketPhoto:
    """A photo stored with the request: its public URL, a file name for the back office, and its bytes on demand.

    The bytes are the gateway's processed copy (re-encoded, no EXIF or other metadata). `read()` raises
    TemporaryError when the media store cannot give them now.
    """

    url: str
    filename: str
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    reader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    def read(self) -> bytes:
        """The photo's bytes (checked against sha256)."""
        if self.reader is None:
            raise TemporaryError(f"photo {self.filename} has no reader")
        return self.reader()

    def to_json(self) -> dict[str, Any]:
        """The photo's description without its bytes."""
        return {"url": self.url, "filename": self.filename, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Ticket:
    """A frozen, JSON-serialisable snapshot of one service request, as a back office receives it."""

    service_request_id: str
    jurisdiction_id: str
    department: str
    service_code: str
    service_name: str
    backoffice_code: str | None
    description: str | None
    requested_datetime: str
    lat: float | None
    long: float | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    attributes: Mapping[str, Any]
    media_urls: tuple[str, ...] = ()
    contact: Contact | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    # The photos among media_urls that the gateway stores (files an adapter can attach or upload).
    photos: tuple[TicketPhoto, ...] = ()

    @property
    def idempotency_key(self) -> str:
        """The key a back office uses to absorb redeliveries of the same ticket."""
        return f"{self.jurisdiction_id}:{self.service_request_id}"

    def to_json(self) -> dict[str, Any]:
        """Return the ticket as plain JSON-ready data (photos described, not their bytes)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["contact"] = asdict(self.contact) if self.contact is not None else None
        data["media_urls"] = list(self.media_urls)
        data["attributes"] = copy.deepcopy(dict(self.attributes))
        data["extras"] = copy.deepcopy(dict(self.extras))
        data["photos"] = [photo.to_json() for photo in self.photos]
        return data


# The Addition kinds of SLA events, and how a note or subject line names them.
SLA_KINDS = {"sla_at_risk": "SLA AT RISK", "sla_breached": "SLA BREACHED"}


@dataclass(frozen=True)
class Addition:
    """Another resident's report added to a ticket already delivered (a follower), delivered exactly once.

    `ticket` is the followed request as delivered (without its submitter's contact or photos); `external_id`
    is the back office's own id for that ticket (what its first delivery returned). `contact` is the
    follower's, only when the department's policy allows it.

    `kind` "reopen": a resident says the closed request is not fixed and reopened it; `follower_id` then
    holds the reopen's id (the idempotency key and to_json say `reopen`), `description` and `photos` are
    the resident's, and the back office should reopen its ticket.

    `kind` "sla_at_risk" / "sla_breached": the request's SLA clock entered its last fifth, or ran out (the
    gateway's watcher, docs/lifecycle.md); `follower_id` holds the SLA event's id, `attributes` the
    `sla_state` and the clock's `expected_datetime`, `description` a fixed sentence; no contact, no photos.
    """

    ticket: Ticket
    follower_id: str
    external_id: str
    created_datetime: str
    description: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    contact: Contact | None = None
    photos: tuple[TicketPhoto, ...] = ()
    kind: str = "follower"

    @property
    def reopen(self) -> bool:
        """True for a resident's reopen ("not fixed") rather than a follower."""
        return self.kind == "reopen"

    @property
    def sla(self) -> bool:
        """True for an SLA event (the clock at risk or breached) rather than a resident's report."""
        return self.kind in SLA_KINDS

    @property
    def idempotency_key(self) -> str:
        """The key a back office uses to absorb redeliveries of the same addition."""
        return f"{self.ticket.idempotency_key}:{self.kind}:{self.follower_id}"

    def to_json(self) -> dict[str, Any]:
        """The addition as plain JSON-ready data: the follower's (or reopen's) part, and the ticket's ids."""
        data = {"service_request_id": self.ticket.service_request_id, "jurisdiction_id": self.ticket.jurisdiction_id,
                "department": self.ticket.department, "service_code": self.ticket.service_code,
                "backoffice_code": self.ticket.backoffice_code, "external_id": self.external_id,
                "follower_id": self.follower_id, "created_datetime": self.created_datetime,
                "description": self.description, "attributes": copy.deepcopy(dict(self.attributes)),
                "contact": asdict(self.contact) if self.contact is not None else None,
                "photos": [photo.to_json() for photo in self.photos]}
        if self.reopen:
            data = {"kind": "reopen", "reopen_id": data.pop("follower_id"), **data}
        elif self.sla:
            data = {"kind": self.kind, "sla_event_id": data.pop("follower_id"), **data}
        return data

    def summary(self) -> str:
        """The addition as plain text (a note or comment on the ticket): answers, description, contact."""
        lines = [f"Another resident reported the same problem (follower {self.follower_id} of service request "
                 f"{self.ticket.service_request_id}, {self.created_datetime})."]
        if self.reopen:
            lines = [f"REOPENED: a resident reports the problem is not fixed (reopen {self.follower_id} of service "
                     f"request {self.ticket.service_request_id}, {self.created_datetime}). Please reopen the ticket."]
        elif self.sla:
            due = self.attributes.get("expected_datetime")
            lines = [f"{SLA_KINDS[self.kind]}: service request {self.ticket.service_request_id} is due {due} "
                     f"(SLA event {self.follower_id}, {self.created_datetime})."]
        for code, value in self.attributes.items():
            lines.append(f"{code}: {', '.join(value) if isinstance(value, list) else value}")
        if self.description:
            lines.append(f"Description: {self.description}")
        if self.contact is not None:
            contact = self.contact
            name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
            lines += [f"{label}: {value}" for label, value in (("Name", name), ("E-mail", contact.email),
                                                                 ("Phone", contact.phone)) if value]
        lines += [f"Photo attached: {photo.filename}" for photo in self.photos]
        return "\n".join(lines)


@dataclass(frozen=True)
class Receipt:
    """What the back office answered to a delivery: its own id for the ticket."""

    external_id: str
    status: str | None = None


@dataclass(frozen=True)
class RemoteUpdate:
    """One status change read from (or pushed by) a back office.

    `update_id` is unique within the department and stable across reads; `status` is the back
    office's own status (mapped through the department's status_map); the request is found by our
    `service_request_id` when given, else by the `external_id` the back office returned on delivery.
    """

    update_id: str
    external_id: str | None
    service_request_id: str | None
    status: str
    updated_datetime: datetime
    description: str | None = None
    media_url: str | None = None
    # why a closed request was closed (open311.core.closure.CLOSURE_CODES; None: the status_map's, else
    # unspecified) and, for `duplicate`, our service_request_id of the surviving request; media_url is the
    # closure photo
    closure_code: str | None = None
    duplicate_of: str | None = None


class EmptyOptions(marshmallow.Schema):
    """Options schema for adapters that take none."""


class Adapter(abc.ABC):
    """A back-office integration; subclasses are registered under the `open311.adapters` entry points."""

    options_schema: ClassVar[type[marshmallow.Schema]] = EmptyOptions
    supports_updates: ClassVar[bool] = False
    # True: the department is sent its requests' SLA events (at risk, breached) as Additions of those kinds.
    # False (the default, so an adapter written before them never dead-letters one): none are queued.
    takes_sla_events: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any], *, http: requests.Session) -> None:
        self.options = dict(options)
        self.http = http
        # The gateway's clock (Services sets it; tests move it): for adapters whose answers depend on the time.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @abc.abstractmethod
    def deliver(self, ticket: Ticket) -> Receipt:
        """Hand one ticket to the back office; raise TemporaryError or PermanentError on failure."""

    def deliver_addition(self, addition: Addition) -> Receipt:
        """Add a follower to a ticket already delivered (`addition.external_id`); absorb redeliveries by
        `addition.idempotency_key`. Adapters that cannot carry additions keep this default: a dead letter."""
        raise PermanentError(f"adapter {type(self).__name__} cannot add followers to a delivered ticket")

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterable[RemoteUpdate]:
        """Return status changes made since `since` (adapters with supports_updates override this).

        `external_ids` are the back-office ids of the department's delivered, still relevant tickets.
        The sync stores each update before it asks for the next one, so a generator may acknowledge
        what it yielded (move a reply file away, say) when it is resumed. Raise TemporaryError or
        PermanentError when the back office cannot be read; values are untrusted and cleaned on store.
        """
        return ()


def make_http_session() -> requests.Session:
    """The one HTTP session every adapter shares: pooled connections, never following a redirect."""
    session = requests.Session()
    session.max_redirects = 0
    session.headers["User-Agent"] = "open311-gateway"
    return session


@cache
def _installed(group: str) -> tuple[EntryPoint, ...]:
    # Scanning every installed distribution's metadata costs about 5 ms (155 of them here), and create_app
    # asks about twenty times (each department's adapter, in the jurisdiction and its sandbox): what is installed
    # does not change while a process runs, so it is read once.
    return tuple(entry_points(group=group))


def installed_plugins(group: str) -> dict[str, EntryPoint]:
    """The entry points of an `open311.*` plugin group by name, read once per process."""
    return {ep.name: ep for ep in _installed(group)}


def available_adapters() -> dict[str, Any]:
    """Return the installed adapter entry points by name."""
    return installed_plugins(ENTRY_POINT_GROUP)


def load_plugin(kind: str, name: str, found: Mapping[str, Any], base: type) -> type:
    """Import a plugin class (an adapter, a notifier) by entry-point name from `found` (entry points or classes);
    raise LookupError with the installed names."""
    if name not in found:
        raise LookupError(f"{kind} {name!r} is not installed (installed: {', '.join(sorted(found)) or 'none'})")
    try:
        cls = found[name].load() if hasattr(found[name], "load") else found[name]
    except Exception as exc:  # a broken third-party package must not crash start-up without a word
        raise LookupError(f"{kind} {name!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise LookupError(f"{kind} {name!r} does not implement {base.__module__}.{base.__qualname__}")
    return cls


def load_adapter_class(name: str, registry: Mapping[str, Any] | None = None) -> type[Adapter]:
    """Import an adapter class by entry-point name; raise LookupError with the installed names."""
    return cast("type[Adapter]", load_plugin("adapter", name, available_adapters() if registry is None else registry,
                                             Adapter))


def validate_options(cls: type[Adapter], options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate adapter options with the adapter's own schema; raise marshmallow.ValidationError."""
    loaded: dict[str, Any] = cls.options_schema().load(dict(options))
    return loaded
