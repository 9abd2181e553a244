"""One document tree rendered as XML or JSON by the Spark convention (containers are arrays)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


class Many(NamedTuple):
    """A container element: `items` each become an `<item>` in XML and one entry of an array in JSON."""

    item: str
    items: Sequence[Any]


def _escape(text: str) -> str:
    """Escape text content for XML."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _scalar(value: Any) -> str:
    """Render a leaf value as XML text."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return _escape(str(value))


def _xml(name: str, value: Any, out: list[str]) -> None:
    """Append one element (and its children) to `out`."""
    if value is None:
        out.append(f"<{name}/>")
    elif isinstance(value, Many):
        if not value.items:
            out.append(f"<{name}/>")
            return
        out.append(f"<{name}>")
        for item in value.items:
            _xml(value.item, item, out)
        out.append(f"</{name}>")
    elif isinstance(value, Mapping):
        out.append(f"<{name}>")
        for key, child in value.items():
            _xml(key, child, out)
        out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        # A repeated leaf (e.g. several media_url): the element repeats.
        for item in value:
            _xml(name, item, out)
    else:
        out.append(f"<{name}>{_scalar(value)}</{name}>")


def to_xml(root: str, document: Any) -> bytes:
    """Render a document under `root` as UTF-8 XML with the declaration and no namespace."""
    out = [XML_DECLARATION]
    _xml(root, document, out)
    return "".join(out).encode("utf-8")


def _plain(value: Any) -> Any:
    """Turn Many containers into lists for JSON."""
    if isinstance(value, Many):
        return [_plain(v) for v in value.items]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(document: Any) -> bytes:
    """Render a document as compact UTF-8 JSON: the root element is dropped (Spark)."""
    return json.dumps(_plain(document), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def item_bytes(fmt: str, name: str, value: Any) -> bytes:
    """One item of a container rendered alone, to be joined by `container_bytes` (same bytes as `render`)."""
    if fmt == "json":
        return to_json(value)
    out: list[str] = []
    _xml(name, value, out)
    return "".join(out).encode("utf-8")


def container_bytes(fmt: str, root: str, items: Sequence[bytes]) -> bytes:
    """A document whose root is a container of already rendered items: what `render` gives for Many(...)."""
    if fmt == "json":
        return b"[" + b",".join(items) + b"]"
    head = XML_DECLARATION.encode()
    if not items:
        return head + f"<{root}/>".encode()
    return head + f"<{root}>".encode() + b"".join(items) + f"</{root}>".encode()


def render(fmt: str, root: str, document: Any) -> bytes:
    """Render in the format named by the URL suffix."""
    return to_json(document) if fmt == "json" else to_xml(root, document)
