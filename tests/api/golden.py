"""Golden files: responses compared with reviewed, pretty-printed copies (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lxml import etree

GOLDEN = Path(__file__).parent / "golden"


def _ordered_json(data: bytes) -> Any:
    """JSON with object key order kept, so field order is compared too."""
    return json.loads(data, object_pairs_hook=lambda pairs: [list(p) for p in pairs])


def _pretty_xml(data: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(data, parser), pretty_print=True, xml_declaration=True, encoding="utf-8")


def assert_golden(name: str, body: bytes) -> None:
    """Compare a response body with tests/api/golden/<name>, structure and order included."""
    path = GOLDEN / name
    is_json = name.endswith(".json")
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        pretty = (json.dumps(json.loads(body), indent=2, ensure_ascii=False).encode() + b"\n"
                  if is_json else _pretty_xml(body))
        path.write_bytes(pretty)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            raise AssertionError(f"golden file {path} was missing and has been written; review and commit it")
    expected = path.read_bytes()
    if is_json:
        assert _ordered_json(body) == _ordered_json(expected)
    else:
        assert _pretty_xml(body) == _pretty_xml(expected)
