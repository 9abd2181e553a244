"""`push` notices: Web Push (RFC 8030) to a resident's browser, encrypted (RFC 8291, aes128gcm), VAPID-signed.

A push carries a small JSON (title, body, url, milestone, lang: no contact data, no description text),
TTL, Urgency: normal, and a Topic derived from the notice's idempotency key, so a notice sent again after a
relay died mid-send replaces the undelivered one at the push service instead of arriving twice.

The endpoint is the resident's (SSRF): its host is resolved and checked at every send with the callbacks'
rules (open311/feeds/subscriptions.py) and the connection goes to the checked address (open311/core/
pinned_http.py), never following a redirect, reading at most MAX_REPLY bytes of the answer. pywebpush does the
encryption (WebPusher.encode) and py-vapid the signing; the POST is ours: pywebpush's own send reads the whole
answer, and its webpush() takes a key that names an existing file as that file's path.
docs/notifications.md ("Web Push") describes it for operators.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import http_ece
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from open311.core.pinned_http import pinned_session
from open311.feeds.subscriptions import Unresolvable, UnsafeDestination, check_callback_url
from open311.notifier import GoneError, Notice, Notifier, PermanentError, PushTarget, TemporaryError
from open311.settings import CallbackPolicy
from open311_adapters.transport import retry_after

MAX_PAYLOAD = 3993          # RFC 8291 §4: the largest plaintext one 4096-byte aes128gcm record carries
MAX_REPLY = 64 * 1024       # bytes of a push service's answer read (then the connection is closed)
JWT_LIFETIME = 12 * 3600    # RFC 8292 §2: `exp` at most 24 hours ahead
MAX_TTL = 28 * 86400        # the longest push services keep a message (FCM: 4 weeks)
MAX_TITLE, MAX_BODY = 120, 300
SUBJECT_HINT = "must be mailto:someone@example.gov or an https:// origin such as https://311.example.gov"
GONE = "the push subscription is gone"


def _b64url(raw: bytes) -> str:
    """Unpadded base64url, as browsers and VAPID write keys."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    """Bytes of (padded or unpadded) base64url; ValueError when it is not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_vapid_key(text: str) -> Vapid02:
    """The VAPID signer of a P-256 private key given as py-vapid reads one; ValueError saying why not.

    Accepted: the raw 32-byte private scalar in base64url (what generate_vapid_keys and `web-push
    generate-vapid-keys` print), PEM text (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`,
    unencrypted; literal `\\n` in an environment variable are taken as line breaks), or the DER of either in
    base64/base64url on one line (a PEM body without its armour lines). Never a file name.
    """
    text = text.strip()
    if "-----BEGIN" in text and "ENCRYPTED" in text:
        raise ValueError("is an encrypted PEM key: give the key unencrypted")
    try:
        if "-----BEGIN" in text:
            signer = Vapid02.from_pem(text.replace("\\n", "\n").encode("ascii"))
        else:
            signer = Vapid02.from_string(text)
        key = signer.private_key
    except (ValueError, TypeError, IndexError, UnicodeError, UnsupportedAlgorithm, VapidException):
        raise ValueError("is not a VAPID private key: give the base64url raw key (43 characters) or PEM text") \
            from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("must be an EC P-256 (prime256v1) key, as VAPID requires")
    return signer


def _public_point(signer: Vapid02) -> str:
    """The application server key browsers subscribe with: the uncompressed P-256 point, base64url."""
    key: ec.EllipticCurvePublicKey = signer.public_key
    return _b64url(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def vapid_public_key(private_key: str) -> str:
    """The public application server key (base64url) of a VAPID private key in any form load_vapid_key takes."""
    return _public_point(load_vapid_key(private_key))


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair for operators: (private key, public application server key), both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(private), _b64url(public)


def topic(idempotency_key: str) -> str:
    """The Topic header of a notice: 32 base64url characters (RFC 8030 §5.4's limit) of the key's SHA-256."""
    return _b64url(hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:24])


