"""JSON log lines: one object per line, exceptions without their message, query strings and e-mails scrubbed."""

from __future__ import annotations

import json
import logging

from open311.core.logs import JsonFormatter, scrub


def record(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("open311.test", logging.ERROR, __file__, 1, message, args,
                            (type(exc), exc, exc.__traceback__) if exc else None)
    rec.__dict__.update(extra)
    return rec


def test_a_line_is_one_json_object_with_the_known_fields() -> None:
    line = JsonFormatter().format(record("GET %s %s", "/readyz", 200, event="access", status=200, user="x"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /readyz 200"
    assert (entry["level"], entry["logger"]) == ("error", "open311.test")
    assert (entry["event"], entry["status"]) == ("access", 200)
    assert entry["time"].endswith("+00:00") and isinstance(entry["pid"], int)
    assert "user" not in entry  # only the fields the gateway defines


def test_exceptions_are_logged_as_type_and_frames_without_their_message() -> None:
    try:
        raise ValueError("duplicate key (email)=(canary-mail@example.invalid)")
    except ValueError as caught:
        line = JsonFormatter().format(record("insert failed", exc=caught))
    entry = json.loads(line)
    assert entry["exception"].startswith("ValueError at test_logs.py:")
    assert "canary" not in line


def test_query_strings_and_emails_are_scrubbed_from_messages() -> None:
    assert scrub("Error handling request /open311/v2/requests.json?api_key=o311_secret&email=a@b.org") == \
        "Error handling request /open311/v2/requests.json?[removed]"
    assert scrub("contact jane.doe+311@example.co.uk now") == "contact [email removed] now"
    line = JsonFormatter().format(record("bad %s", "x?api_key=o311_secret"))
    assert "o311_secret" not in line
