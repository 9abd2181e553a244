"""`open311 export` (docs/open-data.md): the files hold exactly the public feed's rows and fields, no contact
data, a valid Frictionless data package, incremental runs, and /data/ with ETag and Range plus /data.json."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from open311.cli import main
from open311.core.dates import parse_datetime
from open311.feeds.snapshots import data_root, export
from open311.intake.keys import create_key
from open311.intake.moderation import hide_request
from tests.conftest import Clock
from tests.helpers import GRAFFITI

B = "/open311/v2"
CANARY = {"email": "canary-export@example.org", "phone": "555-0199-4242", "first_name": "Canaryfirst",
          "last_name": "Canarylast"}
SPEC = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
        "agency_responsible", "service_notice", "address", "address_id", "zipcode", "lat", "long", "media_url")
DATES = ("requested_datetime", "updated_datetime", "expected_datetime")


class Seeded:
    """The gateway with requests in two calendar years, one of them hidden by moderation."""

    def __init__(self, app: Flask, clock: Clock) -> None:
        self.app, self.clock = app, clock
        self.gateway = app.extensions["open311"]
        self.client: FlaskClient = app.test_client()
        with self.gateway.session() as session:
            _, self.key = create_key(session, "lacounty.gov", "exporter", clock(), rate_limit="1000/minute")
        self.ids: list[str] = []

    def post(self, when: datetime, description: str) -> str:
        self.clock.now = when
        form = {**GRAFFITI, **CANARY, "api_key": self.key, "description": description,
                "attribute[surface_type]": "wall", "attribute[property_type]": "public"}
        posted = self.client.post(f"{B}/requests.json", data=form)
        assert posted.status_code == 200, posted.data
        self.ids.append(posted.json[0]["service_request_id"])
        return self.ids[-1]

    def export(self, folder: Path, **options: Any) -> Any:
        return export(self.gateway.sessions, self.gateway.config.jurisdictions["lacounty.gov"], folder,
                      self.clock(), license_url="https://creativecommons.org/publicdomain/zero/1.0/", **options)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def seeded(make_app: Callable[..., Flask], clock: Clock) -> Seeded:
    town = Seeded(make_app(), clock)
    for day in (3, 9, 21):
        town.post(datetime(2025, 11, day, 18, 0, tzinfo=UTC), f"Tag number {day} on the wall")
    town.post(datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "=HYPERLINK(\"x\") looks like a formula")  # 2025 locally
    for hour in (1, 5, 9):
        town.post(datetime(2026, 3, 8, hour, 15, tzinfo=UTC), f"Spray paint {hour}")
    hidden = town.post(datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "SECRET-TEXT-TO-HIDE near 12 Elm St")
    with town.gateway.session() as session:
        hide_request(session, int(hidden), "abuse", town.clock(), config=town.gateway.config)
    town.clock.now = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    return town


def feed(client: FlaskClient, fmt: str, start: str, end: str) -> Any:
    answer = client.get(f"{B}/requests.{fmt}", query_string={"start_date": start, "end_date": end,
                                                            "extensions": "true", "page_size": "1000"})
    assert answer.status_code == 200, answer.data
    return answer.json if fmt == "json" else answer.get_data(as_text=True)


def test_the_files_hold_exactly_the_public_feed(seeded: Seeded, out: Path) -> None:
    report = seeded.export(out)
    assert sorted(report.written) == ["requests-2025", "requests-2026", "requests-last-90-days"]
    window = ("2025-10-15T00:00:00-07:00", "2026-01-01T00:00:00-08:00")   # every 2025 request, < 90 days
    entries = {e["service_request_id"]: e for e in feed(seeded.client, "json", *window)}
    assert len(entries) == 4

    table = pq.read_table(out / "requests-2025.parquet").to_pylist()
    assert sorted(r["service_request_id"] for r in table) == sorted(entries)
    for row in table:
        entry = entries[row["service_request_id"]]
        assert {k: row[k] for k in SPEC} == {k: entry[k] for k in SPEC}
        for name in DATES:   # Parquet holds UTC instants; the feed writes the County's offset
            assert row[name] == (parse_datetime(entry[name], UTC) if entry[name] else None)
        extended = entry["extended_attributes"]
        assert (row["department"], row["channel"], row["closure_code"]) == (
            extended["department"], extended["channel"], extended["closure_code"])
        assert json.loads(row["attributes"]) == {a["code"]: a["value"] for a in extended["attributes"]}

    # CSV: cell for cell the feed's own requests.csv (same formula neutralising), plus the extensions' columns
    ours = list(csv.DictReader(io.StringIO((out / "requests-2025.csv").read_text(encoding="utf-8"))))
    theirs = {r["service_request_id"]: r for r in csv.DictReader(io.StringIO(feed(seeded.client, "csv", *window)))}
    assert len(ours) == len(theirs) == 4
    for row in ours:
        assert {k: row[k] for k in theirs[row["service_request_id"]]} == theirs[row["service_request_id"]]
    assert any(r["description"].startswith("'=HYPERLINK") for r in ours)

    # GeoJSON: the feed's features, same geometry and properties
    features = json.loads((out / "requests-2025.geojson").read_text(encoding="utf-8"))["features"]
    theirs_geo = {f["id"]: f for f in json.loads(feed(seeded.client, "geojson", *window))["features"]}
    for feature in features:
        assert feature["geometry"] == theirs_geo[feature["id"]]["geometry"]
        assert {k: feature["properties"][k] for k in theirs_geo[feature["id"]]["properties"]} == \
            theirs_geo[feature["id"]]["properties"]


def test_no_contact_data_and_no_hidden_text_in_any_file(seeded: Seeded, out: Path) -> None:
    seeded.export(out)
    files = sorted(p for p in out.iterdir() if p.is_file())
    assert len(files) == 11   # 3 snapshots x 3 formats, the data package and the manifest
    for path in files:
        data = path.read_bytes()
        for value in (*CANARY.values(), "SECRET-TEXT-TO-HIDE", "12 Elm St"):
            assert value.encode() not in data, (path.name, value)
    rows = pq.read_table(out / "requests-2026.parquet").to_pylist()
    assert len(rows) == 4 and {r["description"] for r in rows if r["service_request_id"] == seeded.ids[-1]} == {None}


def test_the_data_package_validates_with_frictionless(seeded: Seeded, out: Path) -> None:
    from frictionless import Package

    seeded.export(out)
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["format"] for r in package["resources"]} == {"parquet", "csv", "geojson"}
    assert package["licenses"][0]["path"].startswith("https://creativecommons.org/")
    report = Package(str(out / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    assert [t.stats.get("rows") for t in report.tasks if t.name == "requests-2025-csv"] == [4]


def test_a_second_run_rewrites_only_what_changed(seeded: Seeded, out: Path) -> None:
    seeded.export(out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("requests-*")}
    again = seeded.export(out)
    assert again.written == [] and sorted(again.kept) == ["requests-2025", "requests-2026", "requests-last-90-days"]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("requests-*")} == stamps
    seeded.post(datetime(2026, 3, 10, 17, 0, tzinfo=UTC), "A new one today")
    seeded.clock.now = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    third = seeded.export(out)
    assert sorted(third.written) == ["requests-2026", "requests-last-90-days"] and third.kept == ["requests-2025"]
    assert (out / "requests-2025.parquet").stat().st_mtime_ns == stamps["requests-2025.parquet"]
    assert pq.read_metadata(out / "requests-2026.parquet").num_rows == 5


def test_the_command_writes_into_the_served_folder_with_progress(
        seeded: Seeded, app_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPEN311_DATABASE_URL", app_database_url)
    monkeypatch.setenv("OPEN311_DATA_DIR", str(tmp_path / "served"))
    done = CliRunner().invoke(main, ["export"])
    assert done.exit_code == 0, done.output
    assert re.search(r"lacounty.gov: \d file set\(s\) written \(\d+ rows\)", done.stdout)
    assert "rows written" in done.stderr                      # the progress line
    assert (tmp_path / "served" / "lacounty.gov" / "datapackage.json").is_file()
    refused = CliRunner().invoke(main, ["export", "--jurisdiction", "sandbox.lacounty.gov"])
    assert refused.exit_code == 2 and "is a sandbox" in refused.output


def dcat_schema() -> dict[str, Any]:
    """The DCAT-US v1.1 (Project Open Data) fields data.json must have, written from the specification."""
    iso = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}"}
    uri = {"type": "string", "pattern": r"^https?://"}
    distribution = {"type": "object", "required": ["@type", "downloadURL", "mediaType"], "properties": {
        "@type": {"const": "dcat:Distribution"}, "downloadURL": uri, "conformsTo": uri,
        "mediaType": {"type": "string", "pattern": r"^[-\w]+/[-\w.+]+$"}}}
    dataset = {"type": "object", "required": ["@type", "title", "description", "keyword", "modified", "publisher",
                                              "contactPoint", "identifier", "accessLevel", "license", "distribution"],
               "properties": {
                   "@type": {"const": "dcat:Dataset"}, "title": {"type": "string", "minLength": 1},
                   "description": {"type": "string", "minLength": 1},
                   "keyword": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                   "modified": iso, "identifier": {"type": "string", "minLength": 1},
                   "accessLevel": {"enum": ["public", "restricted public", "non-public"]}, "license": uri,
                   "publisher": {"type": "object", "required": ["@type", "name"]},
                   "contactPoint": {"type": "object", "required": ["@type", "fn", "hasEmail"],
                                    "properties": {"hasEmail": {"type": "string", "pattern": r"^mailto:[\w.+-]+@"}}},
                   "distribution": {"type": "array", "minItems": 1, "items": distribution}}}
    return {"type": "object", "required": ["@type", "conformsTo", "dataset"], "properties": {
        "@type": {"const": "dcat:Catalog"}, "conformsTo": {"const": "https://project-open-data.cio.gov/v1.1/schema"},
        "dataset": {"type": "array", "items": dataset}}}


def test_data_json_and_the_files_over_http(seeded: Seeded) -> None:
    gateway = seeded.gateway
    seeded.export(data_root(seeded.app.config, gateway.instance_path) / "lacounty.gov")
    client = seeded.client
    catalog = client.get("/data.json").json
    jsonschema.validate(catalog, dcat_schema())
    (dataset,) = catalog["dataset"]
    urls = [d["downloadURL"] for d in dataset["distribution"]]
    assert len(urls) == 10 and all(u.startswith("http://localhost/data/lacounty.gov/") for u in urls)
    assert dataset["contactPoint"]["hasEmail"] == "mailto:open311@example.org"   # the discovery contact's

    path = "/data/lacounty.gov/requests-2026.parquet"
    with client.get(path) as whole:   # closed like a WSGI server closes it (the file is streamed)
        assert whole.status_code == 200 and whole.headers["ETag"] and whole.headers["Accept-Ranges"] == "bytes"
        body, etag = whole.data, whole.headers["ETag"]
    with client.get(path, headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    with client.get(path, headers={"Range": "bytes=-8"}) as tail:     # a Parquet reader reads the footer first
        assert tail.status_code == 206 and tail.data == body[-8:] and tail.data.endswith(b"PAR1")
        assert tail.headers["Content-Range"] == f"bytes {len(body) - 8}-{len(body) - 1}/{len(body)}"
    with client.get(path, headers={"Range": "bytes=4-99"}) as middle:
        assert middle.status_code == 206 and middle.data == body[4:100]
    with client.get(path, headers={"Range": f"bytes={len(body) + 10}-"}) as beyond:
        assert beyond.status_code == 416
    for missing in ("/data/lacounty.gov/nope.csv", "/data/lacounty.gov/.manifest.json.tmp",
                    "/data/sandbox.lacounty.gov/datapackage.json", "/data/lacounty.gov/..%2Fsecret"):
        assert client.get(missing).status_code == 404, missing
    assert client.get("/data/").json["packages"][0]["datapackage"].endswith("/data/lacounty.gov/datapackage.json")
