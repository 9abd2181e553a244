"""`push` notices against a real push service on loopback (tests/notices/push_service.py): the message arrives
decrypted and VAPID-verified, headers, every answer sorted into sent / retry / gone / refused, SSRF checks
before any connection, options, and the operators' key generator."""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from email.utils import formatdate
from typing import Any

import marshmallow
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from py_vapid.jwt import decode as jwt_decode
from pywebpush import WebPusher

from open311.config.notifiers import build_notifiers
from open311.notifier import GoneError, Notice, PermanentError, TemporaryError, load_notifier_class
from open311_adapters.webpush_notice import (
    MAX_PAYLOAD,
    WebPushNotifier,
    WebPushOptions,
    generate_vapid_keys,
    topic,
    vapid_public_key,
)
from tests.adapters.peers import free_port
from tests.notices.push_service import (
    STREAM_CHUNK,
    PushService,
    Scripted,
    Subscription,
    b64url,
    push_service,
    verify_vapid,
)

SUBJECT = "mailto:ops@example.gov"
KEYS = generate_vapid_keys()
OTHER_KEYS = generate_vapid_keys()


def notice(subscription: Subscription | None, **changes: Any) -> Notice:
    """A `closed` notice for request 42, as the composer makes one, to this subscription."""
    base = Notice(channel="push", idempotency_key="lacounty.gov:42:notice:closed:7", milestone="closed",
                  locale="en", subject="Your report 42 is closed",
                  text="Graffiti Abatement (report 42) was closed: the tag was removed.\n\nSee the status page.",
                  html="<p>Graffiti Abatement (report 42) was closed</p>",
                  status_url="https://311.example.gov/status/tok-abc", unsubscribe_url="https://311.example.gov/u/x",
                  email="ada@example.org", push=subscription.target() if subscription else None)
    return replace(base, **changes)


def notifier(**options: Any) -> WebPushNotifier:
    return WebPushNotifier({"vapid_private_key": KEYS[0], "vapid_subject": SUBJECT, "allow_http": True,
                            "allow_private": True, **options})


@pytest.fixture
def service() -> Iterator[PushService]:
    with push_service() as running:
        yield running


@pytest.fixture
def subscription(service: PushService) -> Subscription:
    """A browser subscribed with the gateway's public key (as applicationServerKey)."""
    return service.subscribe(application_server_key=KEYS[1])


# --- the message --------------------------------------------------------------------------------------------


def test_a_notice_arrives_decrypted_with_its_json(service: PushService, subscription: Subscription) -> None:
    sent = notice(subscription)
    before = time.time()
    notifier().send(sent)
    [message] = service.messages[subscription.id]
    assert message.data == {"title": sent.subject, "body": sent.text.splitlines()[0], "url": sent.status_url,
                            "milestone": "closed", "lang": "en"}
    # the VAPID claims the service verified
    assert message.vapid_key == KEYS[1]
    assert message.claims["aud"] == service.origin
    assert message.claims["sub"] == SUBJECT
    assert before < message.claims["exp"] <= before + 24 * 3600
    # no contact data, no unsubscribe link, nothing past the text's first line
    raw = json.dumps(message.data) + json.dumps(message.headers)
    for private in ("ada@example.org", sent.unsubscribe_url, "See the status page"):
        assert private not in raw


def test_the_composers_data_goes_with_it(service: PushService, subscription: Subscription) -> None:
    data = {"title": "Closed: report 42", "body": "The tag was removed.", "url": "https://311.example.gov/s/t",
            "milestone": "closed", "service_request_id": "42"}
    notifier().send(notice(subscription, data=data))
    [message] = service.messages[subscription.id]
    assert message.data == {**data, "lang": "en"}


