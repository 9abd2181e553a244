"""Real back offices on loopback for the adapter tests: a webhook receiver, a GeoReport server, Salesforce."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

Handler = Callable[[Request], Response]


class QuietHandler(WSGIRequestHandler):
    """No access log lines: the peers answer thousands of requests in some tests."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def free_port() -> int:
    """A port nothing listens on right now (for a back office that is down, then comes up)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_peer(handler: Handler, port: int = 0) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 in threads; yield the base URL."""
    app = Request.application(handler)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


class WebhookBackOffice:
    """Receives signed tickets, keeps one per Idempotency-Key, and serves updates; `mode` scripts its health."""

    def __init__(self, secret: str, delay: float = 0.0) -> None:
        self.secret = secret
        self.mode = "ok"          # ok | slow (answers after slow_seconds) | error500 | record-then-500
        self.slow_seconds = 1.0
        self.delay = delay
        self.tickets: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.updates: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    def verify(self, request: Request, payload: bytes) -> bool:
        header = request.headers.get("X-Open311-Signature", "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        expected = hmac.new(self.secret.encode(), parts.get("t", "").encode() + b"." + payload,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    def __call__(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/updates":
            if not self.verify(request, request.query_string):
                return Response(status=401)
            since = request.args.get("since", "")
            return json_response({"updates": [u for u in self.updates if u["updated_datetime"] >= since]})
        body = request.get_data()
        if not self.verify(request, body):
            self.bad_signatures += 1
            return Response(status=401)
        key = request.headers["Idempotency-Key"]
        with self.lock:
            self.posts[key] += 1
        mode = self.mode
        if mode == "error500":
            return Response("boom", status=500)
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if key not in self.tickets:
                self.tickets[key] = {"id": f"BO-{next(self.ids)}", **json.loads(body)}
                self.created[key] += 1
            answer = self.tickets[key]["id"]
        if mode == "record-then-500":
            return Response("stored, but the reply failed", status=500)
        return json_response({"id": answer}, status=201)


class GeoReportUpstream:
    """A small GeoReport v2 server that honours Idempotency-Key; tests change statuses directly."""

    def __init__(self, api_key: str = "upstream-key") -> None:
        self.api_key = api_key
        self.requests: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.forms: list[dict[str, list[str]]] = []
        self.ids = itertools.count(9001)
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.path.endswith("/requests.json") and request.method == "POST":
            form = parse_qs(request.get_data(as_text=True), keep_blank_values=True)
            self.forms.append(form)
            if form.get("api_key") != [self.api_key]:
                return json_response([{"code": 403, "description": "Invalid api_key"}], 403)
            if form.get("service_code") == ["UNKNOWN"]:
                return json_response([{"code": 404, "description": "service_code not found"}], 404)
            with self.lock:
                key = request.headers.get("Idempotency-Key", "")
                if key not in self.by_key:
                    sid = str(next(self.ids))
                    self.by_key[key] = sid
                    self.requests[sid] = {"service_request_id": sid, "status": "open", "status_notes": None,
                                          "updated_datetime": "2026-03-10T17:30:00Z",
                                          "requested_datetime": "2026-03-10T17:30:00Z"}
            return json_response([{"service_request_id": self.by_key[key], "service_notice": None}])
        if request.path.endswith("/requests.json"):
            wanted = request.args.get("service_request_id", "").split(",")
            extended = request.args.get("extensions") == "true"   # extended_attributes only when asked for
            return json_response([{k: v for k, v in r.items() if extended or k != "extended_attributes"}
                                  for sid, r in self.requests.items() if sid in wanted])
        return json_response([{"code": 404, "description": "not found"}], 404)


class SalesforceOrg:
    """Follows Salesforce's published shapes: OAuth2 token, Case upsert on an external id, SOQL query."""

    def __init__(self, client_id: str = "cid", client_secret: str = "csecret", ext: str = "Open311_Id__c") -> None:
        self.client_id, self.client_secret, self.ext = client_id, client_secret, ext
        self.tokens: set[str] = set()
        self.logins = 0
        self.cases: dict[str, dict[str, Any]] = {}   # external id value -> case
        self.fail_next: list[int] = []               # statuses to answer upsert with, in order
        self.page_size = 2
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.base = ""
        self.queries: list[str] = []
        self.unknown_fields: set[str] = set()
        self.files: list[dict[str, Any]] = []         # ContentVersions: Title, PathOnClient, linked Case, bytes
        self.comments: list[dict[str, Any]] = []      # CaseComments: Id, ParentId, CommentBody, IsPublished
        self.patches: list[tuple[str, dict[str, Any]]] = []   # PATCHes of a Case by its Id: (Id, fields)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def __call__(self, request: Request) -> Response:
        if request.path == "/services/oauth2/token":
            form = request.form
            if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id \
                    or form.get("client_secret") != self.client_secret:
                return json_response({"error": "invalid_client", "error_description": "invalid client credentials"},
                                     400)
            token = f"00D!tok{len(self.tokens) + self.logins}"
            self.logins += 1
            self.tokens.add(token)
            return json_response({"access_token": token, "instance_url": self.base, "token_type": "Bearer",
                                  "issued_at": str(int(time.time() * 1000)), "signature": "x"})
        if request.headers.get("Authorization", "")[7:] not in self.tokens:
            return json_response([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)
        prefix = f"/services/data/v61.0/sobjects/Case/{self.ext}/"
        if request.path.startswith(prefix):
            return self.upsert(request, request.path[len(prefix):])
        by_id = "/services/data/v61.0/sobjects/Case/"
        if request.path.startswith(by_id) and request.method == "PATCH":
            return self.update_case(request.path[len(by_id):], request.get_json())
        if request.path == "/services/data/v61.0/sobjects/ContentVersion" and request.method == "POST":
            return self.upload(request.get_json())
        if request.path == "/services/data/v61.0/sobjects/CaseComment" and request.method == "POST":
            body = request.get_json()
            if not any(c["Id"] == body.get("ParentId") for c in self.cases.values()):
                return json_response([{"message": "invalid id", "errorCode": "INVALID_CROSS_REFERENCE_KEY"}], 400)
            with self.lock:
                comment = {"Id": f"00a{len(self.comments) + 1:012d}", **body}
                self.comments.append(comment)
            return json_response({"id": comment["Id"], "success": True, "errors": []}, 201)
        if request.path == "/services/data/v61.0/query" and "FROM CaseComment" in request.args["q"]:
            parent = request.args["q"].split("ParentId = '")[1].split("'")[0]
            records = [{"attributes": {"type": "CaseComment"}, "Id": c["Id"], "CommentBody": c["CommentBody"]}
                       for c in self.comments if c["ParentId"] == parent]
            return json_response({"totalSize": len(records), "done": True, "records": records})
        if request.path == "/services/data/v61.0/query" and "FROM ContentDocumentLink" in request.args["q"]:
            case_id = request.args["q"].split("LinkedEntityId = '")[1].split("'")[0]
            records = [{"attributes": {"type": "ContentDocumentLink"}, "ContentDocument": {"Title": f["Title"]}}
                       for f in self.files if f["FirstPublishLocationId"] == case_id]
            return json_response({"totalSize": len(records), "done": True, "records": records})
        if request.path == "/services/data/v61.0/query":
            return self.query(request.args["q"], 0)
        if request.path.startswith("/services/data/v61.0/query/01gNEXT-"):
            q, offset = request.path.rsplit("/", 1)[1][len("01gNEXT-"):].split("-", 1)
            return self.query(self.queries[int(q)], int(offset))
        return json_response([{"message": "not found", "errorCode": "NOT_FOUND"}], 404)

    def upsert(self, request: Request, value: str) -> Response:
        if request.method == "GET":
            case = self.cases.get(value)
            return json_response({"attributes": {"type": "Case"}, "Id": case["Id"]}) if case else \
                json_response([{"errorCode": "NOT_FOUND", "message": "not found"}], 404)
        if self.fail_next:
            status = self.fail_next.pop(0)
            return json_response([{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}], status,
                                 headers={"Retry-After": "7"} if status in (429, 503) else None)
        body = request.get_json()
        unknown = sorted(set(body) & self.unknown_fields)
        if unknown:
            return json_response([{"message": f"No such column '{unknown[0]}' on sobject of type Case",
                                   "errorCode": "INVALID_FIELD"}], 400)
        with self.lock:
            created = value not in self.cases
            case = self.cases.setdefault(value, {"Id": f"500{next(self.ids):012d}", "Status": "New",
                                                 "LastModifiedDate": "2026-03-10T17:30:00.000+0000"})
            case.update(body)
            case[self.ext] = value
        if created:
            return json_response({"id": case["Id"], "success": True, "errors": [], "created": True}, 201)
        return Response(status=204)

    def update_case(self, case_id: str, body: dict[str, Any]) -> Response:
        """PATCH sobjects/Case/<Id>: set fields of an existing Case (204), as a reopen sets its Status."""
        with self.lock:
            case = next((c for c in self.cases.values() if c["Id"] == case_id), None)
            if case is None:
                return json_response([{"message": "not found", "errorCode": "NOT_FOUND"}], 404)
            self.patches.append((case_id, dict(body)))
            case.update(body)
        return Response(status=204)

    def upload(self, body: dict[str, Any]) -> Response:
        """POST sobjects/ContentVersion: a file (base64 VersionData) published to a record."""
        linked = body.get("FirstPublishLocationId")
        if not any(c["Id"] == linked for c in self.cases.values()):
            return json_response([{"message": "invalid id", "errorCode": "INVALID_CROSS_REFERENCE_KEY"}], 400)
        with self.lock:
            self.files.append({**{k: body.get(k) for k in ("Title", "PathOnClient", "FirstPublishLocationId",
                                                           "Description")},
                               "data": base64.b64decode(body["VersionData"])})
            number = len(self.files)
        return json_response({"id": f"068{number:012d}", "success": True, "errors": []}, 201)

    def query(self, soql: str, offset: int) -> Response:
        since = soql.split("LastModifiedDate >= ")[1].split(" ")[0]
        # the columns the SELECT names (Salesforce answers exactly those, null when a Case has no value)
        columns = [c.strip() for c in soql.split("SELECT ", 1)[1].split(" FROM ", 1)[0].split(",")]
        records = sorted((c for c in self.cases.values()
                          if c["LastModifiedDate"][:19] >= since[:19]), key=lambda c: c["LastModifiedDate"])
        page = records[offset:offset + self.page_size]
        data: dict[str, Any] = {"totalSize": len(records), "done": offset + self.page_size >= len(records),
                                "records": [{"attributes": {"type": "Case"}, **{k: c.get(k) for k in columns}}
                                            for c in page]}
        if not data["done"]:
            if soql not in self.queries:
                self.queries.append(soql)
            data["nextRecordsUrl"] = f"/services/data/v61.0/query/01gNEXT-{self.queries.index(soql)}-" \
                                     f"{offset + self.page_size}"
        return json_response(data)


def distinct(values: Iterable[str]) -> int:
    return len(set(values))
