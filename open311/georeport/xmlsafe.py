"""The one hardened XML parser: no DTD, no entities, no network, bounded size, depth and element count."""

from __future__ import annotations

import re

from lxml import etree

from ..errors import BadRequest, PayloadTooLarge

MAX_XML_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ELEMENTS = 5000
REFUSED = "XML with a DOCTYPE or ENTITY declaration is not accepted."
# Markup declarations in any ASCII-compatible encoding; other encodings are caught after parsing.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)


def make_parser() -> etree.XMLParser:
    """A fresh parser that never loads a DTD, resolves an entity, touches the network or builds huge trees.

    A new parser per document keeps threads from sharing parser state; building one costs microseconds.
    """
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           attribute_defaults=False, huge_tree=False, remove_comments=True, remove_pis=True,
                           collect_ids=False, strip_cdata=True)


def _check_shape(root: etree._Element) -> None:
    """Refuse entity references, and trees deeper or larger than a service request can be."""
    depth = count = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        if not isinstance(element.tag, str):
            raise BadRequest("XML entity references are not accepted.")
        depth += 1
        count += 1
        if depth > MAX_DEPTH:
            raise BadRequest(f"XML nested deeper than {MAX_DEPTH} levels.")
        if count > MAX_ELEMENTS:
            raise BadRequest(f"XML with more than {MAX_ELEMENTS} elements.")


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse an untrusted XML body or raise BadRequest (413 when too large); any DOCTYPE is refused."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The XML body is larger than {max_bytes} bytes.")
    if _DECLARATION.search(body):
        raise BadRequest(REFUSED)
    try:
        root = etree.fromstring(body, parser=make_parser())
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"Malformed XML: {exc.msg}.") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or docinfo.system_url or docinfo.public_id:
        raise BadRequest(REFUSED)
    _check_shape(root)
    return root
