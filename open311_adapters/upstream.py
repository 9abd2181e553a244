"""`open311`: forward tickets to an upstream GeoReport v2 server and read their status back from it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from marshmallow import fields

from open311.adapter import Adapter, Addition, PermanentError, Receipt, RemoteUpdate, TemporaryError, Ticket
from open311.core.dates import parse_datetime

from .transport import HTTP_URL, HttpOptions, Reply, check, send

CHUNK = 50
BATCH_PREFIX = "token:"  # external ids of batch tickets whose upstream id is not known yet


class UpstreamOptions(HttpOptions):
    """The upstream's base URL (ending in /v2 or similar), its key and jurisdiction, and code mapping."""

    endpoint = fields.String(required=True, validate=HTTP_URL)
    api_key = fields.String(load_default=None, allow_none=True)
    jurisdiction_id = fields.String(load_default=None, allow_none=True)
    service_codes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    # ask the upstream for extended_attributes (an upstream gateway of this kind then reports closure codes)
    extensions = fields.Boolean(load_default=False)


def _errors(reply: Reply) -> str:
    """The spec error codes of a refusal (never the descriptions: they may quote what was sent)."""
    try:
        data = reply.json("open311")
    except TemporaryError:
        return ""
    if isinstance(data, list):
        codes = [str(e.get("code")) for e in data if isinstance(e, dict) and e.get("code") is not None]
        return f"{len(data)} error(s), codes {', '.join(codes)}" if codes else ""
    return ""


