"""What every answer must be, whatever was sent: no 5xx, the requested format, spec-shaped errors."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping

from lxml import etree

from open311.georeport.parsing import fmt_of as answer_format
from tests.fuzz.tally import CASES, SERVER_ERRORS, STATUSES

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
JSONP_TYPE = "application/javascript; charset=utf-8"
JSONP_BODY = re.compile(rb"/\*\*/[A-Za-z_$][\w$.]*\((.*)\);", re.DOTALL)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def fmt_of(path: str) -> str:
    """The format the URL asks for, by the app's own rule (.json and the .geojson/.csv exports answer errors in
    JSON, anything else in XML)."""
    return answer_format(path.split("?", 1)[0])


def check_answer(fuzzer: str, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes,
                 sent: object = None) -> None:
    """Count the case; fail on a server error, a wrong format, or an error body that is not the spec's list."""
    CASES[fuzzer] += 1
    STATUSES.setdefault(fuzzer, Counter())[status] += 1
    where = f"{method} {path[:200]} -> {status}"
    if status == 503 and path.split("?", 1)[0] == "/readyz":  # "not ready" is that route's designed answer
        return
    if status >= 500:
        SERVER_ERRORS.append(where)
        raise AssertionError(f"server error: {where}: {body[:300]!r}; sent: {sent!r:.2000}")
    if not path.startswith("/open311/v2/"):  # operations routes (/healthz, /readyz, /metrics): plain answers
        return
    suffix = path.split("?", 1)[0].rsplit(".", 1)[-1]
    if status < 400 and suffix in EXPORT_TYPES:  # the exports answer in their own formats
        assert (headers.get("content-type") or "").startswith(EXPORT_TYPES[suffix]), where
        return
    if status == 304:  # a conditional GET that matched: no body at all
        assert not body, where
        return
    fmt = fmt_of(path)
    if headers.get("content-type") == JSONP_TYPE and method.upper() in ("GET", "HEAD") and fmt == "json":
        jsonp = JSONP_BODY.fullmatch(body)  # callback=name on a JSON GET: the same JSON inside name(...)
        assert jsonp is not None, where
        body = jsonp.group(1)
        headers = {**headers, "content-type": CONTENT_TYPES["json"]}
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
