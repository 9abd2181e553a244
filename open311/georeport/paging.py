"""Paging metadata in response headers (Link, X-Total-Count ...), so bodies stay spec-shaped."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from open311.feeds.request_query import RequestPage, RequestQuery
from open311.georeport.origin import public_request_url


def url_with(**changes: str | int | None) -> str:
    """The current URL under the public root with some query parameters replaced (None removes one)."""
    return _url_with(public_request_url(), list(request.args.items(multi=True)), changes)


def _url_with(base: str, current: list[tuple[str, str]], changes: dict[str, str | int | None]) -> str:
    args = [(k, v) for k, v in current if k not in changes]
    args += [(k, str(v)) for k, v in changes.items() if v is not None]
    query = urlencode(args)
    return base + (f"?{query}" if query else "")


# What a paging link sets; the rest of the query string is the same in every link of a page.
_PAGING = ("after", "page", "page_size")


def paging_headers(query: RequestQuery, page: RequestPage, count_cap: int) -> dict[str, str]:
    """Link rel=next (a cursor: stable while rows change), prev/first, and counts when known."""
    headers: dict[str, str] = {"X-Page-Size": str(query.page_size)}
    links: list[str] = []
    base = public_request_url()
    # The other parameters encoded once for every link (the same text _url_with gives: page and after are never
    # both in a valid query, so every link drops all three).
    kept = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in _PAGING])

    def url_with(**changes: str | int | None) -> str:
        assert set(changes) <= set(_PAGING)
        query = "&".join(part for part in (kept, urlencode([(k, str(v)) for k, v in changes.items()
                                                            if v is not None])) if part)
        return base + (f"?{query}" if query else "")

    if page.next is not None:
        nxt = url_with(after=page.next.encode(), page=None, page_size=query.page_size)
        links.append(f'<{nxt}>; rel="next"')
        headers["X-Next-Page-URL"] = nxt
    if query.page is not None:
        headers["X-Page"] = str(query.page)
        if query.page > 1:
            prev = url_with(page=query.page - 1, page_size=query.page_size)
            links.append(f'<{prev}>; rel="prev"')
            headers["X-Previous-Page-URL"] = prev
    if query.paged:
        links.append(f'<{url_with(page=None, after=None, page_size=query.page_size)}>; rel="first"')
    if page.total is not None:
        if page.total <= count_cap:
            headers["X-Total-Count"] = str(page.total)
            headers["X-Page-Count"] = str(max(1, -(-page.total // query.page_size)))
        else:
            headers["X-Total-Count-At-Least"] = str(count_cap + 1)
    if links:
        headers["Link"] = ", ".join(links)
    return headers