def origin(url: str) -> str:
    """The ASCII origin of an endpoint (scheme://host[:port], the default port left out): the JWT's `aud`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def payload(notice: Notice) -> bytes:
    """The JSON a push carries: title, body (the text's first line), url, milestone, lang, then notice.data.

    Within MAX_PAYLOAD bytes: when notice.data makes it larger, only the five keys go (title and body cut).
    """
    first = next((line.strip() for line in notice.text.splitlines() if line.strip()), "")
    core = {"title": notice.subject.strip()[:MAX_TITLE], "body": first[:MAX_BODY], "url": notice.status_url,
            "milestone": notice.milestone, "lang": notice.locale}
    for data in ({**core, **notice.data}, core):
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        if len(raw) <= MAX_PAYLOAD:
            return raw
    raise PermanentError(f"the push payload is larger than {MAX_PAYLOAD} bytes")


class WebPushOptions(Schema):
    """The VAPID key and contact, how long push services keep a message, and where endpoints may point."""

    vapid_private_key = fields.String(required=True)
    vapid_subject = fields.String(required=True)
    # When given (OPEN311_NOTICE_VAPID_PUBLIC_KEY), it must be the private key's: browsers subscribe with it.
    vapid_public_key = fields.String(load_default=None, allow_none=True)
    ttl = fields.Integer(load_default=86400, validate=validate.Range(min=0, max=MAX_TTL))
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.5, max=60))
    allow_http = fields.Boolean(load_default=False)       # plain http:// endpoints (tests only)
    allow_private = fields.Boolean(load_default=False)    # loopback/private endpoint addresses (tests only)

    @validates("vapid_private_key")
    def _key(self, value: str, **_: object) -> None:
        """A P-256 private key in a form py-vapid reads."""
        try:
            load_vapid_key(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates("vapid_subject")
    def _subject(self, value: str, **_: object) -> None:
        """mailto:address, or an https origin (what push services accept, and py-vapid signs)."""
        if value.startswith("mailto:"):
            local, at, domain = value[len("mailto:"):].rpartition("@")
            if not (at and local and "." in domain) or any(c.isspace() for c in value):
                raise ValidationError(SUBJECT_HINT)
        elif not value.startswith("https://") or value.lower() != origin(value) or "." not in value:
            raise ValidationError(SUBJECT_HINT)

    @validates_schema
    def _signs(self, data: dict[str, Any], **_: object) -> None:
        """The key signs a claim with this subject (py-vapid's own checks), and matches the public key given."""
        try:
            signer = load_vapid_key(data["vapid_private_key"])
            signer.sign({"aud": "https://push.example.com", "sub": data["vapid_subject"]})
        except (KeyError, ValueError):
            return   # reported by the field checks
        except VapidException:
            raise ValidationError(SUBJECT_HINT, "vapid_subject") from None
        given = data.get("vapid_public_key")
        if given and given.strip().rstrip("=") != _public_point(signer):
            raise ValidationError("is not the public key of vapid_private_key", "vapid_public_key")


class WebPushNotifier(Notifier):
    """Notices by Web Push to the browser subscription a resident gave."""

    channel = "push"
    options_schema = WebPushOptions

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(self.options_schema().load(dict(options)))
        self.signer = load_vapid_key(self.options["vapid_private_key"])
        self.public_key = _public_point(self.signer)
        self.policy = CallbackPolicy(allow_private=self.options["allow_private"],
                                     allow_http=self.options["allow_http"])

    def _body(self, target: PushTarget, plain: bytes) -> bytes:
        """The aes128gcm body for the subscription's keys (PermanentError when they are not usable)."""
        try:
            p256dh, auth = _unb64url(target.p256dh), _unb64url(target.auth)
            if len(p256dh) != 65 or p256dh[0] != 4 or len(auth) != 16:
                raise ValueError("wrong key sizes")
            pusher = WebPusher({"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}})
            body: bytes = pusher.encode(plain, "aes128gcm")["body"]
        except (ValueError, TypeError, WebPushException, http_ece.ECEException):
            raise PermanentError("the push subscription's keys are not usable") from None
        return body

    def headers(self, notice: Notice, endpoint: str) -> dict[str, str]:
        """VAPID (RFC 8292: aud the endpoint's origin, exp within 24 h), TTL, Urgency, Topic, the encoding."""
        claims = {"aud": origin(endpoint), "sub": self.options["vapid_subject"], "exp": int(time.time()) + JWT_LIFETIME}
        try:
            signed: dict[str, str] = self.signer.sign(claims)
        except VapidException:
            raise PermanentError("the push endpoint's origin cannot be signed for") from None
        return {**signed, "TTL": str(self.options["ttl"]), "Urgency": "normal", "Topic": topic(notice.idempotency_key),
                "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                "User-Agent": "open311-gateway notices"}

    def send(self, notice: Notice) -> None:
        """Encrypt, sign and POST one notice: 2xx sent; 404/410 GoneError; 429/5xx (and 408/425) retried after
        Retry-After; other answers (400, 403, 413, redirects ...) PermanentError; network faults retried."""
        target = notice.push
        if target is None or not target.endpoint:
            raise PermanentError("the recipient has no push subscription")
        try:
            destination = check_callback_url(target.endpoint, self.policy)
        except Unresolvable:
            raise TemporaryError("the push endpoint's host does not resolve now") from None
        except UnsafeDestination as exc:
            raise PermanentError(f"the push endpoint is refused: {str(exc).replace('callback_url', 'it')}") from None
        body = self._body(target, payload(notice))
        headers = self.headers(notice, target.endpoint)
        timeout = self.options["timeout"]
        try:
            with (pinned_session(destination.addresses[0]) as pinned,
                  pinned.post(target.endpoint, data=body, headers=headers, timeout=(timeout, timeout),
                              allow_redirects=False, stream=True) as reply):
                reply.raw.read(MAX_REPLY, decode_content=False)   # bounded; the answer's body is not used
                status, answered = reply.status_code, reply.headers
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema):
            raise PermanentError("the push endpoint is not a usable URL") from None
        except requests.Timeout:
            raise TemporaryError("the push service did not answer in time") from None
        except requests.RequestException as exc:
            raise TemporaryError(f"the push service cannot be reached: {type(exc).__name__}") from None
        _outcome(status, answered)


def _outcome(status: int, headers: Mapping[str, str]) -> None:
    """Sort a push service's answer into sent, retry, gone or refused."""
    if 200 <= status < 300:
        return
    if status in (404, 410):
        raise GoneError(f"{GONE} (HTTP {status})")
    if status in (408, 425, 429) or status >= 500:
        raise TemporaryError(f"the push service answered HTTP {status}", retry_after=retry_after(headers))
    if 300 <= status < 400:
        raise PermanentError(f"the push service answered a redirect (HTTP {status}), not followed")
    raise PermanentError(f"the push service refused the notice (HTTP {status})")