class UpstreamAdapter(Adapter):
    """POSTs `requests.json` form-encoded as the spec says; reads `requests.json?service_request_id=...`.

    GeoReport v2 has no idempotency of its own: an `Idempotency-Key` header is sent for upstreams that
    honour it; one that does not may, in the rare crash between its reply and our record, see a ticket twice.
    """

    options_schema = UpstreamOptions
    supports_updates = True
    # No SLA events: the upstream gateway keeps its own clock (its own calendar and status map) and a
    # follower or reopen POST would misstate what happened.
    takes_sla_events = False

    def _url(self, path: str) -> str:
        """An endpoint URL under the configured base."""
        return str(self.options["endpoint"]).rstrip("/") + "/" + path

    def _common(self) -> dict[str, str]:
        """api_key and jurisdiction_id when configured."""
        common = {}
        if self.options["api_key"]:
            common["api_key"] = self.options["api_key"]
        if self.options["jurisdiction_id"]:
            common["jurisdiction_id"] = self.options["jurisdiction_id"]
        return common

    def form(self, ticket: Ticket) -> list[tuple[str, str]]:
        """The POST fields: mapped service_code, location, description, media, attributes, contact.

        GeoReport v2 takes one media_url and no files: the first photo's public URL (the gateway's processed
        copy, or the client's link) goes there; the upstream fetches it if it wants the picture.
        """
        code = self.options["service_codes"].get(ticket.service_code) or ticket.backoffice_code or ticket.service_code
        pairs: list[tuple[str, str]] = [*self._common().items(), ("service_code", code)]
        optional = {"lat": ticket.lat, "long": ticket.long, "address_string": ticket.address,
                    "address_id": ticket.address_id, "zipcode": ticket.zipcode, "description": ticket.description,
                    "media_url": ticket.media_urls[0] if ticket.media_urls else None}
        if ticket.contact is not None:
            optional.update(first_name=ticket.contact.first_name, last_name=ticket.contact.last_name,
                            email=ticket.contact.email, phone=ticket.contact.phone)
        pairs += [(k, str(v)) for k, v in optional.items() if v is not None]
        for attr, answer in ticket.attributes.items():
            if isinstance(answer, list):
                pairs += [(f"attribute[{attr}][]", str(v)) for v in answer]
            else:
                pairs.append((f"attribute[{attr}]", _text(answer)))
        return pairs

    def deliver(self, ticket: Ticket) -> Receipt:
        """POST the request; the upstream's service_request_id (or token) becomes the external id."""
        reply = send(self.http, "POST", self._url("requests.json"), self.options, "open311", data=self.form(ticket),
                     headers={"Idempotency-Key": ticket.idempotency_key, "Accept": "application/json"})
        check(reply, "open311", _errors(reply))
        data = reply.json("open311")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if first is None:
            raise TemporaryError("open311: reply is not a list of requests")
        if first.get("service_request_id") not in (None, ""):
            return Receipt(external_id=str(first["service_request_id"])[:200])
        if first.get("token") not in (None, ""):
            return Receipt(external_id=BATCH_PREFIX + str(first["token"])[:150])
        raise PermanentError("open311: upstream returned neither service_request_id nor token")

    def deliver_addition(self, addition: Addition) -> Receipt:
        """POST the follower to the upstream's `requests/{id}/followers.json` (this gateway's own extension,
        so an upstream gateway of the same kind takes it); its follower_id becomes the external id."""
        upstream = self._resolve([addition.external_id])
        if not upstream:
            raise TemporaryError("open311: the upstream has no service_request_id for the ticket's token yet")
        if addition.reopen:
            return self._reopen(next(iter(upstream)), addition)
        pairs: list[tuple[str, str]] = list(self._common().items())
        if addition.description:
            pairs.append(("description", addition.description))
        if addition.contact is not None:
            pairs += [(k, v) for k, v in (("first_name", addition.contact.first_name),
                                          ("last_name", addition.contact.last_name), ("email", addition.contact.email),
                                          ("phone", addition.contact.phone)) if v]
        for attr, answer in addition.attributes.items():
            if isinstance(answer, list):
                pairs += [(f"attribute[{attr}][]", str(v)) for v in answer]
            else:
                pairs.append((f"attribute[{attr}]", _text(answer)))
        path = f"requests/{quote(next(iter(upstream)), safe='')}/followers.json"
        reply = send(self.http, "POST", self._url(path), self.options, "open311 followers", data=pairs,
                     headers={"Idempotency-Key": addition.idempotency_key, "Accept": "application/json"})
        check(reply, "open311 followers", _errors(reply))
        data = reply.json("open311 followers")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if first is None or first.get("follower_id") in (None, ""):
            raise TemporaryError("open311 followers: reply names no follower_id")
        return Receipt(external_id=str(first["follower_id"])[:200])

    def _reopen(self, upstream_id: str, addition: Addition) -> Receipt:
        """POST the resident's "not fixed" to the upstream's `requests/{id}/reopen.json` (this gateway's own
        extension). A 409 counts as delivered only when the upstream's request reads open: a 409 for a request
        closed there too long ago means the department was not told (PermanentError, a dead letter)."""
        pairs = [*self._common().items(), ("description", addition.description or "The problem is not fixed.")]
        path = f"requests/{quote(upstream_id, safe='')}/reopen.json"
        reply = send(self.http, "POST", self._url(path), self.options, "open311 reopen", data=pairs,
                     headers={"Idempotency-Key": addition.idempotency_key, "Accept": "application/json"})
        if reply.status == 409:
            if self._status_of(upstream_id) == "open":
                return Receipt(external_id=f"{upstream_id}:open")
            raise PermanentError("open311 reopen: the upstream refused it (HTTP 409) and its request is still closed")
        check(reply, "open311 reopen", _errors(reply))
        data = reply.json("open311 reopen")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if first is None or first.get("reopen_id") in (None, ""):
            raise TemporaryError("open311 reopen: reply names no reopen_id")
        return Receipt(external_id=str(first["reopen_id"])[:200])

    def _status_of(self, upstream_id: str) -> str | None:
        """The upstream request's status as its `requests/{id}.json` reads now."""
        path = f"requests/{quote(upstream_id, safe='')}.json"
        reply = check(send(self.http, "GET", self._url(path), self.options, "open311 request",
                           params=self._common()), "open311 request")
        data = reply.json("open311 request")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        return str(first.get("status")) if first is not None else None

    def _resolve(self, external_ids: Sequence[str]) -> dict[str, str]:
        """Upstream id -> the external id we stored (tokens are resolved when the upstream has an id for them)."""
        ids: dict[str, str] = {}
        for external in external_ids:
            if not external.startswith(BATCH_PREFIX):
                ids[external] = external
                continue
            path = f"tokens/{quote(external[len(BATCH_PREFIX):], safe='')}.json"
            reply = check(send(self.http, "GET", self._url(path), self.options, "open311 token",
                               params=self._common()), "open311 token")
            data = reply.json("open311 token")
            found = data[0].get("service_request_id") if isinstance(data, list) and data and \
                isinstance(data[0], dict) else None
            if found:
                ids[str(found)] = external
        return ids

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterator[RemoteUpdate]:
        """GET the tracked requests by id, 50 at a time; each (status, updated_datetime) is one update."""
        ids = self._resolve(external_ids)
        upstream = list(ids)
        for start in range(0, len(upstream), CHUNK):
            chunk = upstream[start:start + CHUNK]
            reply = check(send(self.http, "GET", self._url("requests.json"), self.options, "open311 requests",
                               params={**self._common(), "service_request_id": ",".join(chunk),
                                       **({"extensions": "true"} if self.options["extensions"] else {})}),
                          "open311 requests")
            data = reply.json("open311 requests")
            for item in data if isinstance(data, list) else []:
                update = _update_of(item, ids)
                if update is not None and update.updated_datetime >= since:
                    yield update


def _update_of(item: Any, ids: dict[str, str]) -> RemoteUpdate | None:
    """A request of the upstream's feed as an update, if it is one of ours and readable."""
    if not isinstance(item, dict) or str(item.get("service_request_id")) not in ids or not item.get("status"):
        return None
    sid = str(item["service_request_id"])
    try:
        when = parse_datetime(str(item.get("updated_datetime") or item.get("requested_datetime") or ""))
    except ValueError:
        return None
    status = str(item["status"])
    notes = item.get("status_notes")
    extended = item.get("extended_attributes")
    extended = extended if isinstance(extended, dict) else {}
    code = extended.get("closure_code")
    code = str(code) if code not in (None, "", "unspecified") else None
    return RemoteUpdate(update_id=f"{sid}@{when.isoformat()}/{status}"[:200], external_id=ids[sid],
                        service_request_id=None, status=status, updated_datetime=when,
                        description=None if notes is None else str(notes), closure_code=code)


def _text(answer: Any) -> str:
    """An attribute answer as the form value: whole numbers without a trailing .0."""
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)
