"""The one hardened XML parser: no DTD, no entities, no network, bounded size, depth and element count."""

from __future__ import annotations

import re
import threading

from lxml import etree

from open311.errors import BadRequest, PayloadTooLarge

MAX_XML_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ELEMENTS = 5000
REFUSED = "XML with a DOCTYPE or ENTITY declaration is not accepted."
# Markup declarations, looked for (by a byte scan of the body in an ASCII-compatible encoding) when a body does
# not parse, to answer that declarations are refused rather than that the XML is malformed.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']{0,40})["']""")
# Encodings a client may declare: UTF-8 and its ASCII-compatible elders. UTF-16/32 are recognised by
# their first bytes and transcoded first, so that no encoding can hide a declaration from that scan.
ACCEPTED_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1",
                                "iso-8859-15", "windows-1252", "cp1252", "utf-16", "utf-32"})
# What nearly every client sends: no declaration or a plain UTF-8 one, then at once the root element's start tag.
# Such a body needs no encoding check, and has no room for a DOCTYPE (it could only come before the root).
_PLAIN = re.compile(rb"""(?:<\?xml version=(["'])1\.0\1(?: encoding=\1(?:utf|UTF)-8\1)?\?>)?\s*<[A-Za-z_:]""")
_ACCEPTED = frozenset(name.encode("ascii") for name in ACCEPTED_ENCODINGS)
_WIDE = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00\x00\x00", "utf-32-le"), (b"\xfe\xff", "utf-16"), (b"\xff\xfe", "utf-16"),
         (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))


def make_parser(encoding: str | None = None) -> etree.XMLParser:
    """A parser that never loads a DTD, resolves an entity, touches the network or builds huge trees.

    Do not add collect_ids=False: with libxml2 2.14 it makes the parser read an external DTD from a
    file:// system id (tests/api/test_xml_attacks.py::test_parser_alone_resolves_nothing catches it).
    """
    return etree.XMLParser(encoding=encoding, resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, attribute_defaults=False, huge_tree=False, decompress=False,
                           remove_comments=True, remove_pis=True, strip_cdata=True)


# Compiled once per thread (lxml's XPath objects, like its parsers, are not for sharing between threads).
_TOO_DEEP = "boolean(/" + "*/" * MAX_DEPTH + "*)"
_COUNT = "count(//*)"


class _PerThread(threading.local):
    """This thread's parsers, made once and reused as lxml does with its default parser (a parser is not
    thread-safe, and making one per document costs as much as parsing a small body), and its XPaths."""

    def __init__(self) -> None:
        self.plain = make_parser()
        self.utf8 = make_parser("utf-8")   # for bodies transcoded from UTF-16/32
        self.too_deep = etree.XPath(_TOO_DEEP)
        self.count = etree.XPath(_COUNT)


_THREAD = _PerThread()


def _check_shape(root: etree._Element, body: bytes) -> None:
    """Refuse trees deeper or larger than a service request can be.

    Every element ends with a '/' (in its end tag or in `/>`), so a body with at most MAX_DEPTH slashes can
    break neither limit (parse_xml counts them first, much cheaper than walking the tree); otherwise the
    tree is measured by compiled XPath, in libxml2. An element takes at least four bytes (`<a/>`), so only a
    body of more than 4 * MAX_ELEMENTS bytes needs its elements counted.
    """
    if len(body) // 4 > MAX_ELEMENTS and _THREAD.count(root) > MAX_ELEMENTS:
        raise BadRequest(f"XML with more than {MAX_ELEMENTS} elements.")
    if _THREAD.too_deep(root):
        raise BadRequest(f"XML nested deeper than {MAX_DEPTH} levels.")


def _ascii_compatible(body: bytes) -> tuple[bytes, str | None]:
    """The body in an ASCII-compatible encoding: UTF-16/32 are transcoded to UTF-8 (named for the parser)."""
    if body[:1] != b"<" or body[1:2] == b"\x00":  # every UTF-16/32 signature starts otherwise
        for signature, codec in _WIDE:
            if body.startswith(signature):
                try:
                    return body.decode(codec).encode("utf-8", "surrogatepass"), "utf-8"
                except UnicodeError:
                    raise BadRequest(f"Malformed XML: the body is not valid {codec.upper()}.") from None
    if body[:2] == b"<?" or body[:1] != b"<":  # only then can the body start with an XML declaration
        declared = _ENCODING.match(body)
        if declared and declared.group(1).lower() not in _ACCEPTED:
            raise BadRequest("XML encoding not accepted: send UTF-8 (or UTF-16, ISO-8859-1, windows-1252).")
    return body, None


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse an untrusted XML body or raise BadRequest (413 when too large); any DOCTYPE is refused.

    The parser itself never loads a DTD, resolves an entity or touches the network, whatever the body
    holds (tests/api/test_xml_attacks.py). A document that parses is refused when it has a DOCTYPE (libxml2
    records every DOCTYPE, with or without an internal subset); one that does not parse is refused as a
    declaration when it holds one (the amplification guard stops the entity bombs), else as malformed.
    Without a DTD no entity can be declared, so no entity reference can be in the tree (an undeclared one is
    a syntax error).
    """
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The XML body is larger than {max_bytes} bytes.")
    plain, encoding = _PLAIN.match(body) is not None, None
    if not plain:
        body, encoding = _ascii_compatible(body)
    try:
        root = etree.fromstring(body, parser=_THREAD.plain if encoding is None else _THREAD.utf8)
    except etree.XMLSyntaxError as exc:
        if _DECLARATION.search(body):
            raise BadRequest(REFUSED) from None
        raise BadRequest(f"Malformed XML: {exc.msg}.") from None
    # libxml2 records every DOCTYPE as an internal subset (an external one is never read)
    if not plain and root.getroottree().docinfo.internalDTD is not None:
        raise BadRequest(REFUSED)
    # Every element ends with a '/': with at most MAX_DEPTH of them, no limit can be broken. (Counted through
    # replace, which finds bytes with memchr: about twice as fast as bytes.count for one byte.)
    if len(body) - len(body.replace(b"/", b"")) > MAX_DEPTH:
        _check_shape(root, body)
    return root
