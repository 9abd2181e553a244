"""The notifier port: how a notice to a resident leaves the gateway (e-mail and Web Push built in, more as entry
points in the group `open311.notifiers`, e.g. an SMS gateway). docs/notifications.md describes it.

A notifier is handed one `Notice` at a time by the relay, with no transaction open. It raises the adapter
port's TemporaryError (retried with backoff) or PermanentError (a dead letter); anything else is retried
too. The relay delivers each notice at least once, with the same `idempotency_key` every time: a notifier
whose channel can drop a repeat (a Message-ID, a push `Topic`) should use it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import marshmallow

from open311.adapter import EmptyOptions, PermanentError, TemporaryError, installed_plugins, load_plugin

ENTRY_POINT_GROUP = "open311.notifiers"
__all__ = ["ENTRY_POINT_GROUP", "GoneError", "Notice", "Notifier", "PermanentError", "PushTarget", "TemporaryError",
           "available_notifiers", "load_notifier_class"]


@dataclass(frozen=True)
class PushTarget:
    """A browser's Web Push subscription (PushSubscription.toJSON(): endpoint and keys)."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Notice:
    """One message to one recipient about one milestone of one request, ready to send.

    `email` or `push` says where (by `channel`). `subject`, `text` and `html` are in the report's language;
    `status_url` is the request's status page and `unsubscribe_url` the signed one-click unsubscribe (RFC 8058:
    a POST to it with `List-Unsubscribe=One-Click` unsubscribes). `data` is the small JSON a push carries.
    """

    channel: str
    idempotency_key: str
    milestone: str
    locale: str
    subject: str
    text: str
    html: str
    status_url: str
    unsubscribe_url: str
    email: str | None = None
    push: PushTarget | None = None
    phone: str | None = None   # for channels from installed notifiers (an SMS gateway): the report's phone
    data: Mapping[str, Any] = field(default_factory=dict)


class GoneError(PermanentError):
    """The recipient's address or push subscription no longer exists (a push service's 404/410): the gateway
    stops sending to that recipient."""


class Notifier(abc.ABC):
    """A channel to residents; subclasses are registered under the `open311.notifiers` entry points."""

    channel: ClassVar[str]
    options_schema: ClassVar[type[marshmallow.Schema]] = EmptyOptions

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)

    @abc.abstractmethod
    def send(self, notice: Notice) -> None:
        """Send one notice; raise TemporaryError or PermanentError on failure."""


def available_notifiers() -> dict[str, Any]:
    """The installed notifier entry points by channel name."""
    return installed_plugins(ENTRY_POINT_GROUP)


def load_notifier_class(name: str, registry: Mapping[str, Any] | None = None) -> type[Notifier]:
    """Import a notifier class by entry-point name; LookupError with the installed names."""
    return cast("type[Notifier]", load_plugin("notifier", name,
                                              available_notifiers() if registry is None else registry, Notifier))
