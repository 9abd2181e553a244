"""`salesforce`: Service Cloud Cases over the REST API (client-credentials OAuth2, upsert on an external id),
photos uploaded as Files (ContentVersion) on the Case."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from marshmallow import fields, validate

from open311.adapter import Adapter, Addition, PermanentError, Receipt, RemoteUpdate, TemporaryError, Ticket
from open311.core.dates import parse_datetime

from .smtp_ticket import ticket_text
from .transport import HTTP_URL, HttpOptions, Reply, check, send

MAX_PAGES = 50
SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
FIELD_NAME = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,79}$", error="not a Salesforce field API name")
TICKET_KEYS = ("service_request_id", "jurisdiction_id", "department", "service_code", "service_name",
               "backoffice_code", "requested_datetime", "lat", "long", "address", "address_id", "zipcode")


class SalesforceOptions(HttpOptions):
    """The org's login URL and connected-app credentials, the API version and the Case field mapping."""

    login_url = fields.String(required=True, validate=HTTP_URL)
    instance_url = fields.String(load_default=None, allow_none=True, validate=HTTP_URL)
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(required=True, validate=validate.Length(min=1))
    api_version = fields.String(load_default="v61.0", validate=validate.Regexp(r"^v\d{2,3}\.\d$"))
    external_id_field = fields.String(load_default="Open311_Service_Request_Id__c", validate=FIELD_NAME)
    notes_field = fields.String(load_default=None, allow_none=True, validate=FIELD_NAME)
    # the Case field holding the closure code (fixed, duplicate ...), read with each pulled update
    closure_code_field = fields.String(load_default=None, allow_none=True, validate=FIELD_NAME)
    # the Case Status set when a resident reopens the request (None: only the private comment)
    reopen_status = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    case_fields = fields.Dict(keys=fields.String(validate=FIELD_NAME), load_default=lambda: {"Origin": "Web"})
    field_map = fields.Dict(keys=fields.String(validate=FIELD_NAME),
                            values=fields.String(validate=validate.OneOf(TICKET_KEYS)), load_default=dict)
    # Photos as Files (ContentVersion) on the Case; off: the Description lists their links only.
    upload_photos = fields.Boolean(load_default=True)


def _error_codes(reply: Reply) -> str:
    """`errorCode`s of Salesforce's error array (or OAuth's `error`), never the messages."""
    try:
        data = reply.json("salesforce")
    except TemporaryError:
        return ""
    if isinstance(data, list):
        return ", ".join(str(e.get("errorCode")) for e in data if isinstance(e, dict))
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:100]
    return ""


