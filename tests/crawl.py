"""Every GET route of an app, discovered from app.url_map and filled with real values.

Routes that other features add later (feeds, exports, extensions) are crawled without anyone
touching the tests that use this: privacy canaries and moderation checks.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

# Formats beyond xml/json are tried too: an export added later answers to one of them.
FORMATS = ("xml", "json", "geojson", "csv", "rss", "atom", "html", "txt")
QUERIES = (
    "",
    "?extensions=true",
    "?jurisdiction_id={jurisdiction}&extensions=true&page_size=1000&page=1&include=all&detail=full",
    "?service_request_id={ids}&extensions=true",
    "?status=open,closed&start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z",
    "?updated_after=2000-01-01T00:00:00Z&updated_before=2100-01-01T00:00:00Z&extensions=true",
    # a place and a service (duplicates, services here): tests post GRAFFITI at this point
    "?service_code=DPW-GRAFFITI&lat=34.0239&long=-118.1720&extensions=true",
)
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Fetched:
    """One GET: which rule, which URL, and what came back."""

    rule: str
    url: str
    response: TestResponse


def get_rules(app: Flask) -> list[Rule]:
    """Every rule of the app that answers GET."""
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())]


def fill(rule: Rule, values: Mapping[str, Sequence[str]]) -> Iterator[str]:
    """Paths of a rule with every combination of known values (all values for an unknown argument)."""
    names = _ARGUMENT.findall(rule.rule)
    fallback = sorted({v for vs in values.values() for v in vs})
    choices = [values.get(name) or fallback for name in names]
    for combo in itertools.product(*choices):
        chosen = dict(zip(names, combo, strict=True))
        yield _ARGUMENT.sub(lambda m, chosen=chosen: chosen[m.group(1)], rule.rule)


def crawl(app: Flask, values: Mapping[str, Sequence[str]], jurisdiction: str) -> list[Fetched]:
    """GET every route with every fill and every query; `values` maps path argument names to real values."""
    client = app.test_client()
    ids = ",".join(values.get("service_request_id", ()))
    fetched = []
    for rule in get_rules(app):
        for path in fill(rule, {"fmt": FORMATS, **values}):
            for query in QUERIES:
                url = path + query.format(jurisdiction=jurisdiction, ids=ids)
                fetched.append(Fetched(rule.rule, url, client.get(url)))
    return fetched
