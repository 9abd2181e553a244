"""The one hardened XML parser: no DTD, no entities, no network, bounded size and depth."""

from __future__ import annotations

from lxml import etree

from ..errors import BadRequest

MAX_XML_BYTES = 1_000_000
MAX_DEPTH = 32


def _parser() -> etree.XMLParser:
    """A parser that never loads a DTD, resolves an entity or touches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)


_PARSER = _parser()


def parse_xml(body: bytes) -> etree._Element:
    """Parse an untrusted XML body or raise BadRequest; any DOCTYPE or ENTITY is refused outright."""
    if len(body) > MAX_XML_BYTES:
        raise BadRequest(f"XML body larger than {MAX_XML_BYTES} bytes.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or b"<!doctype" in body:
        raise BadRequest("XML with a DOCTYPE or ENTITY declaration is not accepted.")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"Malformed XML: {exc.msg}.") from None
    if root.getroottree().docinfo.doctype:
        raise BadRequest("XML with a DOCTYPE or ENTITY declaration is not accepted.")
    for element in root.iter():
        if not isinstance(element.tag, str):
            raise BadRequest("XML entity references are not accepted.")
    if max((len(list(e.iterancestors())) for e in root.iter()), default=0) > MAX_DEPTH:
        raise BadRequest("XML nested too deeply.")
    return root