def test_oversized_data_falls_back_to_the_five_keys(service: PushService, subscription: Subscription) -> None:
    sent = notice(subscription, data={"extra": "x" * (MAX_PAYLOAD + 10)})
    notifier().send(sent)
    [message] = service.messages[subscription.id]
    assert set(message.data) == {"title", "body", "url", "milestone", "lang"}
    assert message.data["url"] == sent.status_url


def test_ttl_urgency_topic_and_encoding_headers(service: PushService, subscription: Subscription) -> None:
    first, again, other = (notice(subscription), notice(subscription),
                           notice(subscription, idempotency_key="lacounty.gov:42:notice:acknowledged:7"))
    for sent in (first, again, other):
        notifier(ttl=600).send(sent)
    headers = [m.headers for m in service.messages[subscription.id]]
    assert [h["Ttl"] for h in headers] == ["600"] * 3
    assert {h["Urgency"] for h in headers} == {"normal"}
    assert {h["Content-Encoding"] for h in headers} == {"aes128gcm"}
    topics = [h["Topic"] for h in headers]
    # a repeat of a notice carries its Topic (the push service replaces the undelivered one); another does not
    assert topics[0] == topics[1] == topic(first.idempotency_key) != topics[2]
    assert all(len(t) <= 32 and set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for t in topics)


def test_default_ttl_is_a_day(service: PushService, subscription: Subscription) -> None:
    notifier().send(notice(subscription))
    assert service.messages[subscription.id][0].headers["Ttl"] == "86400"


# --- the service's VAPID check is real -----------------------------------------------------------------------


