"""Notices end to end on both databases: Web Push through the relay to a loopback push service (VAPID checked,
payload decrypted), followers who opt in, a duplicate's recipients following the survivor, the status page
(follow, not fixed, 404, both languages), purge, and recipients never in any output or log."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from open311.intake.retention import purge_personal_data
from open311.notices.recipients import recipients_of
from open311.storage.models import Notice, NoticeRecipient
from open311_adapters.webpush_notice import generate_vapid_keys
from tests.conftest import Clock
from tests.delivery import write_config
from tests.helpers import GRAFFITI, json_of
from tests.notices.push_service import PushService, push_service
from tests.notices.smtp import SmtpPeer, smtp_server, text_of
from tests.notices.test_email_notices import RESIDENT, Town

PRIVATE, PUBLIC = generate_vapid_keys()


@pytest.fixture
def pushes() -> Iterator[PushService]:
    with push_service() as service:
        yield service


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpPeer]:
    with smtp_server(tmp_path) as peer:
        yield peer


@pytest.fixture
def town(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock, smtp: SmtpPeer) -> Town:
    app = make_app(write_config(tmp_path), OPEN311_NOTICE_SMTP_URL=smtp.url,
                   OPEN311_NOTICE_FROM="311 <no-reply@311.example.gov>", OPEN311_NOTICE_VAPID_PRIVATE_KEY=PRIVATE,
                   OPEN311_NOTICE_VAPID_PUBLIC_KEY=PUBLIC, OPEN311_NOTICE_VAPID_SUBJECT="mailto:311@example.gov",
                   OPEN311_CALLBACK_ALLOW_HTTP=1, OPEN311_CALLBACK_ALLOW_PRIVATE=1)
    return Town(app, clock)


def status_path(town: Town, rid: str) -> str:
    reply = town.client.get(f"/open311/v2/requests/{rid}.json")
    assert reply.status_code == 200
    from open311.notices.links import current_token

    with town.gateway.session() as session:
        found = current_token(session, town.gateway.notice_secret, int(rid))
    assert found is not None
    return f"/r/{found[0]}"


def test_web_push_reaches_a_verifying_push_service_and_a_gone_subscription_stops(town: Town,
                                                                                  pushes: PushService) -> None:
    browser = pushes.subscribe(PUBLIC)
    target = browser.target()
    subscription = json.dumps({"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}})
    rid = town.report(notify="push", push_subscription=subscription, email="")
    town.relay()
    (message,) = pushes.messages[browser.id]
    assert message.vapid_key == PUBLIC and message.claims["sub"] == "mailto:311@example.gov"
    assert message.data["milestone"] == "received" and message.data["url"].startswith("http://127.0.0.1:5000/r/")
    assert RESIDENT not in json.dumps(message.data) and "library" not in json.dumps(message.data)
    pushes.unsubscribe(browser)   # the browser dropped it: 410 from now on
    town.update(rid, "ASSIGNED")
    town.relay()
    with town.gateway.session() as session:
        (recipient,) = recipients_of(session, int(rid))
    assert recipient.unsubscribed_at is not None   # dropped at once on the 410
    town.update(rid, "CLOSED", closure_code="fixed")
    town.relay()
    assert len(pushes.messages[browser.id]) == 1   # the assigned push met the 410; nothing was sent after it
    with town.gateway.session() as session, session.begin():
        milestones = [n.milestone for n in session.scalars(select(Notice))]
    assert milestones == ["received", "assigned"]   # nothing queued for a recipient who is gone


def test_a_private_push_endpoint_is_refused_when_callbacks_may_not_go_there(make_app: Callable[..., Flask],
                                                                            tmp_path: Path, clock: Clock) -> None:
    app = make_app(write_config(tmp_path), OPEN311_NOTICE_VAPID_PRIVATE_KEY=PRIVATE,
                   OPEN311_NOTICE_VAPID_SUBJECT="mailto:311@example.gov")
    town = Town(app, clock)
    subscription = json.dumps({"endpoint": "https://127.0.0.1:8443/push/x",
                               "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}})
    reply = town.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": town.key, "notify": "push",
                                                                "push_subscription": subscription})
    assert reply.status_code == 400
    assert "the endpoint resolves to a private, loopback or reserved address" in reply.get_data(as_text=True)
    bad = town.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": town.key, "notify": "push",
                                                             "push_subscription": "{not json"})
    assert bad.status_code == 400 and "PushSubscription" in bad.get_data(as_text=True)


def test_a_follower_who_opts_in_hears_from_then_on_and_a_duplicates_recipients_follow_the_survivor(
        town: Town, smtp: SmtpPeer) -> None:
    first = town.report()
    second = town.report(email="bea@example.org", description="same tag, other side")
    follower = town.client.post(f"/open311/v2/requests/{first}/followers.json", data={
        "api_key": town.key, "email": "cal@example.org", "notify": "email", "description": "me too"})
    assert follower.status_code == 200, follower.data
    town.relay()
    assert [m["Subject"].split(":")[0] for m in smtp.mailbox.to("cal@example.org")] == ["We received your report"]
    town.update(second, "CLOSED", closure_code="duplicate", duplicate_of=first)
    town.relay()
    closed = smtp.mailbox.to("bea@example.org")[-1]
    assert "it duplicates another report, which you now follow" in text_of(closed)
    town.update(first, "COMPLETED", closure_code="fixed")
    town.relay()
    for address in (RESIDENT, "bea@example.org", "cal@example.org"):
        assert smtp.mailbox.to(address)[-1]["Subject"] == f"Your report is closed: Graffiti Abatement (#{first})"


def test_the_status_page_follow_not_fixed_and_404(town: Town, smtp: SmtpPeer) -> None:
    rid = town.report(locale="es")
    path = status_path(town, rid)
    page = town.client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="es" dir="ltr">' in text and "Abierto" in text
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert RESIDENT not in text
    english = town.client.get(path + "?lang=en").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english and "Open" in english
    followed = town.client.post(path + "/follow", data={"notify": "email", "email": "dan@example.org"})
    assert followed.status_code == 200 and "Listo" in followed.get_data(as_text=True)
    bad = town.client.post(path + "/follow", data={"notify": "email", "email": "not an address"})
    assert bad.status_code == 400 and 'role="alert"' in bad.get_data(as_text=True)
    assert town.client.post(path + "/not-fixed", data={"description": "still there"}).status_code == 409  # open
    town.update(rid, "CLOSED", closure_code="fixed", description="Painted")
    town.relay()
    assert smtp.mailbox.to("dan@example.org")[-1]["Subject"].startswith("Su reporte fue cerrado")
    closed = town.client.get(path).get_data(as_text=True)
    assert "Cerrado" in closed and "resuelto" in closed and "Painted" in closed
    reopened = town.client.post(path + "/not-fixed", data={"description": "The tag is back"})
    assert reopened.status_code == 200 and "abierto de nuevo" in reopened.get_data(as_text=True)
    assert json_of(town.client.get(f"/open311/v2/requests/{rid}.json"))[0]["status"] == "open"
    town.relay()
    assert smtp.mailbox.to(RESIDENT)[-1]["Subject"].startswith("Su reporte fue reabierto")
    for wrong in ("/r/" + "x" * 43, "/r/short", path[:-2] + "zz"):
        gone = town.client.get(wrong)
        assert gone.status_code == 404 and RESIDENT not in gone.get_data(as_text=True)
    assert town.client.post("/r/" + "x" * 43 + "/follow", data={"notify": "email", "email": "e@example.org"}
                            ).status_code == 404


def test_purge_removes_recipients_and_their_owed_notices(town: Town, smtp: SmtpPeer, clock: Clock) -> None:
    rid = town.report()
    town.relay()
    town.update(rid, "CLOSED", closure_code="fixed")
    town.relay()
    clock.advance(200 * 86400)
    with town.gateway.session() as session:
        report = purge_personal_data(session, clock.now, timedelta(days=180))
    assert report.recipients == 1 and int(rid) in report.request_ids
    with town.gateway.session() as session, session.begin():
        assert session.scalars(select(NoticeRecipient)).all() == []
        assert session.scalars(select(Notice)).all() == []


def test_recipients_are_in_no_output_and_no_log(town: Town, smtp: SmtpPeer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rid = town.report()
    town.relay()
    town.update(rid, "CLOSED", closure_code="fixed")
    town.relay()
    bodies = [town.client.get(url).get_data(as_text=True) for url in (
        "/open311/v2/requests.json?extensions=true", "/open311/v2/requests.xml?extensions=true",
        f"/open311/v2/requests/{rid}.json?extensions=true", "/open311/v2/servicerequestupdates.json",
        "/open311/v2/requests.csv", "/open311/v2/requests.geojson", status_path(town, rid))]
    bodies.append(town.client.post("/open311/v2/requests.json", data={
        **GRAFFITI, "api_key": town.key, "notify": "email", "email": "eve@@example.org"}).get_data(as_text=True))
    for body in bodies:
        assert RESIDENT not in body and "eve@@" not in body
    ours = [record for record in caplog.records if record.name.startswith(("open311", "gunicorn", "werkzeug"))]
    assert ours and not any(RESIDENT in record.getMessage() for record in ours)
    assert re.search(r"delivered outbox \d+", caplog.text)   # the relay did log its work (the SMTP peer's own
    # log, "mail.log", names the recipients it received: that is the test server, not the gateway)
