"""A Web Push service on loopback: browser-like subscriptions, VAPID checked (RFC 8292), messages decrypted.

POST /push/<id> is verified as a real push service would: `Authorization: vapid t=<JWT>,k=<key>` whose ES256
signature verifies with k, k the subscription's applicationServerKey (when it was given one), `aud` this
service's origin, `exp` in the future and at most 24 h away, `sub` present; TTL present; the aes128gcm body
(at most 4096 bytes) decrypted with the subscription's private key and auth secret (http_ece). A message
that passes is recorded and answered 201; a gone subscription answers 410; `script` queues other answers.
pywebpush with py-vapid's Vapid02 sends only the RFC 8292 form, so the older `WebPush`/`Crypto-Key` is refused.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from werkzeug.wrappers import Request, Response

from open311.notifier import PushTarget
from tests.adapters.peers import http_peer

MAX_BODY = 4096
MAX_EXP = 24 * 3600
STREAM_CHUNK = 65536


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    """A message the service refuses, with the status it answers."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Subscription:
    """What a browser keeps for one PushSubscription: its key pair and auth secret."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None = None

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return b64url(point)

    def target(self) -> PushTarget:
        """The PushSubscription.toJSON() a browser would hand over."""
        return PushTarget(endpoint=self.endpoint, p256dh=self.p256dh, auth=b64url(self.auth))


@dataclass(frozen=True)
class Message:
    """One message the service accepted: its headers, the verified JWT claims and key, the decrypted JSON."""

    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str
    data: Any


@dataclass
class Scripted:
    """An answer the service gives instead of 201 (after checking the message)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body_bytes: int = 0        # a streamed body of this size (to see that the client stops reading)


def verify_vapid(header: str, origin: str, now: float) -> tuple[dict[str, Any], str]:
    """The claims and key of an RFC 8292 Authorization header; Refused(401) saying why not."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, f"authorization scheme {scheme[:20]!r} is not vapid")
    params = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    token, key = params.get("t", ""), params.get("k", "")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        head_b64, claims_b64, signature_b64 = token.split(".")
        head = json.loads(unb64url(head_b64))
        signature = unb64url(signature_b64)
    except (ValueError, binascii.Error):
        raise Refused(401, "malformed token or key") from None
    if head.get("alg") != "ES256" or len(signature) != 64:
        raise Refused(401, "token is not ES256")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "bad signature") from None
    claims = json.loads(unb64url(claims_b64))
    if claims.get("aud") != origin:
        raise Refused(401, f"aud is not {origin}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_EXP:
        raise Refused(401, "exp is not within the next 24 hours")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Refused(401, "no sub")
    return claims, key


class PushService:
    """The push service's state: subscriptions, accepted messages, refusals, scripted answers."""

    def __init__(self) -> None:
        self.origin = ""
        self.subscriptions: dict[str, Subscription] = {}
        self.gone: set[str] = set()
        self.messages: dict[str, list[Message]] = {}
        self.refusals: list[tuple[int, str]] = []
        self.scripts: dict[str, list[Scripted]] = {}
        self.hits = 0
        self.chunks_streamed = 0
        self.streamed = threading.Event()
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def subscribe(self, application_server_key: str | None = None) -> Subscription:
        """A new subscription, as PushManager.subscribe() makes one (P-256 key pair, 16-byte auth secret)."""
        ident = f"sub-{next(self.ids)}-{b64url(os.urandom(6))}"
        subscription = Subscription(ident, f"{self.origin}/push/{ident}", ec.generate_private_key(ec.SECP256R1()),
                                    os.urandom(16), application_server_key)
        self.subscriptions[ident] = subscription
        self.messages[ident] = []
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """The browser dropped the subscription: the service answers 410 from now on."""
        self.gone.add(subscription.id)

    def script(self, subscription: Subscription, *answers: Scripted) -> None:
        """Answer the next messages to this subscription with these, in order."""
        self.scripts.setdefault(subscription.id, []).extend(answers)

    def check(self, request: Request, subscription: Subscription) -> Message:
        """Verify and decrypt one message; Refused saying why not."""
        claims, key = verify_vapid(request.headers.get("Authorization", ""), self.origin, time.time())
        if subscription.application_server_key is not None and key != subscription.application_server_key:
            raise Refused(403, "k is not the subscription's applicationServerKey")
        if not request.headers.get("TTL", "").isdigit():
            raise Refused(400, "no TTL")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            raise Refused(415, "not aes128gcm")
        body = request.get_data()
        if len(body) > MAX_BODY:
            raise Refused(413, "larger than 4096 bytes")
        try:
            plain = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth,
                                     version="aes128gcm")
            data = json.loads(plain)
        except (http_ece.ECEException, ValueError, TypeError):
            raise Refused(400, "does not decrypt to JSON") from None
        return Message(dict(request.headers), claims, key, data)

    def _stream(self, size: int) -> Iterator[bytes]:
        """A body of `size` bytes in 64 KiB chunks, counting what was written; `streamed` is set at its end."""
        try:
            for _ in range(size // STREAM_CHUNK):
                self.chunks_streamed += 1
                yield b"x" * STREAM_CHUNK
        finally:
            self.streamed.set()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.hits += 1
        ident = request.path.removeprefix("/push/")
        subscription = self.subscriptions.get(ident)
        if request.method != "POST" or not request.path.startswith("/push/") or subscription is None:
            return Response("no such subscription", status=404)
        if ident in self.gone:
            return Response("subscription expired", status=410)
        try:
            message = self.check(request, subscription)
        except Refused as exc:
            with self.lock:
                self.refusals.append((exc.status, exc.reason))
            return Response(exc.reason, status=exc.status)
        with self.lock:
            queued = self.scripts.get(ident)
            scripted = queued.pop(0) if queued else None
        if scripted is not None:
            time.sleep(scripted.delay)
            if scripted.body_bytes:
                return Response(self._stream(scripted.body_bytes), status=scripted.status,
                                headers=scripted.headers, direct_passthrough=True)
            return Response("scripted", status=scripted.status, headers=scripted.headers)
        with self.lock:
            self.messages[ident].append(message)
        return Response(status=201, headers={"Location": f"{self.origin}/message/{next(self.ids)}"})


@contextmanager
def push_service() -> Iterator[PushService]:
    """A push service serving on 127.0.0.1 for the block."""
    service = PushService()
    with http_peer(service) as base:
        service.origin = base
        yield service
