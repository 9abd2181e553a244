"""The notifiers this gateway sends notices with, built from the OPEN311_NOTICE_* settings (none while unset).

- `email`: OPEN311_NOTICE_SMTP_URL and OPEN311_NOTICE_FROM (both, or neither).
- `push`: OPEN311_NOTICE_VAPID_PRIVATE_KEY and OPEN311_NOTICE_VAPID_SUBJECT (the public key is for browsers).
- Any other installed notifier (entry-point group `open311.notifiers`) named in OPEN311_NOTICE_CHANNELS, its
  options as JSON in OPEN311_NOTICE_OPTIONS_<NAME> (upper case).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import marshmallow

from open311.errors import ConfigError
from open311.notifier import Notifier, load_notifier_class


def _wanted(settings: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    """The channels the settings ask for, with their options."""
    wanted: dict[str, dict[str, Any]] = {}
    smtp, sender = (str(settings.get(k) or "").strip() for k in ("OPEN311_NOTICE_SMTP_URL", "OPEN311_NOTICE_FROM"))
    if smtp and sender:
        wanted["email"] = {"smtp_url": smtp, "from": sender}
    elif smtp or sender:
        problems.append("OPEN311_NOTICE_SMTP_URL and OPEN311_NOTICE_FROM go together: set both for e-mail notices")
    key, subject = (str(settings.get(k) or "").strip()
                    for k in ("OPEN311_NOTICE_VAPID_PRIVATE_KEY", "OPEN311_NOTICE_VAPID_SUBJECT"))
    if key and subject:
        public = str(settings.get("OPEN311_NOTICE_VAPID_PUBLIC_KEY") or "").strip() or None
        wanted["push"] = {"vapid_private_key": key, "vapid_subject": subject, "vapid_public_key": public,
                          "allow_http": bool(int(settings.get("OPEN311_CALLBACK_ALLOW_HTTP") or 0)),
                          "allow_private": bool(int(settings.get("OPEN311_CALLBACK_ALLOW_PRIVATE") or 0))}
    elif key or subject:
        problems.append("OPEN311_NOTICE_VAPID_PRIVATE_KEY and OPEN311_NOTICE_VAPID_SUBJECT go together: set both "
                        "for Web Push notices")
    for name in str(settings.get("OPEN311_NOTICE_CHANNELS") or "").replace(",", " ").split():
        variable = f"OPEN311_NOTICE_OPTIONS_{name.upper().replace('-', '_')}"
        try:
            options = json.loads(os.environ.get(variable) or "{}")
        except ValueError:
            problems.append(f"{variable} must be a JSON object of the {name} notifier's options")
            continue
        wanted[name] = options if isinstance(options, dict) else {}
    return wanted


def build_notifiers(settings: Mapping[str, Any], registry: Mapping[str, Any] | None = None) -> dict[str, Notifier]:
    """One notifier per configured channel; ConfigError lists every problem."""
    problems: list[str] = []
    built: dict[str, Notifier] = {}
    for channel, options in _wanted(settings, problems).items():
        try:
            cls = load_notifier_class(channel, registry)
            built[channel] = cls(cls.options_schema().load(options))
        except LookupError as exc:
            problems.append(f"OPEN311_NOTICE_CHANNELS: {exc}")
        except marshmallow.ValidationError as exc:
            problems.append(f"notices by {channel}: {exc.messages}")
    if problems:
        raise ConfigError(problems)
    return built
