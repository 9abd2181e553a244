"""The one hardened XML parser: no DTD, no entities, no network, bounded size, depth and element count."""

from __future__ import annotations

import re

from lxml import etree

from ..errors import BadRequest, PayloadTooLarge

MAX_XML_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ELEMENTS = 5000
REFUSED = "XML with a DOCTYPE or ENTITY declaration is not accepted."
# Markup declarations, found by a byte scan once the body is in an ASCII-compatible encoding.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']{0,40})["']""")
# Encodings a client may declare: UTF-8 and its ASCII-compatible elders. UTF-16/32 are recognised by
# their first bytes and transcoded first, so that no encoding can hide a declaration from the scan.
ACCEPTED_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1",
                                "iso-8859-15", "windows-1252", "cp1252", "utf-16", "utf-32"})
_WIDE = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00\x00\x00", "utf-32-le"), (b"\xfe\xff", "utf-16"), (b"\xff\xfe", "utf-16"),
         (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))


def make_parser(encoding: str | None = None) -> etree.XMLParser:
    """A fresh parser that never loads a DTD, resolves an entity, touches the network or builds huge trees.

    A new parser per document keeps threads from sharing parser state; building one costs microseconds.
    Do not add collect_ids=False: with libxml2 2.14 it makes the parser read an external DTD from a
    file:// system id (tests/api/test_xml_attacks.py::test_parser_alone_resolves_nothing catches it).
    """
    return etree.XMLParser(encoding=encoding, resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, attribute_defaults=False, huge_tree=False, decompress=False,
                           remove_comments=True, remove_pis=True, strip_cdata=True)


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


def _ascii_compatible(body: bytes) -> tuple[bytes, str | None]:
    """The body in an ASCII-compatible encoding: UTF-16/32 are transcoded to UTF-8 (named for the parser)."""
    for signature, codec in _WIDE:
        if body.startswith(signature):
            try:
                return body.decode(codec).encode("utf-8", "surrogatepass"), "utf-8"
            except UnicodeError:
                raise BadRequest(f"Malformed XML: the body is not valid {codec.upper()}.") from None
    declared = _ENCODING.match(body)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in ACCEPTED_ENCODINGS:
        raise BadRequest("XML encoding not accepted: send UTF-8 (or UTF-16, ISO-8859-1, windows-1252).")
    return body, None


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse an untrusted XML body or raise BadRequest (413 when too large); any DOCTYPE is refused."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The XML body is larger than {max_bytes} bytes.")
    body, encoding = _ascii_compatible(body)
    if _DECLARATION.search(body):
        raise BadRequest(REFUSED)
    try:
        root = etree.fromstring(body, parser=make_parser(encoding))
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"Malformed XML: {exc.msg}.") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or docinfo.system_url or docinfo.public_id:
        raise BadRequest(REFUSED)
    _check_shape(root)
    return root