def _post(subscription: Subscription, signing_key: str, *, k: str | None = None, claims: dict[str, Any] | None = None,
          tamper: dict[str, Any] | None = None, scheme: str = "vapid") -> int:
    """POST an encrypted message signed by hand: with `k` claimed instead of the signer's, claims replaced
    after signing (`tamper`), or another Authorization scheme."""
    origin = subscription.endpoint.rsplit("/push/", 1)[0]
    signed = Vapid02.from_string(signing_key).sign(
        claims or {"aud": origin, "sub": SUBJECT, "exp": int(time.time()) + 3600})
    params = dict(p.split("=", 1) for p in signed["Authorization"].split(" ", 1)[1].split(","))
    token = params["t"]
    if tamper is not None:
        head, body, signature = token.split(".")
        claimed = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        token = ".".join((head, b64url(json.dumps({**claimed, **tamper}).encode()), signature))
    target = subscription.target()
    encrypted = WebPusher({"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
                          ).encode(b'{"title":"forged"}', "aes128gcm")["body"]
    headers = {"Authorization": f"{scheme} t={token},k={k or params['k']}", "TTL": "60",
               "Content-Encoding": "aes128gcm"}
    return requests.post(subscription.endpoint, data=encrypted, headers=headers, timeout=10).status_code


def test_the_service_verifies_the_vapid_signature(service: PushService, subscription: Subscription) -> None:
    origin = service.origin
    assert _post(subscription, KEYS[0]) == 201                      # control: signed by the gateway's key
    assert _post(subscription, OTHER_KEYS[0]) == 403                # another server's key, honestly named
    assert _post(subscription, OTHER_KEYS[0], k=KEYS[1]) == 401     # another key claiming to be the gateway's
    assert _post(subscription, KEYS[0], tamper={"sub": "mailto:mallory@example.com"}) == 401
    assert _post(subscription, KEYS[0], tamper={"exp": int(time.time()) + 7 * 86400}) == 401
    assert _post(subscription, KEYS[0], claims={"aud": "https://push.example.net", "sub": SUBJECT}) == 401
    assert _post(subscription, KEYS[0],
                 claims={"aud": origin, "sub": SUBJECT, "exp": int(time.time()) + 3 * 86400}) == 401
    assert _post(subscription, KEYS[0], scheme="WebPush") == 401
    assert [m.data for m in service.messages[subscription.id]] == [{"title": "forged"}]
    assert service.refusals == [(403, "k is not the subscription's applicationServerKey"), (401, "bad signature"),
                                (401, "bad signature"), (401, "bad signature"), (401, f"aud is not {origin}"),
                                (401, "exp is not within the next 24 hours"),
                                (401, "authorization scheme 'WebPush' is not vapid")]


def test_a_notifier_with_another_key_is_refused(service: PushService, subscription: Subscription) -> None:
    with pytest.raises(PermanentError, match="HTTP 403"):
        notifier(vapid_private_key=OTHER_KEYS[0]).send(notice(subscription))
    assert service.messages[subscription.id] == []
    assert service.refusals == [(403, "k is not the subscription's applicationServerKey")]


# --- answers ------------------------------------------------------------------------------------------------


def test_410_means_the_subscription_is_gone(service: PushService, subscription: Subscription) -> None:
    service.unsubscribe(subscription)
    with pytest.raises(GoneError, match="the push subscription is gone") as caught:
        notifier().send(notice(subscription))
    assert isinstance(caught.value, PermanentError)


def test_404_is_gone_too(service: PushService, subscription: Subscription) -> None:
    target = subscription.target()
    lost = replace(target, endpoint=target.endpoint.replace(subscription.id, "sub-never-made"))
    with pytest.raises(GoneError, match="HTTP 404"):
        notifier().send(notice(subscription, push=lost))


def test_429_is_retried_after_retry_after_seconds(service: PushService, subscription: Subscription) -> None:
    service.script(subscription, Scripted(429, {"Retry-After": "30"}))
    with pytest.raises(TemporaryError, match="HTTP 429") as caught:
        notifier().send(notice(subscription))
    assert caught.value.retry_after == 30.0


def test_429_with_an_http_date(service: PushService, subscription: Subscription) -> None:
    service.script(subscription, Scripted(429, {"Retry-After": formatdate(time.time() + 120, usegmt=True)}))
    with pytest.raises(TemporaryError) as caught:
        notifier().send(notice(subscription))
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


def test_500_is_retried(service: PushService, subscription: Subscription) -> None:
    service.script(subscription, Scripted(500), Scripted(503, {"Retry-After": "5"}))
    with pytest.raises(TemporaryError, match="HTTP 500") as first:
        notifier().send(notice(subscription))
    with pytest.raises(TemporaryError, match="HTTP 503") as second:
        notifier().send(notice(subscription))
    assert (first.value.retry_after, second.value.retry_after) == (None, 5.0)
    notifier().send(notice(subscription))    # then it goes through
    assert len(service.messages[subscription.id]) == 1


@pytest.mark.parametrize("status", [400, 403, 413])
def test_refusals_are_permanent_not_gone(service: PushService, subscription: Subscription, status: int) -> None:
    service.script(subscription, Scripted(status))
    with pytest.raises(PermanentError, match=f"HTTP {status}") as caught:
        notifier().send(notice(subscription))
    assert not isinstance(caught.value, GoneError)


def test_a_redirect_is_not_followed(service: PushService, subscription: Subscription) -> None:
    elsewhere = service.subscribe(application_server_key=KEYS[1])
    service.script(subscription, Scripted(307, {"Location": elsewhere.endpoint}))
    with pytest.raises(PermanentError, match="redirect"):
        notifier().send(notice(subscription))
    assert service.hits == 1
    assert service.messages[elsewhere.id] == []


def test_an_endless_answer_is_not_read_to_its_end(service: PushService, subscription: Subscription) -> None:
    size = 256 << 20
    service.script(subscription, Scripted(201, body_bytes=size))
    started = time.monotonic()
    notifier().send(notice(subscription))
    assert time.monotonic() - started < 10
    assert service.streamed.wait(10)    # the server stopped writing: the client closed the connection
    assert 0 < service.chunks_streamed * STREAM_CHUNK < size // 4


def test_a_slow_service_times_out(service: PushService, subscription: Subscription) -> None:
    service.script(subscription, Scripted(201, delay=2.0))
    with pytest.raises(TemporaryError, match="in time"):
        notifier(timeout=0.5).send(notice(subscription))


def test_a_service_that_is_down_is_retried(subscription: Subscription) -> None:
    target = subscription.target()
    down = replace(target, endpoint=f"http://127.0.0.1:{free_port()}/push/{subscription.id}")
    with pytest.raises(TemporaryError, match="cannot be reached"):
        notifier().send(notice(subscription, push=down))


# --- where it may connect -----------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket nobody accepts on: a connection attempt would make it readable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


def _no_connection(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0.3)
    return not readable


def test_a_private_address_is_refused_without_connecting(subscription: Subscription,
                                                         listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for endpoint in (f"http://127.0.0.1:{port}/push/x", f"http://localhost:{port}/push/x"):
        target = replace(subscription.target(), endpoint=endpoint)
        with pytest.raises(PermanentError, match="private, loopback or reserved"):
            notifier(allow_private=False).send(notice(subscription, push=target))
    assert _no_connection(listener)


def test_plain_http_is_refused_unless_allowed(subscription: Subscription, listener: socket.socket) -> None:
    target = replace(subscription.target(), endpoint=f"http://127.0.0.1:{listener.getsockname()[1]}/push/x")
    with pytest.raises(PermanentError, match="https://"):
        notifier(allow_http=False).send(notice(subscription, push=target))
    assert _no_connection(listener)


def test_the_socket_check_would_see_a_connection(listener: socket.socket) -> None:
    """The check above is real: a connection does make the listener readable."""
    with socket.create_connection(listener.getsockname(), timeout=5):
        assert not _no_connection(listener)


def test_unusable_subscription_keys_are_permanent(service: PushService, subscription: Subscription) -> None:
    target = subscription.target()
    for broken in (replace(target, p256dh=target.p256dh[:40]), replace(target, auth="not base64!"),
                   replace(target, p256dh="BA" + "A" * 85)):
        with pytest.raises(PermanentError, match="keys are not usable"):
            notifier().send(notice(subscription, push=broken))
    assert service.hits == 0


def test_a_notice_without_a_subscription_is_permanent() -> None:
    with pytest.raises(PermanentError, match="no push subscription"):
        notifier().send(notice(None))


# --- options ------------------------------------------------------------------------------------------------


def _errors(**options: Any) -> dict[str, Any]:
    with pytest.raises(marshmallow.ValidationError) as caught:
        WebPushOptions().load(options)
    messages: dict[str, Any] = caught.value.messages   # type: ignore[assignment]
    return messages


def test_options_defaults() -> None:
    loaded = WebPushOptions().load({"vapid_private_key": KEYS[0], "vapid_subject": SUBJECT})
    assert loaded == {"vapid_private_key": KEYS[0], "vapid_subject": SUBJECT, "vapid_public_key": None,
                      "ttl": 86400, "timeout": 10.0, "allow_http": False, "allow_private": False}


def test_options_errors() -> None:
    assert set(_errors(vapid_private_key=KEYS[0])) == {"vapid_subject"}
    assert set(_errors(vapid_subject=SUBJECT)) == {"vapid_private_key"}
    assert set(_errors(vapid_private_key="not a key", vapid_subject=SUBJECT)) == {"vapid_private_key"}
    assert set(_errors(vapid_private_key=b64url(b"\0" * 32), vapid_subject=SUBJECT)) == {"vapid_private_key"}
    for subject in ("ops@example.gov", "mailto:nobody", "https://311.example.gov/contact", "http://311.example.gov",
                    "https://311.example.gov:8443"):
        assert set(_errors(vapid_private_key=KEYS[0], vapid_subject=subject)) == {"vapid_subject"}, subject
    assert set(_errors(vapid_private_key=KEYS[0], vapid_subject=SUBJECT, vapid_public_key=OTHER_KEYS[1])) \
        == {"vapid_public_key"}
    assert set(_errors(vapid_private_key=KEYS[0], vapid_subject=SUBJECT, ttl=-1)) == {"ttl"}
    assert set(_errors(vapid_private_key=KEYS[0], vapid_subject=SUBJECT, timeout=0)) == {"timeout"}
    assert set(_errors(vapid_private_key=KEYS[0], vapid_subject=SUBJECT, vapid_privat_key="typo")) \
        == {"vapid_privat_key"}
    with pytest.raises(marshmallow.ValidationError):
        WebPushNotifier({"vapid_private_key": KEYS[0]})


def _pem(key: ec.EllipticCurvePrivateKey, form: serialization.PrivateFormat, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, form, encryption).decode()


def test_key_forms_py_vapid_reads() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint))
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    pkcs8 = _pem(key, serialization.PrivateFormat.PKCS8)
    sec1 = _pem(key, serialization.PrivateFormat.TraditionalOpenSSL)
    one_line_der = "".join(pkcs8.strip().splitlines()[1:-1])
    for form in (raw, pkcs8, sec1, one_line_der, pkcs8.replace("\n", "\\n")):
        loaded = WebPushOptions().load({"vapid_private_key": form, "vapid_subject": SUBJECT,
                                        "vapid_public_key": public})
        assert vapid_public_key(loaded["vapid_private_key"]) == public
    wrong_curve = _pem(ec.generate_private_key(ec.SECP384R1()), serialization.PrivateFormat.PKCS8)
    encrypted = _pem(key, serialization.PrivateFormat.PKCS8, b"pw")
    assert _errors(vapid_private_key=wrong_curve, vapid_subject=SUBJECT) \
        == {"vapid_private_key": ["must be an EC P-256 (prime256v1) key, as VAPID requires"]}
    assert _errors(vapid_private_key=encrypted, vapid_subject=SUBJECT) \
        == {"vapid_private_key": ["is an encrypted PEM key: give the key unencrypted"]}


