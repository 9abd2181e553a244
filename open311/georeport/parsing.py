"""Reading what clients send: query parameters, and POST bodies as form, JSON or XML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Request, g
from lxml import etree

from ..errors import BadRequest
from ..service_requests import Submission
from .xmlsafe import parse_xml

ATTRIBUTE_KEY = re.compile(r"^attributes?\[([^\]]{1,128})\](?:\[\])?$")
# Characters XML 1.0 cannot carry; refused on input so no stored value can break a feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_ATTRIBUTES = 100


def fmt_of(path: str) -> str:
    """The response format from a URL's suffix: json for .json (and its JSON relatives), else xml."""
    return "json" if path.endswith((".json", ".geojson")) else "xml"


def clean(value: str, name: str) -> str:
    """Refuse strings holding characters that XML 1.0 cannot represent."""
    if _NOT_XML.search(value):
        raise BadRequest(f"{name[:64]} contains control or non-character code points, which are not accepted.")
    return value


def param(args: Mapping[str, Any], name: str) -> str | None:
    """A single query/form value; empty means absent (the spec's rule for optional arguments)."""
    value = args.get(name)
    if value is None:
        return None
    value = clean(str(value), name).strip()
    return value or None


def param_list(args: Any, name: str) -> tuple[str, ...]:
    """A list parameter: repeated and/or comma-delimited, trimmed, empties dropped, order kept."""
    found: list[str] = []
    for raw in args.getlist(name):
        for part in clean(raw, name).split(","):
            part = part.strip()
            if part and part not in found:
                found.append(part)
    return tuple(found)


def _scalar_text(value: Any, name: str) -> str:
    """A JSON scalar as text (numbers are accepted for ids and coordinates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return clean(str(value), name)
    raise BadRequest(f"{name[:64]} must be a string or a number.")


def _from_pairs(pairs: Iterable[tuple[str, Any]]) -> Submission:
    """Build a Submission from (name, value) pairs, splitting out attribute[...] keys."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in pairs:
        name = clean(name, "field name")
        m = ATTRIBUTE_KEY.match(name)
        if m:
            attributes.setdefault(m.group(1), []).append(clean(value, name))
        elif name not in fields:
            fields[name] = clean(value, name)
    if len(attributes) > MAX_ATTRIBUTES:
        raise BadRequest(f"At most {MAX_ATTRIBUTES} attributes may be sent.")
    return Submission(fields=fields, attributes=attributes)


def _json_pairs(data: Any) -> Iterable[tuple[str, str]]:
    """Flatten a JSON object body; `attributes`/`attribute` may be an object of code -> value(s)."""
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object of request fields.")
    for name, value in data.items():
        if name in ("attributes", "attribute") and isinstance(value, dict):
            for code, answer in value.items():
                for item in answer if isinstance(answer, list) else [answer]:
                    if item is not None:
                        yield f"attribute[{code}]", _scalar_text(item, code)
        elif isinstance(value, list) and ATTRIBUTE_KEY.match(name):
            for item in value:
                yield name, _scalar_text(item, name)
        elif value is not None:
            yield name, _scalar_text(value, name)


def _xml_pairs(root: etree._Element) -> Iterable[tuple[str, str]]:
    """Flatten an XML <request> body; attributes as <attributes><attribute><code/><value/>...</attribute>."""
    if root.tag not in ("request", "service_request"):
        raise BadRequest("The XML body's root element must be <request>.")
    for child in root:
        if child.tag in ("attributes", "attribute"):
            items = list(child) if child.tag == "attributes" else [child]
            for item in items:
                code = (item.findtext("code") or item.get("code") or "").strip()
                values = [v.text or "" for v in item.findall("value")] or [item.text or ""]
                for value in values:
                    yield f"attribute[{code}]", value
        elif len(child) == 0:
            yield str(child.tag), child.text or ""


def parse_submission(request: Request) -> Submission:
    """Parse a POST body of any accepted type into a Submission (format of the reply is separate)."""
    mimetype = request.mimetype
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        pairs = list(request.form.items(multi=True))
        if not pairs and request.args:
            pairs = list(request.args.items(multi=True))
        return _from_pairs(pairs)
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            data = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, RecursionError):
            raise BadRequest("Malformed JSON body.") from None
        return _from_pairs(_json_pairs(data))
    if mimetype in ("text/xml", "application/xml") or mimetype.endswith("+xml"):
        return _from_pairs(_xml_pairs(parse_xml(request.get_data(cache=True))))
    raise BadRequest(f"Unsupported Content-Type {mimetype[:80]!r}: send form-encoded, JSON or XML.")


def submission_of(request: Request) -> Submission:
    """The request's parsed POST body, parsed once per request (the rate limiter reads the key first)."""
    parsed: Submission | None = g.get("open311_submission")
    if parsed is None:
        parsed = g.open311_submission = parse_submission(request)
    return parsed

