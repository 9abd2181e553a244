"""Sending one signed callback (a status change, or an SLA event) to a subscriber (called by the relay, no
transaction open)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy.orm import Session

from open311.adapter import PermanentError, TemporaryError
from open311.config.jurisdictions import GatewayConfig
from open311.core.dates import format_w3c
from open311.core.pinned_http import pinned_session
from open311.core.signing import HEADER, sign
from open311.feeds.entries import request_entry, update_entry
from open311.feeds.subscriptions import Unresolvable, UnsafeDestination, check_callback_url
from open311.settings import CallbackPolicy
from open311.storage.models import ServiceRequest, SlaEvent, StatusUpdate, Subscription

TIMEOUT = (3.05, 10.0)
MAX_REPLY = 64 * 1024


@dataclass(frozen=True)
class Callback:
    """What one callback sends, and where."""

    url: str
    secret: str
    event_id: str
    body: bytes
    event: str = "status_change"    # the X-Open311-Event header, as the body's `event`


def build_callback(session: Session, config: GatewayConfig, subscription_id: int,
                   status_update_id: int | None, sla_event_id: int | None = None) -> Callback | None:
    """The callback for an outbox row (a status update's, or an SLA event's), or None when its subscription
    is gone or disabled."""
    with session.begin():
        subscription = session.get(Subscription, subscription_id)
        update = session.get(StatusUpdate, status_update_id) if status_update_id is not None else None
        sla = session.get(SlaEvent, sla_event_id) if sla_event_id is not None and update is None else None
        found = update or sla
        request = session.get(ServiceRequest, found.request_id) if found is not None else None
    if subscription is None or not subscription.active or found is None or request is None:
        return None
    jurisdiction = config.jurisdictions.get(request.jurisdiction_id)
    if jurisdiction is None:
        return None
    tz = jurisdiction.timezone
    if update is not None:
        event, event_id = "status_change", f"{request.jurisdiction_id}:{update.id}:{subscription.id}"
        # Callbacks are this gateway's own extension, so the update carries the closure fields (closure_code,
        # duplicate_of, reopened) as the update feed shows them with extensions=true.
        details: dict[str, Any] = {"update": update_entry(update, tz, extended=True)}
    else:
        assert sla is not None
        event, event_id = f"sla_{sla.state}", f"{request.jurisdiction_id}:sla-{sla.id}:{subscription.id}"
        details = {"sla": {"sla_event_id": str(sla.id), "sla_state": sla.state,
                           "expected_datetime": format_w3c(sla.expected_datetime, tz),
                           "detected_datetime": format_w3c(sla.created_at, tz)}}
    payload: dict[str, Any] = {
        "event": event, "event_id": event_id, "subscription_id": str(subscription.id),
        "jurisdiction_id": request.jurisdiction_id,
        # Read when sent, not when queued: a request hidden meanwhile goes out without its typed text.
        "service_request": request_entry(request, tz),
        **details,
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Callback(subscription.callback_url, subscription.secret, event_id, body, event)


def send_callback(http: requests.Session, callback: Callback, policy: CallbackPolicy) -> None:
    """POST the callback; raise TemporaryError (retry) or PermanentError (give up and drop the subscription).

    The URL's host is resolved and checked now (DNS may have changed since the subscription), and the
    connection goes to the address checked (open311/core/pinned_http.py): no second lookup, no redirect.
    TLS is verified against the host name as `http` verifies it; no proxy is used.
    """
    try:
        destination = check_callback_url(callback.url, policy)
    except Unresolvable as exc:
        raise TemporaryError(str(exc)) from None
    except UnsafeDestination as exc:
        raise PermanentError(str(exc)) from None
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "open311-gateway callbacks",
               "X-Open311-Event": callback.event, "X-Open311-Delivery": callback.event_id,
               HEADER: sign(callback.secret, timestamp, callback.body)}
    try:
        with (pinned_session(destination.addresses[0], verify=http.verify) as pinned,
              pinned.post(callback.url, data=callback.body, headers=headers, timeout=TIMEOUT,
                          allow_redirects=False, stream=True) as reply):
            reply.raw.read(MAX_REPLY, decode_content=False)  # read a bounded amount; the body is not used
            status = reply.status_code
            retry_after = reply.headers.get("Retry-After")
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
        raise PermanentError(f"callback_url not usable: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise TemporaryError(f"callback not delivered: {type(exc).__name__}") from None
    if 200 <= status < 300:
        return
    if status in (408, 425, 429) or status >= 500:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise TemporaryError(f"callback answered HTTP {status}", retry_after=delay)
    raise PermanentError(f"callback answered HTTP {status}")