def test_a_pem_key_sends_too(service: PushService) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _pem(key, serialization.PrivateFormat.PKCS8)
    sending = notifier(vapid_private_key=pem)
    subscribed = service.subscribe(application_server_key=sending.public_key)
    sending.send(notice(subscribed))
    assert service.messages[subscribed.id][0].vapid_key == vapid_public_key(pem)


# --- keys for operators, and wiring -------------------------------------------------------------------------


def test_generated_keys_load_and_sign() -> None:
    private, public = generate_vapid_keys()
    assert (len(base64.urlsafe_b64decode(private + "=")), base64.urlsafe_b64decode(public + "=")[0]) == (32, 4)
    assert len(base64.urlsafe_b64decode(public + "=")) == 65
    assert "=" not in private + public
    assert vapid_public_key(private) == public
    assert generate_vapid_keys() != (private, public)
    claims = {"aud": "https://push.example.net", "sub": SUBJECT, "exp": int(time.time()) + 3600}
    header = Vapid02.from_string(private).sign(claims)["Authorization"]
    verified, key = verify_vapid(header, "https://push.example.net", time.time())
    assert (verified, key) == (claims, public)
    token = header.split("t=", 1)[1].split(",", 1)[0]
    assert jwt_decode(token, public) == claims
    with pytest.raises(InvalidSignature):
        jwt_decode(token, OTHER_KEYS[1])


def test_installed_under_push_and_built_from_settings() -> None:
    assert load_notifier_class("push") is WebPushNotifier
    built = build_notifiers({"OPEN311_NOTICE_VAPID_PRIVATE_KEY": KEYS[0], "OPEN311_NOTICE_VAPID_SUBJECT": SUBJECT})
    push = built["push"]
    assert isinstance(push, WebPushNotifier) and push.channel == "push" and push.public_key == KEYS[1]
