"""JSON log lines: one object per line, exceptions without their message, query strings and e-mails scrubbed."""

from __future__ import annotations

import json
import logging
import os

from open311.core.logs import JsonFormatter, ServerFormatter, scrub, scrub_server


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


def test_server_messages_lose_addresses_and_quoted_request_text() -> None:
    cases = {
        "Invalid request from ip=203.0.113.9: Invalid HTTP Header: 'ApiKey o311_secret'":
            "Invalid request from ip=[address]: Invalid HTTP Header: '[removed]'",
        r"No more data after: b'GET / HTTP/1.1\r\nAuthorization: Bearer o311_secret'":
            "No more data after: '[removed]'",
        "peer 2001:db8::8a2e:370:7334 and ::ffff:198.51.100.7 and fe80::1 gone":
            "peer [address] and [address] and [address] gone",
        "Listening at: http://127.0.0.1:5000 (42)": "Listening at: http://[address]:5000 (42)",
        'said "it\'s o311_secret"': "said '[removed]'",
    }
    for message, scrubbed in cases.items():
        assert scrub_server(message) == scrubbed
    # what is neither an address nor quoted stays readable
    for kept in ("Starting gunicorn 27.0.1", "Booting worker with pid: 20298", "Worker exiting at 15:39:17"):
        assert scrub_server(kept) == kept
    # what a worker logs is scrubbed; the master (which reads no request) keeps its listening address
    formatter = ServerFormatter(master_pid=os.getpid() + 1)
    line = formatter.format(record("Invalid request from ip=%s: %s", "10.1.2.3", "'o311_secret'"))
    assert "10.1.2.3" not in line and "o311_secret" not in line
    master = ServerFormatter(master_pid=os.getpid()).format(record("Listening at: %s", "http://10.1.2.3:80"))
    assert json.loads(master)["message"] == "Listening at: http://10.1.2.3:80"
