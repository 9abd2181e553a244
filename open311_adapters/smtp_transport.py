"""SMTP as the e-mail adapter and the e-mail notifier both use it: connect (implicit TLS, STARTTLS or plain,
optional login), send one message, and sort failures into temporary (4xx, network) and permanent (5xx, login,
TLS) ones."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from open311.adapter import PermanentError, TemporaryError

SECURITIES = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0


def server_from_url(url: str) -> SmtpServer:
    """An SMTP server from a URL: smtp://user:pass@host:587?starttls=1 (STARTTLS), smtps://host:465 (implicit
    TLS), smtp://host:25 (plain, no login); query `cafile=` trusts a private CA, `timeout=` in seconds.
    ValueError names what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must look like smtp://user:password@host:587?starttls=1 or smtps://host:465")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    starttls = query.get("starttls", "1" if parts.username else "0").lower() in ("1", "true", "yes")
    security = "tls" if parts.scheme == "smtps" else ("starttls" if starttls else "none")
    if parts.username and security == "none":
        raise ValueError("a login needs TLS: use starttls=1 or smtps://")
    try:
        port = parts.port or (465 if security == "tls" else 587)
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise ValueError("port and timeout must be numbers") from None
    if not 0.1 <= timeout <= 300:
        raise ValueError("timeout must be between 0.1 and 300 seconds")
    return SmtpServer(host=parts.hostname, port=port, security=security,
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None,
                      ca_file=query.get("cafile") or None, timeout=timeout)


def connect(server: SmtpServer) -> smtplib.SMTP:
    """An SMTP connection, secured and logged in as configured."""
    context = ssl.create_default_context(cafile=server.ca_file)
    if server.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    try:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username:
            smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()  # a refused STARTTLS or login must not leak the socket
        raise
    return smtp


def send_message(server: SmtpServer, msg: EmailMessage) -> str:
    """Send one message; return its Message-ID. 4xx replies and network faults are temporary, 5xx and refused
    logins permanent (the messages name codes, never addresses)."""
    try:
        with connect(server) as smtp:
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentError(f"SMTP login refused ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise by_code(codes[0] if codes else 550, "recipients refused") from None
    except smtplib.SMTPResponseException as exc:
        raise by_code(exc.smtp_code, "refused") from None
    except smtplib.SMTPNotSupportedError:
        raise PermanentError("SMTP server does not support STARTTLS or login as configured") from None
    except ssl.SSLError as exc:
        raise PermanentError(f"SMTP TLS failed: {exc.reason}") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryError(f"SMTP: {type(exc).__name__}") from None
    return str(msg["Message-ID"])


def by_code(code: int, what: str) -> Exception:
    """A 4xx SMTP reply is worth retrying; a 5xx one is not."""
    if 400 <= code < 500:
        return TemporaryError(f"SMTP {what} ({code})")
    return PermanentError(f"SMTP {what} ({code})")