class SalesforceAdapter(Adapter):
    """Upserts a Case per ticket on `external_id_field` = service_request_id; polls Cases by LastModifiedDate."""

    options_schema = SalesforceOptions
    supports_updates = True
    takes_sla_events = True      # an SLA event is a private CaseComment (`SLA BREACHED: ...`)

    def __init__(self, options: Any, *, http: Any) -> None:
        super().__init__(options, http=http)
        self._lock = threading.Lock()
        self._token: tuple[str, str] | None = None  # (access token, instance URL)

    def _login(self) -> tuple[str, str]:
        """A fresh access token from the token endpoint (client-credentials flow)."""
        url = self.options["login_url"].rstrip("/") + "/services/oauth2/token"
        reply = send(self.http, "POST", url, self.options, "salesforce token", data={
            "grant_type": "client_credentials", "client_id": self.options["client_id"],
            "client_secret": self.options["client_secret"]}, headers={"Accept": "application/json"})
        if reply.status in (400, 401):
            raise PermanentError(f"salesforce token: HTTP {reply.status} ({_error_codes(reply)})")
        data = check(reply, "salesforce token").json("salesforce token")
        token = data.get("access_token") if isinstance(data, dict) else None
        instance = self.options["instance_url"] or (data.get("instance_url") if isinstance(data, dict) else None)
        if not isinstance(token, str) or not isinstance(instance, str) or not instance.startswith(("https://",
                                                                                                      "http://")):
            raise TemporaryError("salesforce token: reply lacks access_token or instance_url")
        return token, instance.rstrip("/")

    def _session(self, renew: bool = False) -> tuple[str, str]:
        """The cached token, logging in when there is none (or it was refused)."""
        with self._lock:
            if self._token is None or renew:
                self._token = self._login()
            return self._token

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Reply:
        """An authenticated REST call; a 401 (expired or revoked session) logs in again once."""
        extra = kwargs.pop("headers", {})
        for attempt in (0, 1):
            token, instance = self._session(renew=attempt == 1)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **extra}
            reply = send(self.http, method, instance + path, self.options, what, headers=headers, **kwargs)
            if reply.status != 401:
                break
        if reply.status == 403 and "REQUEST_LIMIT_EXCEEDED" in _error_codes(reply):
            raise TemporaryError(f"{what}: API request limit exceeded", retry_after=3600)
        return check(reply, what, _error_codes(reply))

    def case(self, ticket: Ticket) -> dict[str, Any]:
        """The Case fields for a ticket (contact only when the ticket carries it)."""
        data = ticket.to_json()
        body: dict[str, Any] = dict(self.options["case_fields"])
        body["Subject"] = f"{ticket.service_name} - {ticket.address or ticket.service_code}"[:255]
        body["Description"] = ticket_text(ticket)[:32000]
        for field, key in self.options["field_map"].items():
            body[field] = data.get(key)
        if ticket.contact is not None:
            name = " ".join(x for x in (ticket.contact.first_name, ticket.contact.last_name) if x)
            body.update({k: v for k, v in (("SuppliedName", name), ("SuppliedEmail", ticket.contact.email),
                                           ("SuppliedPhone", ticket.contact.phone)) if v})
        return body

    def deliver(self, ticket: Ticket) -> Receipt:
        """PATCH .../sobjects/Case/<external_id_field>/<service_request_id>: creates once, updates after; then
        the ticket's photos are uploaded as Files linked to the Case (each once: see attach_photos)."""
        case_id = self.upsert_case(ticket)
        if self.options["upload_photos"] and ticket.photos:
            self.attach_photos(case_id, ticket)
        return Receipt(external_id=case_id)

    def upsert_case(self, ticket: Ticket) -> str:
        """Create or update the ticket's Case; return its Id."""
        base = f"/services/data/{self.options['api_version']}/sobjects/Case/{self.options['external_id_field']}"
        path = f"{base}/{quote(ticket.service_request_id, safe='')}"
        reply = self._call("PATCH", path, "salesforce upsert", json=self.case(ticket))
        data = reply.json("salesforce upsert") if reply.body.strip() else None
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return str(data["id"])
        found = self._call("GET", path, "salesforce case", params={"fields": "Id"}).json("salesforce case")
        if isinstance(found, dict) and isinstance(found.get("Id"), str):
            return str(found["Id"])
        raise TemporaryError("salesforce upsert: the Case id could not be read back")

    def attach_photos(self, case_id: str, ticket: Ticket) -> None:
        """Upload each photo as a ContentVersion published to the Case, skipping those already there.

        Titles are the photos' stable file names, so a redelivery (after a crash or a failed upload) finds
        what an earlier attempt uploaded and adds only what is missing.
        """
        if not SALESFORCE_ID.fullmatch(case_id):
            raise PermanentError("salesforce files: the Case id is not a Salesforce id")
        api = f"/services/data/{self.options['api_version']}"
        soql = f"SELECT ContentDocument.Title FROM ContentDocumentLink WHERE LinkedEntityId = '{case_id}'"  # noqa: S608
        found = self._call("GET", f"{api}/query", "salesforce files", params={"q": soql}).json("salesforce files")
        records = found.get("records") if isinstance(found, dict) else None
        if not isinstance(records, list):
            raise TemporaryError("salesforce files: reply has no records")
        present = {(r.get("ContentDocument") or {}).get("Title") for r in records if isinstance(r, dict)}
        for photo in ticket.photos:
            title = photo.filename.rsplit(".", 1)[0]
            if title in present:
                continue
            body = {"Title": title, "PathOnClient": photo.filename, "FirstPublishLocationId": case_id,
                    "Description": f"Photo sent with service request {ticket.service_request_id}: {photo.url}"[:1000],
                    "VersionData": base64.b64encode(photo.read()).decode("ascii")}
            self._call("POST", f"{api}/sobjects/ContentVersion", "salesforce file upload", json=body)

    def deliver_addition(self, addition: Addition) -> Receipt:
        """A follower as a private CaseComment on the Case (`addition.external_id`), once: the comment ends with
        the addition's idempotency key, and one already carrying it is found first; its photos as Files."""
        case_id = addition.external_id
        if not SALESFORCE_ID.fullmatch(case_id):
            raise PermanentError("salesforce comment: the Case id is not a Salesforce id")
        api = f"/services/data/{self.options['api_version']}"
        marker = f"[{addition.idempotency_key}]"
        soql = f"SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '{case_id}'"  # noqa: S608
        found = self._call("GET", f"{api}/query", "salesforce comments", params={"q": soql}).json("salesforce comments")
        records = found.get("records") if isinstance(found, dict) else None
        if not isinstance(records, list):
            raise TemporaryError("salesforce comments: reply has no records")
        existing = [r for r in records if isinstance(r, dict) and marker in str(r.get("CommentBody") or "")]
        if existing:
            comment_id = str(existing[0].get("Id"))
        else:
            body = {"ParentId": case_id, "IsPublished": False,
                    "CommentBody": (addition.summary()[:3900] + "\n" + marker)}
            reply = self._call("POST", f"{api}/sobjects/CaseComment", "salesforce comment", json=body)
            data = reply.json("salesforce comment")
            if not (isinstance(data, dict) and isinstance(data.get("id"), str)):
                raise TemporaryError("salesforce comment: the comment id could not be read")
            comment_id = str(data["id"])
        if self.options["upload_photos"] and addition.photos:
            self.attach_photos(case_id, replace(addition.ticket, photos=addition.photos))
        if addition.reopen and self.options["reopen_status"]:
            self._call("PATCH", f"{api}/sobjects/Case/{case_id}", "salesforce reopen",
                       json={"Status": self.options["reopen_status"]})
        return Receipt(external_id=comment_id)

    def fetch_updates(self, *, since: datetime, external_ids: Sequence[str]) -> Iterator[RemoteUpdate]:
        """SOQL over Cases modified since `since`, following nextRecordsUrl; each modification is one update."""
        ext, notes = self.options["external_id_field"], self.options["notes_field"]
        closure = self.options["closure_code_field"]
        columns = ", ".join(["Id", ext, "Status", "LastModifiedDate"] + ([notes] if notes else [])
                            + ([closure] if closure else []))
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Field names are validated API names and the stamp is formatted here: nothing untrusted is spliced.
        soql = (f"SELECT {columns} FROM Case WHERE {ext} != null AND LastModifiedDate >= {stamp} "  # noqa: S608
                "ORDER BY LastModifiedDate ASC")
        prefix = f"/services/data/{self.options['api_version']}/query"
        page: Reply = self._call("GET", prefix, "salesforce query", params={"q": soql})
        for _ in range(MAX_PAGES):
            data = page.json("salesforce query")
            if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                raise TemporaryError("salesforce query: reply has no records")
            for record in data["records"]:
                update = _update_of(record, ext, notes, closure)
                if update is not None:
                    yield update
            following = data.get("nextRecordsUrl")
            if data.get("done", True) or not isinstance(following, str):
                return
            if not following.startswith(prefix + "/"):
                raise TemporaryError("salesforce query: unexpected nextRecordsUrl; not followed")
            page = self._call("GET", following, "salesforce query")


def _update_of(record: Any, ext: str, notes: str | None, closure: str | None = None) -> RemoteUpdate | None:
    """One Case record as an update (its Id and LastModifiedDate make the update_id)."""
    if not isinstance(record, dict) or not record.get("Id") or not record.get("Status") or not record.get(ext):
        return None
    try:
        when = parse_datetime(str(record.get("LastModifiedDate") or ""))
    except ValueError:
        return None
    note = record.get(notes) if notes else None
    code = record.get(closure) if closure else None
    return RemoteUpdate(update_id=f"{record['Id']}@{when.isoformat()}", external_id=str(record["Id"]),
                        service_request_id=str(record[ext]), status=str(record["Status"]), updated_datetime=when,
                        description=None if note is None else str(note),
                        closure_code=None if code is None else str(code))
