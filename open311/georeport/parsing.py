"""Reading what clients send: query parameters, and POST bodies as form, JSON or XML (with photos: multipart
files and data: URLs)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from flask import Request, current_app, g
from lxml import etree
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from open311.core.text import NOT_XML
from open311.errors import BadRequest, Open311Error, PayloadTooLarge
from open311.georeport.xmlsafe import parse_xml
from open311.intake.submit import Submission
from open311.media.uploads import Upload, decode_data_url, is_data_url, is_upload_field

# attribute[code], attribute[code][] (the spec's multivaluelist form) and attribute[code][0] (indexed
# arrays, as qs/axios and PHP clients send them).
ATTRIBUTE_KEY = re.compile(r"^attributes?\[([^\]]{1,128})\](?:\[[0-9]{0,4}\])?$")
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_VALUES = 100
DEFAULT_MAX_DOCUMENT = 1024 * 1024


def fmt_of(path: str) -> str:
    """The error format for a URL: json for .json and the exports (.geojson, .csv), else xml."""
    return "json" if path.endswith((".json", ".geojson", ".csv")) else "xml"


def clean(value: str, name: str) -> str:
    """Refuse strings holding characters XML 1.0 cannot carry, so no stored value can break a feed."""
    if NOT_XML.search(value):
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


class QueryArgs(ImmutableMultiDict[str, str]):
    """request.args and request.form, whose `get` of an absent key is a dict lookup.

    werkzeug's MultiDict.get goes through __getitem__, which builds and raises a BadRequestKeyError (an
    HTTPException) for every absent key; a feed page asks for about eighteen optional parameters a client left out.
    """

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:  # type: ignore[override]
        """As MultiDict.get (its overloads typed as one), with a membership test first."""
        if key not in self:
            return default
        return super().get(key, default) if type is None else super().get(key, default, type)


class GatewayRequest(Request):
    """Flask's request, keeping multipart files in memory (the whole body is bounded by MAX_CONTENT_LENGTH), so
    an original upload, metadata and all, is never written to disk, not even as a temporary file; its query and
    form parameters are QueryArgs (Request.parameter_storage_class is werkzeug's documented hook for that)."""

    parameter_storage_class = QueryArgs

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        """An in-memory buffer for one uploaded file."""
        return io.BytesIO()


def _uploads_of(files: Iterable[tuple[str, FileStorage]]) -> list[Upload]:
    """The photos among multipart files (media, media[], photo1..N); another file field is a 400."""
    uploads = []
    for name, storage in files:
        if not isinstance(name, str):
            raise BadRequest("A form file part has no name.")
        data = storage.read()
        if not data and not storage.filename:  # a form's empty file input: nothing was chosen
            continue
        if not is_upload_field(name):
            raise BadRequest(f"File field {clean(name, 'field name')[:64]!r} is not accepted: send photos as media, "
                             "media[] or photo1, photo2, ...")
        uploads.append(Upload(name, data, storage.filename or None))
    return uploads


def _numbered(uploads: list[Upload]) -> tuple[Upload, ...]:
    """Uploads whose part name repeats get a number (media #2), so an error names exactly one of them."""
    counts = Counter(u.part for u in uploads)
    seen: Counter[str] = Counter()
    numbered = []
    for upload in uploads:
        seen[upload.part] += 1
        part = f"{upload.part} #{seen[upload.part]}" if counts[upload.part] > 1 else upload.part
        numbered.append(Upload(part, upload.data, upload.filename))
    return tuple(numbered)


def _from_pairs(pairs: Iterable[tuple[str, Any]], files: Iterable[tuple[str, FileStorage]] = (), *,
                photos: bool = False) -> Submission:
    """Build a Submission from (name, value) pairs, splitting out attribute[...] keys; with `photos`, the
    multipart `files` and data: URLs given as media_url become uploads."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    uploads = _uploads_of(files) if photos else []
    for name, value in pairs:
        if not isinstance(name, str):  # a multipart part whose Content-Disposition has no readable name
            raise BadRequest("A form field has no name.")
        name = clean(name, "field name")
        m = ATTRIBUTE_KEY.match(name)
        if m:
            attributes.setdefault(m.group(1), []).append(clean(value, name))
        elif photos and name == "media_url" and is_data_url(clean(value, name)):
            uploads.append(decode_data_url(value))
        elif name not in fields:
            fields[name] = clean(value, name)
    if len(attributes) > MAX_ATTRIBUTES:
        raise BadRequest(f"At most {MAX_ATTRIBUTES} attributes may be sent.")
    crowded = sorted(code for code, values in attributes.items() if len(values) > MAX_ATTRIBUTE_VALUES)
    if crowded:
        raise BadRequest(*(f"attribute[{code}] takes at most {MAX_ATTRIBUTE_VALUES} values." for code in crowded))
    return Submission(fields=fields, attributes=attributes, uploads=_numbered(uploads))


def _json_answers(value: Any) -> Iterable[tuple[str, Any]]:
    """(code, answer) pairs of a JSON `attributes` member: an object of code -> value(s), or a list
    of {"code": ..., "value" or "values": ...} objects (the XML body's shape)."""
    if isinstance(value, dict):
        yield from value.items()
        return
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise BadRequest('Each item of a JSON attributes list must be an object with a "code".')
        yield item["code"], item.get("values", item.get("value"))


def check_json(value: Any, where: str = "JSON body") -> None:
    """Refuse any key or string anywhere in a decoded JSON document that XML 1.0 cannot carry."""
    stack = [(value, where)]
    while stack:
        item, label = stack.pop()
        if isinstance(item, str):
            clean(item, label)
        elif isinstance(item, dict):
            for key, child in item.items():
                clean(key, f"a key of {label}")
                stack.append((child, key))
        elif isinstance(item, list):
            stack.extend((child, label) for child in item)


def _json_pairs(data: Any) -> Iterable[tuple[str, str]]:
    """Flatten a JSON object body; `attributes`/`attribute` may be an object of code -> value(s)."""
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object of request fields.")
    for name, value in data.items():
        if name in ("attributes", "attribute") and isinstance(value, dict | list):
            for code, answer in _json_answers(value):
                for item in answer if isinstance(answer, list) else [answer]:
                    if item is not None:
                        yield f"attribute[{code}]", _scalar_text(item, code)
        elif isinstance(value, list) and (ATTRIBUTE_KEY.match(name) or name == "media_url"):
            for item in value:
                yield name, _scalar_text(item, name)
        elif value is not None:
            yield name, _scalar_text(value, name)


def _xml_pairs(root: etree._Element, roots: tuple[str, ...]) -> Iterable[tuple[str, str]]:
    """Flatten an XML <request> body; attributes as <attributes><attribute><code/><value/>...</attribute>."""
    if root.tag not in roots:
        raise BadRequest(f"The XML body's root element must be <{roots[0]}>.")
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


def _document_limit() -> int:
    """The configured largest JSON or XML body, in bytes."""
    limit: int = current_app.config.get("OPEN311_MAX_DOCUMENT_SIZE", DEFAULT_MAX_DOCUMENT)
    return limit


def _document(request: Request) -> bytes:
    """The raw JSON or XML body, refused with 413 above the configured size."""
    limit = _document_limit()
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    body = request.get_data(cache=True)
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return body


def _check_urlencoded(request: Request) -> None:
    """Apply MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS to form-encoded bodies (werkzeug checks only multipart)."""
    limit: int = current_app.config["MAX_FORM_MEMORY_SIZE"]
    parts: int = current_app.config["MAX_FORM_PARTS"]
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"The form body is larger than {limit} bytes.")
    body = request.get_data(cache=True)  # request.form parses this cached copy
    if len(body) > limit:
        raise PayloadTooLarge(f"The form body is larger than {limit} bytes.")
    if body.count(b"&") + body.count(b";") >= parts:
        raise PayloadTooLarge(f"The form body has more than {parts} fields.")


def parse_submission(request: Request, roots: tuple[str, ...] = ("request", "service_request"), *,
                     photos: bool = False) -> Submission:
    """Parse a POST body of any accepted type into a Submission (format of the reply is separate).

    `roots` are the accepted root elements of an XML body; `photos` takes multipart files and data: URLs
    (POST requests only).
    """
    mimetype = request.mimetype
    if mimetype in ("application/x-www-form-urlencoded", ""):
        _check_urlencoded(request)
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        pairs = list(request.form.items(multi=True))
        files = list(request.files.items(multi=True)) if mimetype == "multipart/form-data" else []
        if not pairs and request.args:  # fields in the query string (some clients), files in the body
            pairs = list(request.args.items(multi=True))
        return _from_pairs(pairs, files, photos=photos)
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            data = json.loads(_document(request) or b"null")
        except (ValueError, RecursionError):
            raise BadRequest("Malformed JSON body.") from None
        check_json(data)
        return _from_pairs(_json_pairs(data), photos=photos)
    if mimetype in ("text/xml", "application/xml") or mimetype.endswith("+xml"):
        body = _document(request)
        return _from_pairs(_xml_pairs(parse_xml(body, max_bytes=_document_limit()), roots), photos=photos)
    raise BadRequest(f"Unsupported Content-Type {mimetype[:80]!r}: send form-encoded, JSON or XML.")


def submission_of(request: Request) -> Submission:
    """The request's parsed POST body, parsed once per request (the rate limiter reads the key first).

    A body that fails to parse fails the same way every time it is asked for: the stream is read once,
    so a second parse would see an empty body and answer something else (403 instead of 413).
    """
    parsed: Submission | Exception | None = g.get("open311_submission")
    if parsed is None:
        try:
            parsed = parse_submission(request, photos=True)
        except (Open311Error, HTTPException) as exc:
            parsed = exc
        g.open311_submission = parsed
    if isinstance(parsed, Exception):
        raise parsed
    return parsed

