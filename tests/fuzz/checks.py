"""What every answer must be, whatever was sent: no 5xx, the requested format, spec-shaped errors."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

from lxml import etree

from tests.fuzz.tally import CASES, SERVER_ERRORS, STATUSES

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def fmt_of(path: str) -> str:
    """The format the URL asks for (anything but .json answers in XML)."""
    return "json" if path.split("?", 1)[0].endswith(".json") else "xml"


def check_answer(fuzzer: str, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes,
                 sent: object = None) -> None:
    """Count the case; fail on a server error, a wrong format, or an error body that is not the spec's list."""
    CASES[fuzzer] += 1
    STATUSES.setdefault(fuzzer, Counter())[status] += 1
    where = f"{method} {path[:200]} -> {status}"
    if status >= 500:
        SERVER_ERRORS.append(where)
        raise AssertionError(f"server error: {where}: {body[:300]!r}; sent: {sent!r:.2000}")
    fmt = fmt_of(path)
    assert headers.get("content-type") == CONTENT_TYPES[fmt], where
    if fmt == "json":
        document = json.loads(body)
        if status >= 400:
            assert isinstance(document, list) and document, where
            for error in document:
                assert set(error) == {"code", "description"} and error["code"] == status, where
                assert isinstance(error["description"], str) and error["description"], where
        return
    root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if status >= 400:
        assert root.tag == "errors" and len(root), where
        for error in root:
            assert [c.tag for c in error] == ["code", "description"], where
            assert error.findtext("code") == str(status) and error.findtext("description"), where
