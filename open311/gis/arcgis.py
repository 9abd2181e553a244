"""Reading a layer of an ArcGIS REST FeatureServer or MapServer with its documented query API.

Pages by `resultOffset`/`resultRecordCount` (never above the layer's maxRecordCount) while the server says
`exceededTransferLimit`, or by OBJECTID ranges from `returnIdsOnly` when the layer cannot page; always
`outSR=4326`; GeoJSON when the layer offers it, else esriJSON. Each page is parsed by GDAL (through geopandas),
whose ESRIJSON driver also sorts esriJSON rings into outer rings and holes, so nothing of that is written here.
Esri reports many errors inside a 200 answer (`{"error": {"code": ...}}`): they are errors. Timeouts,
connection failures, 5xx and Esri codes >= 500 are retried with exponential backoff; other failures stop the
pull at once. Nothing here writes anything: the caller stores the features once the whole pull is complete.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from open311.gis.layers import LayerError

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

RETRIED_STATUS = {429, 500, 502, 503, 504}


class ArcGisError(LayerError):
    """The layer could not be read: the message names the layer and what failed."""


class _Passing(ArcGisError):
    """A failure worth retrying (a timeout, a 5xx, an Esri error >= 500)."""


@dataclass(frozen=True)
class PullOptions:
    """How a layer is read."""

    where: str = "1=1"
    timeout: float = 30.0             # seconds per answer
    retries: int = 3                  # further tries of an answer that failed for a passing reason
    backoff: float = 0.5              # seconds before the first retry, doubled each time
    page_size: int | None = None      # features per page; None: the layer's maxRecordCount (never above it)
    max_bytes: int = 200_000_000      # the largest answer read


@dataclass(frozen=True)
class Pulled:
    """A complete read of a layer."""

    url: str
    name: str
    features: int
    pages: int
    method: str       # offset | objectid
    format: str       # geojson | esrijson
    data: bytes       # one GeoJSON FeatureCollection in WGS84, every feature with its properties


def _layer_url(url: str) -> str:
    """The layer URL without a query or a trailing slash; only http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ArcGisError(f"{url}: not an http(s) ArcGIS REST layer URL.")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _read(http: requests.Session, url: str, params: dict[str, Any], options: PullOptions) -> bytes:
    """One answer's bytes, or a failure saying what went wrong."""
    try:
        with http.get(url, params=params, timeout=options.timeout, stream=True, allow_redirects=False) as answer:
            if answer.is_redirect:
                raise ArcGisError(f"{url}: redirected to {answer.headers.get('Location')}; configure that URL.")
            if answer.status_code in RETRIED_STATUS:
                raise _Passing(f"{url}: HTTP {answer.status_code}.")
            if answer.status_code != 200:
                raise ArcGisError(f"{url}: HTTP {answer.status_code}: {answer.text[:200]!r}.")
            body = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                body.extend(chunk)
                if len(body) > options.max_bytes:
                    raise ArcGisError(f"{url}: answer larger than {options.max_bytes:,} bytes.")
    except requests.Timeout:
        raise _Passing(f"{url}: no answer within {options.timeout:g} s.") from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise _Passing(f"{url}: connection failed: {exc}") from None
    except requests.RequestException as exc:
        raise ArcGisError(f"{url}: {exc}") from None
    return bytes(body)


def _json(body: bytes, url: str) -> dict[str, Any]:
    """An answer as a JSON object; an Esri error object is raised (retried when its code is >= 500)."""
    try:
        found = json.loads(body)
    except ValueError:
        raise ArcGisError(f"{url}: the answer is not JSON (starts {body[:80]!r}).") from None
    if not isinstance(found, dict):
        raise ArcGisError(f"{url}: the answer is not a JSON object.")
    error = found.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        details = "; ".join(str(d) for d in error.get("details") or [] if d)
        text = f"{url}: ArcGIS error {code}: {error.get('message') or 'no message'}" + (f" ({details})" if details
                                                                                          else "") + "."
        raise (_Passing if isinstance(code, int) and code >= 500 else ArcGisError)(text)
    return found


def _ask(http: requests.Session, url: str, params: dict[str, Any], options: PullOptions) -> bytes:
    """An answer that parsed as JSON without an error, after as many retries as allowed for passing failures."""
    for attempt in range(options.retries + 1):
        try:
            body = _read(http, url, params, options)
            _json(body, url)
            return body
        except _Passing as exc:
            if attempt == options.retries:
                raise ArcGisError(f"{exc} (gave up after {options.retries + 1} tries)") from None
            time.sleep(options.backoff * 2 ** attempt)
    raise AssertionError("unreachable")


