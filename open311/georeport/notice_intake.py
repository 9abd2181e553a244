"""What a POST needs to take `notify` (docs/notifications.md): the configured channels, the push endpoint check
(the callbacks' SSRF rules), the links' secret and the report's language; and the status link it answers with."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request

from open311.catalog.definitions import Catalog
from open311.feeds.subscriptions import UnsafeDestination, check_callback_url
from open311.georeport.languages import catalog_locale
from open311.georeport.origin import public_root
from open311.notices.links import current_token
from open311.notices.recipients import NoticePolicy, NoticeSetup
from open311.services import Services


def report_locale(catalog: Catalog, fields: Mapping[str, str]) -> str:
    """The language a report is made in: its `locale` field or parameter, else Accept-Language (the catalog's)."""
    sent = (fields.get("locale") or "").replace("_", "-").split("-")[0].strip().lower()
    return sent if sent in catalog.locales else catalog_locale(catalog)


def notice_setup(gateway: Services, catalog: Catalog, fields: Mapping[str, str]) -> NoticeSetup:
    """The notice side of one POST."""
    callbacks = gateway.policies.callbacks

    def endpoint_problem(url: str) -> str | None:
        try:
            check_callback_url(url, callbacks)
        except UnsafeDestination as exc:
            return str(exc).replace("callback_url", "the endpoint") + "."
        return None

    return NoticeSetup(NoticePolicy(frozenset(gateway.notifiers), endpoint_problem), gateway.notice_secret,
                       report_locale(catalog, fields))


def status_url(gateway: Services, request_id: int) -> str | None:
    """The request's status page (its newest live link), under this gateway's public root."""
    with gateway.session() as session:
        found = current_token(session, gateway.notice_secret, request_id)
    return f"{public_root()}/r/{found[0]}" if found is not None else None


def wants_extensions() -> bool:
    """A POST that asks for the extension fields of its answer (`extensions=true` in the query)."""
    return (request.args.get("extensions") or "").strip().lower() == "true"
