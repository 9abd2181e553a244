"""Subscriptions to status changes (push): POST/GET subscriptions.{fmt}, DELETE subscriptions/{id}.{fmt}."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView

from open311.core.dates import format_w3c
from open311.feeds.subscriptions import create_subscription, delete_subscription, list_subscriptions
from open311.georeport import openapi
from open311.georeport.app import current_services
from open311.georeport.auth import api_key_of
from open311.georeport.blueprint import blp
from open311.georeport.parsing import param, parse_submission
from open311.georeport.render import Many
from open311.georeport.respond import respond
from open311.georeport.sandbox import jurisdiction_of
from open311.georeport.views import check_format
from open311.intake.keys import check_key
from open311.intake.submit import Submission
from open311.services import Services
from open311.storage.models import ApiKey, Subscription

XML_ROOTS = ("subscription", "request")
PRIVATE = {"Cache-Control": "private, no-store"}


def subscription_entry(row: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """One <subscription>; the signing secret only in the answer that creates it."""
    entry: dict[str, Any] = {
        "subscription_id": str(row.id),
        "callback_url": row.callback_url,
        "service_code": row.service_code,
        "status": "active" if row.active else "disabled",
        "created_datetime": format_w3c(row.created_at),
        "disabled_datetime": format_w3c(row.disabled_at),
        "disabled_reason": row.disabled_reason,
        "callbacks_delivered": row.delivered,
    }
    if with_secret:
        entry["secret"] = row.secret
    return entry


def _owner(gateway: Services, submission: Submission) -> tuple[Any, ApiKey]:
    """The jurisdiction and the app key a subscription call is made with (403 without one)."""
    jurisdiction = jurisdiction_of(gateway, submission.fields)
    with gateway.session() as session:
        key = check_key(session, jurisdiction.id, api_key_of(request, submission))
    return jurisdiction, key


@blp.route("/subscriptions.<fmt>", parameters=[openapi.FMT])
class Subscriptions(MethodView):
    """Subscriptions of the calling API key."""

    @openapi.documented(openapi.SUBSCRIPTIONS)
    def get(self, fmt: str) -> Response:
        """The key's subscriptions (active and disabled, never their secrets)."""
        check_format(fmt)
        gateway = current_services()
        _, key = _owner(gateway, Submission(fields={}))
        with gateway.session() as session:
            rows = list_subscriptions(session, key)
        return respond(fmt, "subscriptions", Many("subscription", [subscription_entry(r) for r in rows]),
                       headers=PRIVATE)

    @openapi.documented(openapi.SUBSCRIBE)
    def post(self, fmt: str) -> Response:
        """Subscribe `callback_url` to status changes of the key's requests, or of `service_code`'s requests.

        The answer carries `secret` (once): callbacks are signed with it (X-Open311-Signature).
        """
        check_format(fmt)
        gateway = current_services()
        submission = parse_submission(request, XML_ROOTS)
        jurisdiction, key = _owner(gateway, submission)
        with gateway.session() as session:
            row = create_subscription(session, jurisdiction, key, param(submission.fields, "callback_url"),
                                      param(submission.fields, "service_code"), gateway.clock(),
                                      gateway.policies.callbacks)
        return respond(fmt, "subscriptions", Many("subscription", [subscription_entry(row, with_secret=True)]),
                       headers=PRIVATE)


@blp.route("/subscriptions/<subscription_id>.<fmt>", parameters=[
    openapi.path_parameter("subscription_id", "The id POST subscriptions returned."), openapi.FMT])
class SubscriptionById(MethodView):
    """One subscription of the calling API key."""

    @openapi.documented(openapi.UNSUBSCRIBE)
    def delete(self, subscription_id: str, fmt: str) -> Response:
        """Delete it; callbacks not yet sent are dropped with it."""
        check_format(fmt)
        gateway = current_services()
        _, key = _owner(gateway, Submission(fields={}))
        with gateway.session() as session:
            delete_subscription(session, key, subscription_id)
        return respond(fmt, "subscriptions", Many("subscription", []), headers=PRIVATE)