def _page_frame(page: dict[str, Any], url: str) -> GeoDataFrame:
    """A page of features (GeoJSON or esriJSON) as a frame, by GDAL. The transfer-limit flag is taken out first:
    seeing it, GDAL's drivers would try to fetch the next page themselves."""
    import geopandas

    page = {k: v for k, v in page.items() if k not in ("exceededTransferLimit", "properties")}
    try:
        return geopandas.read_file(io.BytesIO(json.dumps(page).encode("utf-8")))
    except Exception as exc:  # GDAL raises several types; all mean "not a readable page of features"
        raise ArcGisError(f"{url}: cannot read the page as features: {exc}") from None


def _exceeded(page: dict[str, Any]) -> bool:
    """exceededTransferLimit, at the top (esriJSON) or in the GeoJSON answer's `properties`."""
    return bool(page.get("exceededTransferLimit") or (page.get("properties") or {}).get("exceededTransferLimit"))


def _object_id_field(meta: dict[str, Any], url: str) -> str:
    """The layer's OBJECTID field."""
    found = meta.get("objectIdField") or next(
        (f.get("name") for f in meta.get("fields") or [] if f.get("type") == "esriFieldTypeOID"), None)
    if not found:
        raise ArcGisError(f"{url}: the layer names no objectIdField.")
    return str(found)


def pull_layer(url: str, http: requests.Session, options: PullOptions | None = None,
               progress: Callable[[int, int | None], None] | None = None) -> Pulled:
    """Read every feature of a layer matching `options.where`; raise ArcGisError on any failure."""
    import pandas

    options = options or PullOptions()
    layer = _layer_url(url)
    query = f"{layer}/query"
    meta = _json(_ask(http, layer, {"f": "json"}, options), layer)
    if meta.get("type") not in (None, "Feature Layer"):
        raise ArcGisError(f"{layer}: a {meta.get('type')}, not a Feature Layer.")
    oid = _object_id_field(meta, layer)
    limit = max(1, int(meta.get("maxRecordCount") or 1000))
    size = min(options.page_size or limit, limit)
    formats = str(meta.get("supportedQueryFormats") or "").lower()
    fmt = "geojson" if "geojson" in formats else "json"
    paging = bool((meta.get("advancedQueryCapabilities") or {}).get("supportsPagination"))
    base = {"where": options.where, "outFields": "*", "outSR": "4326", "returnGeometry": "true", "f": fmt}
    total = _json(_ask(http, query, {"where": options.where, "returnCountOnly": "true", "f": "json"}, options),
                  query).get("count")
    if not isinstance(total, int):
        raise ArcGisError(f"{query}: the count answer has no count.")
    frames: list[GeoDataFrame] = []
    done = pages = 0

    def take(body: bytes) -> dict[str, Any]:
        nonlocal done, pages
        page = _json(body, query)
        if page.get("features"):
            frame = _page_frame(page, query)
            frames.append(frame)
            done += len(frame)
        pages += 1
        if progress is not None:
            progress(done, total)
        return page

    if paging:
        while done < total or not pages:
            page = take(_ask(http, query, {**base, "orderByFields": f"{oid} ASC", "resultOffset": str(done),
                                           "resultRecordCount": str(size)}, options))
            if not page.get("features") or (not _exceeded(page) and done >= total):
                break
    else:
        ids = _json(_ask(http, query, {"where": options.where, "returnIdsOnly": "true", "f": "json"}, options),
                    query).get("objectIds") or []
        ordered = sorted(int(i) for i in ids)
        for start in range(0, len(ordered), size):
            low, high = ordered[start], ordered[min(start + size, len(ordered)) - 1]
            take(_ask(http, query, {**base, "where": f"({options.where}) AND {oid} >= {low} AND {oid} <= {high}"},
                      options))
    return _assemble(layer, meta, frames, oid, total, pages, "offset" if paging else "objectid",
                     "geojson" if fmt == "geojson" else "esrijson", pandas)


def _assemble(layer: str, meta: dict[str, Any], frames: list[GeoDataFrame], oid: str, total: int, pages: int,
              method: str, fmt: str, pandas: Any) -> Pulled:
    """Check the pages add up to the layer (no feature twice, none missing) and join them as one GeoJSON."""
    import geopandas

    frame = geopandas.GeoDataFrame(pandas.concat(frames, ignore_index=True), crs="EPSG:4326") if frames else None
    count = 0 if frame is None else len(frame)
    if frame is not None and oid in frame.columns and frame[oid].duplicated().any():
        repeated = sorted(frame.loc[frame[oid].duplicated(), oid].astype(str).unique())[:5]
        raise ArcGisError(f"{layer}: features sent twice ({oid} {', '.join(repeated)}): the layer changed during "
                          "the pull, or the server pages badly; try again.")
    if count != total:
        raise ArcGisError(f"{layer}: the layer counts {total} features but {count} arrived: it changed during the "
                          "pull; try again.")
    if frame is None:
        raise ArcGisError(f"{layer}: the layer has no features (where the query matched nothing).")
    return Pulled(layer, str(meta.get("name") or layer.rsplit("/", 2)[-2]), count, pages, method, fmt,
                  frame.to_json(drop_id=True).encode("utf-8"))
