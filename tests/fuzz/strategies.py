"""Hypothesis strategies for hostile clients: form, JSON and XML POST bodies, and query strings."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

FIELDS = ["service_code", "lat", "long", "address_string", "address_id", "zipcode", "media_url", "description",
          "email", "phone", "first_name", "last_name", "device_id", "account_id", "jurisdiction_id", "api_key",
          "attribute[surface_type]", "attribute[property_type]", "attribute[condition][]",
          "attribute[vehicle_count]", "attribute[first_seen]", "callback_url"]
TRICKY = ["", " ", "nan", "NaN", "inf", "-Infinity", "-0", "1e309", "1e-400", "91", "-181", "34.0239", "-118.1720",
          "DPW-GRAFFITI", "DRP-INOPERABLE", "DPR-RESTROOM", "wall", "public", "flat_tires,wrecked", "lacounty.gov",
          "http://127.0.0.1:9/x.jpg", "javascript:alert(1)", "x" * 4001, "9" * 30, "2026-02-30", "2026-03-01T10:00:00Z",
          "<b>&amp;</b>", "\u202e\u0000", "\ufffe", "\x1b[31m", "../../etc/passwd", "' OR 1=1 --", "\U0001f600" * 50]
VALID_FORM = {"service_code": "DPW-GRAFFITI", "lat": "34.0239", "long": "-118.1720",
              "attribute[surface_type]": "wall", "attribute[property_type]": "public", "description": "Tag"}
XML_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,15}", fullmatch=True)

names = st.one_of(st.sampled_from(FIELDS), st.text(max_size=20),
                  st.from_regex(r"attributes?\[[a-z_\]\[]{0,12}\](\[\])?", fullmatch=True))
controls = st.text(alphabet=st.characters(max_codepoint=0x1F) | st.sampled_from("\ufffe\uffff\x7f"), max_size=4)
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=120), controls)


@st.composite
def form_pairs(draw: Any) -> list[tuple[str, str]]:
    """A valid report with hostile fields on top, or hostile fields alone."""
    base = list(VALID_FORM.items()) if draw(st.booleans()) else []
    return base + draw(st.lists(st.tuples(names, values), max_size=12))


def encode_form(pairs: list[tuple[str, str]]) -> bytes:
    """application/x-www-form-urlencoded, keeping lone surrogates encodable."""
    return urlencode([(n.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
                      for n, v in pairs]).encode("ascii")


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(TRICKY),
                         st.text(max_size=40), st.characters(categories=["Cs"]), controls)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=16)


@st.composite
def json_bodies(draw: Any) -> bytes:
    """A JSON document: a report with hostile members, any JSON value, or bytes that are almost JSON."""
    kind = draw(st.sampled_from(["report", "value", "mutated"]))
    if kind == "value":
        document: Any = draw(json_values)
    else:
        document = {k: v for k, v in VALID_FORM.items() if not k.startswith("attribute")} if draw(
            st.booleans()) else {}
        document["attributes"] = draw(st.one_of(st.just({"surface_type": "wall", "property_type": "public"}),
                                                json_values))
        document.update(draw(st.dictionaries(names, json_values, max_size=8)))
    text = json.dumps(document, allow_nan=True).encode("utf-8")
    if kind == "mutated" and text:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.binary(max_size=8)) + text[cut + draw(st.integers(0, 4)):]
    return text


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


VALID_XML = ("<service_code>DPW-GRAFFITI</service_code><lat>34.0239</lat><long>-118.172</long><attributes>"
             "<attribute><code>surface_type</code><value>wall</value></attribute><attribute>"
             "<code>property_type</code><value>public</value></attribute></attributes>")
PROLOGS = ["", '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.1"?>', "<!DOCTYPE request>",
           '<?xml version="1.0" encoding="utf-16"?>', '<?xml version="1.0" encoding="latin1"?>', "\ufeff",
           "<?pi x?>", '<?xml version="1.0" encoding="UTF-7"?>']
RAW = ["", "&#1;", "&x;", "&amp;", "&#x10FFFF;", "<![CDATA[<a>]]>", "<!-- c -->", "<a><b/></a>"]


@st.composite
def xml_bodies(draw: Any) -> bytes:
    """An XML document: a valid report with a few hostile fields, or anything shaped like XML."""
    valid = draw(st.booleans())
    root = "request" if valid else draw(st.sampled_from(["request", "service_request", "requests", "r"]))
    parts = [VALID_XML] if valid else []
    for name, value in draw(st.lists(st.tuples(st.one_of(st.sampled_from(FIELDS[:16]), XML_NAME), values),
                                     max_size=3 if valid else 10)):
        raw = "" if valid else draw(st.sampled_from(RAW))
        parts.append(f"<{name}>{_xml_text(value)}{raw}</{name}>")
    if not valid and draw(st.booleans()):
        answers = draw(st.lists(st.tuples(st.sampled_from(["surface_type", "property_type", "x"]), values),
                                max_size=4))
        items = "".join(f"<attribute><code>{c}</code><value>{_xml_text(v)}</value></attribute>" for c, v in answers)
        parts.append(f"<attributes>{items}</attributes>")
    prolog = draw(st.sampled_from(PROLOGS[:2] if valid else PROLOGS))
    text = f"{prolog}<{root}>{''.join(parts)}</{root}>"
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32-be", "latin-1"]))
    body = text.encode(encoding, "surrogatepass") if encoding.startswith("utf") else text.encode(encoding, "replace")
    if not valid and draw(st.integers(0, 9)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    return body


@st.composite
def query_strings(draw: Any) -> str:
    """Known and unknown parameters with hostile values, repeated and comma-listed."""
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(
        ["jurisdiction_id", "service_request_id", "service_code", "status", "start_date", "end_date", "api_key",
         "extensions", "page", "page_size"]), names), st.one_of(values, st.sampled_from(
            ["open", "closed,open", "1,2,3", "lacounty.gov", "2026-01-01", "2026-03-01T00:00:00+08:00"]))),
        max_size=8))
    return urlencode([(n.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass")) for n, v in pairs],
                     quote_via=quote)
