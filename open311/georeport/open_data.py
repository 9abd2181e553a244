"""The published snapshots over HTTP: /data/<jurisdiction>/<file> (ETag, Range) and the DCAT-US catalog /data.json.

`open311 export` writes the files (docs/open-data.md); this only serves them: read from the data folder as they
are, revalidated with their ETag, ranges answered with 206 (a Parquet reader fetches the footer first).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.security import safe_join

from open311.errors import NotFound
from open311.feeds.dcat import catalog, contact_email, dataset
from open311.feeds.snapshots import data_root
from open311.georeport.app import current_services
from open311.georeport.origin import production_root

bp = Blueprint("open_data", __name__)
MAX_AGE = 300   # seconds a cache may keep a file before it revalidates (a daily export changes them)


def _production(jurisdiction_id: str) -> None:
    """404 unless a production jurisdiction of this gateway (a sandbox's data is never published)."""
    found = current_services().config.jurisdictions.get(jurisdiction_id)
    if found is None or found.sandbox_of is not None:
        raise NotFound(f"No published data for {jurisdiction_id[:100]!r}.")


@bp.get("/data/<jurisdiction_id>/<name>")
def data_file(jurisdiction_id: str, name: str) -> Response:
    """One exported file, with ETag, Last-Modified and Range support."""
    _production(jurisdiction_id)
    gateway = current_services()
    folder = data_root(current_app.config, gateway.instance_path) / jurisdiction_id
    found = safe_join(str(folder), name)
    if found is None or name.startswith(".") or not (folder / name).is_file():
        raise NotFound(f"{name[:100]!r} is not a published file (run open311 export).")
    response = send_from_directory(folder, name, conditional=False, etag=True, max_age=MAX_AGE)
    try:
        response.make_conditional(request.environ, accept_ranges=True, complete_length=(folder / name).stat().st_size)
    except RequestedRangeNotSatisfiable:   # 416: the file send_file opened is not going to be sent
        response.close()
        raise
    if response.status_code == 304:   # nor on a 304
        response.close()
        response.response = []
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/data/")
def data_index() -> Response:
    """Where the files of each production jurisdiction are: its data package and folder."""
    gateway = current_services()
    root = production_root()
    entries = [{"jurisdiction_id": j.id, "datapackage": f"{root}/data/{j.id}/datapackage.json"}
               for j in gateway.config.jurisdictions.values() if j.sandbox_of is None
               and (data_root(current_app.config, gateway.instance_path) / j.id / "datapackage.json").is_file()]
    return jsonify(catalog=f"{root}/data.json", packages=entries)


@bp.get("/data.json")
def dcat_catalog() -> Response:
    """The DCAT-US v1.1 catalog of every exported dataset."""
    gateway = current_services()
    root = production_root()
    settings = current_app.config
    email = contact_email(str(settings.get("OPEN311_DATA_CONTACT_EMAIL") or ""), gateway.config.contact)
    folder = data_root(settings, gateway.instance_path)
    datasets = (dataset(j, folder / j.id, f"{root}/data/{j.id}", license_url=str(settings["OPEN311_DATA_LICENSE"]),
                        email=email)
                for j in gateway.config.jurisdictions.values() if j.sandbox_of is None)
    response = jsonify(catalog((d for d in datasets if d is not None), f"{root}/data.json"))
    response.headers["Cache-Control"] = f"max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def init_app(app: Flask) -> None:
    """Register /data/ and /data.json."""
    app.register_blueprint(bp)
