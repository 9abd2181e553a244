"""`webhook`: each ticket as a signed JSON POST; optionally, status updates read back with a signed GET."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from marshmallow import fields, validate

from open311.adapter import Adapter, Addition, Receipt, RemoteUpdate, TemporaryError, Ticket
from open311.core.dates import format_w3c, parse_datetime
from open311.core.signing import sign

from .transport import HTTP_URL, HttpOptions, check, send

MAX_PAGES = 100


class WebhookOptions(HttpOptions):
    """Where tickets go, the shared secret that signs them, and where updates can be read."""

    url = fields.String(required=True, validate=HTTP_URL)
    secret = fields.String(required=True, validate=validate.Length(min=16))
    signature_header = fields.String(load_default="X-Open311-Signature")
    id_field = fields.String(load_default="id")
    updates_url = fields.String(load_default=None, allow_none=True, validate=HTTP_URL)
    additions_url = fields.String(load_default=None, allow_none=True, validate=HTTP_URL)
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


def _same_origin(a: str, b: str) -> bool:
    """True when two URLs share scheme, host and port (a `next` link may not send us elsewhere)."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc) == (y.scheme, y.netloc)


class WebhookAdapter(Adapter):
    """POSTs `{"idempotency_key", "ticket"}` as JSON, signed, with an Idempotency-Key header."""

    options_schema = WebhookOptions
    supports_updates = True
    takes_sla_events = True      # an SLA event is a signed addition POST, `addition.kind` sla_at_risk/sla_breached

    def _headers(self, payload: bytes) -> dict[str, str]:
        """Static headers plus the signature of this payload."""
        headers = dict(self.options["headers"])
        headers[self.options["signature_header"]] = sign(self.options["secret"], str(int(time.time())), payload)
        return headers

    def deliver(self, ticket: Ticket) -> Receipt:
        """POST the ticket; the back office's id comes from `id_field` of a JSON reply (else the key)."""
        body = json.dumps({"idempotency_key": ticket.idempotency_key, "ticket": ticket.to_json()},
                          ensure_ascii=False, separators=(",", ":")).encode()
        return self._post(self.options["url"], body, ticket.idempotency_key)

    def deliver_addition(self, addition: Addition) -> Receipt:
        """POST `{"idempotency_key", "addition"}` (signed, to `url`, or `additions_url` when set): a follower
        or a reopen for the ticket the back office knows as `addition.external_id`, its photos inline."""
        described = addition.to_json()
        # A follower's or a reopen's photos are write-only (never served at /media/), so their bytes travel
        # inline: a link would answer 404 to the back office too.
        described["photos"] = [{**photo.to_json(), "data_base64": base64.b64encode(photo.read()).decode("ascii")}
                               for photo in addition.photos]
        body = json.dumps({"idempotency_key": addition.idempotency_key, "addition": described},
                          ensure_ascii=False, separators=(",", ":")).encode()
        return self._post(self.options["additions_url"] or self.options["url"], body, addition.idempotency_key)

    def _post(self, url: str, body: bytes, key: str) -> Receipt:
        """POST a signed JSON body with its Idempotency-Key; the receipt is the reply's `id_field`, else the key."""
        headers = {**self._headers(body), "Content-Type": "application/json", "Idempotency-Key": key}
        reply = check(send(self.http, "POST", url, self.options, "webhook", data=body, headers=headers), "webhook")
        data = reply.json("webhook") if reply.body.strip() else None
        external = data.get(self.options["id_field"]) if isinstance(data, dict) else None
        if isinstance(external, int | str) and not isinstance(external, bool) and str(external).strip():
            return Receipt(external_id=str(external).strip()[:200])
        return Receipt(external_id=key)

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterator[RemoteUpdate]:
        """GET `updates_url?since=<W3C>` (signed over the query string), following same-origin `next` links."""
        if not self.options["updates_url"]:
            return
        base = self.options["updates_url"]
        url: str | None = base + ("&" if "?" in base else "?") + urlencode({"since": format_w3c(since)})
        for _ in range(MAX_PAGES):
            if url is None:
                return
            query = urlsplit(url).query.encode()
            reply = check(send(self.http, "GET", url, self.options, "webhook updates",
                               headers=self._headers(query)), "webhook updates")
            data = reply.json("webhook updates")
            items = data.get("updates") if isinstance(data, dict) else data
            if not isinstance(items, list):
                raise TemporaryError("webhook updates: reply has no `updates` list")
            for item in items:
                update = _update_of(item)
                if update is not None:
                    yield update
            link = data.get("next") if isinstance(data, dict) else None
            url = urljoin(url, link) if isinstance(link, str) and link else None
            if url is not None and not _same_origin(url, base):
                raise TemporaryError("webhook updates: `next` link points to another origin; not followed")


def _update_of(item: Any) -> RemoteUpdate | None:
    """One update object of the reply; malformed ones are skipped (cleaned and checked again on store)."""
    if not isinstance(item, dict):
        return None
    try:
        when = parse_datetime(str(item.get("updated_datetime") or ""))
    except ValueError:
        return None
    text = {k: (str(item[k]) if item.get(k) is not None else None)
            for k in ("update_id", "external_id", "service_request_id", "status", "description", "media_url")}
    if not text["update_id"] or not text["status"]:
        return None
    return RemoteUpdate(update_id=text["update_id"], external_id=text["external_id"],
                        service_request_id=text["service_request_id"], status=text["status"],
                        updated_datetime=when, description=text["description"], media_url=text["media_url"])
