"""Alembic owns the schema: migrations reach exactly the models, keep data, and downgrade cleanly.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (each test on an empty schema of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect

from open311.intake.moderation import unhide_request
from open311.storage.column_types import UTCDateTime
from open311.storage.db import make_engine, make_session_factory
from open311.storage.models import ApiKey
from open311.storage.schema import alembic_config, current_revision, differences, upgrade
from tests.helpers import json_of

EARLY = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_upgrade_from_empty_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head
    assert differences(engine) == []
    upgrade(engine)  # idempotent
    assert current_revision(engine) == head
    engine.dispose()


def test_every_revision_upgrades_and_downgrades_in_order(database_url: str) -> None:
    engine = make_engine(database_url)
    cfg = alembic_config(engine)
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    assert revisions[0].down_revision is None
    for rev in revisions:
        upgrade(engine, rev.revision)
        assert current_revision(engine) == rev.revision
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert differences(engine) == []
    engine.dispose()


def _first_revision_rows(connection: sa.Connection) -> None:
    """Data as the first release wrote it (only columns that existed then)."""
    keys = sa.table("api_keys", *(sa.column(c) for c in ("id", "jurisdiction_id", "name", "key_hash", "prefix")),
                    sa.column("created_at", UTCDateTime()))
    requests = sa.table(
        "service_requests",
        *(sa.column(c) for c in ("id", "jurisdiction_id", "service_code", "service_name", "department", "status",
                                 "description", "lat", "long", "token", "api_key_id")),
        sa.column("attributes", sa.JSON()),
        sa.column("requested_datetime", UTCDateTime()), sa.column("updated_datetime", UTCDateTime()))
    contacts = sa.table("request_contacts", sa.column("request_id"), sa.column("email"))
    connection.execute(keys.insert().values(id=1, jurisdiction_id="lacounty.gov", name="early app",
                                            key_hash="0" * 64, prefix="o311_early", created_at=EARLY))
    connection.execute(requests.insert().values(
        id=1, jurisdiction_id="lacounty.gov", service_code="DPW-GRAFFITI", service_name="Graffiti Abatement",
        department="DPW", status="open", description="written by the first release", lat=34.02, long=-118.17,
        token="early-token", api_key_id=1, attributes={"surface_type": "wall"},
        requested_datetime=EARLY, updated_datetime=EARLY))
    connection.execute(contacts.insert().values(request_id=1, email="early@example.invalid"))


def test_data_of_the_first_revision_survives_the_upgrade_to_head(
        database_url: str, make_app: Callable[..., Flask]) -> None:
    engine = make_engine(database_url)
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    first = next(r for r in scripts.walk_revisions() if r.down_revision is None).revision
    upgrade(engine, first)
    with engine.begin() as connection:
        _first_revision_rows(connection)
    upgrade(engine)
    assert current_revision(engine) == scripts.get_current_head()
    assert differences(engine) == []
    with make_session_factory(engine)() as session, session.begin():
        key = session.get(ApiKey, 1)
        assert key is not None and key.name == "early app" and key.created_at == EARLY
        assert key.rate_limit is None  # added later: the configured default applies
    engine.dispose()
    app = make_app(OPEN311_CREATE_SCHEMA=False, OPEN311_CLOCK=lambda: EARLY)
    [row] = json_of(app.test_client().get("/open311/v2/requests/1.json"))
    assert row["description"] == "written by the first release"
    assert row["requested_datetime"] == "2026-01-05T00:00:00-08:00"


def test_requests_hidden_by_an_older_version_lose_their_address_and_answers(
        database_url: str, make_app: Callable[..., Flask]) -> None:
    # Before issue 16, hiding moved only description and media_url aside: address_string and the answers
    # stayed public. Revision 1600 withdraws them for every request hidden then; unhide restores all.
    engine = make_engine(database_url)
    upgrade(engine, "1500")
    requests = sa.table(
        "service_requests",
        *(sa.column(c) for c in ("id", "jurisdiction_id", "service_code", "service_name", "department", "status",
                                 "lat", "long", "token", "address", "hidden_reason")),
        sa.column("attributes", sa.JSON()), sa.column("hidden_content", sa.JSON()),
        sa.column("hidden_at", UTCDateTime()),
        sa.column("requested_datetime", UTCDateTime()), sa.column("updated_datetime", UTCDateTime()))
    common = {"jurisdiction_id": "lacounty.gov", "service_code": "DPW-DUMPING", "service_name": "Illegal Dumping",
              "department": "DPW", "status": "open", "lat": 34.02, "long": -118.17,
              "requested_datetime": EARLY, "updated_datetime": EARLY}
    with engine.begin() as connection:
        connection.execute(requests.insert().values(
            id=1, token="old-hidden", address="canary-address 12 Main St", hidden_reason="abuse",
            attributes={"vehicle_description": "canary-answer"}, hidden_at=EARLY,
            hidden_content={"description": "canary-description", "media_url": None}, **common))
        connection.execute(requests.insert().values(
            id=2, token="visible", address="4801 E 3rd St", attributes={"vehicle_description": "a van"}, **common))
    upgrade(engine)
    assert differences(engine) == []
    engine.dispose()
    app = make_app(OPEN311_CREATE_SCHEMA=False, OPEN311_CLOCK=lambda: EARLY)
    client = app.test_client()
    for path in ("/open311/v2/requests.json?extensions=true", "/open311/v2/requests/1.json?extensions=true",
                 "/open311/v2/requests.xml?extensions=true", "/open311/v2/requests.csv"):
        assert b"canary" not in client.get(path).data, path
    assert b"a van" in client.get("/open311/v2/requests/2.json?extensions=true").data  # never hidden: as it was
    services = app.extensions["open311"]
    with services.session() as session:
        row = unhide_request(session, 1, EARLY)
        assert row is not None and row.address == "canary-address 12 Main St"
        assert row.attributes == {"vehicle_description": "canary-answer"}
        assert row.description == "canary-description"


def test_a_postgis_era_database_gets_the_grid(database_url: str) -> None:
    """PostgreSQL at 2100 as it was first shipped (a geometry column `geom` and its GiST index, no grid) is
    converted by 2110: the old column and index gone, every row's cell computed by the database."""
    from open311.storage import spatial

    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("PostgreSQL only: nothing changes on SQLite (its R*Tree stays)")
    upgrade(engine, "2100")
    with engine.begin() as connection:   # 2100's first form, without needing PostGIS for the test
        spatial.uninstall(connection)
        connection.exec_driver_sql("ALTER TABLE service_requests ADD COLUMN geom double precision")
        connection.exec_driver_sql(f"CREATE INDEX {spatial.LEGACY_GEOM_INDEX} ON service_requests (geom)")
        connection.execute(sa.text(
            "INSERT INTO service_requests (jurisdiction_id, service_code, service_name, department, status, "
            "requested_datetime, updated_datetime, token, attributes, lat, long) VALUES ('lacounty.gov', "
            "'DPW-GRAFFITI', 'Graffiti', 'DPW', 'open', :at, :at, 'legacy', '{}', 34.05, -118.25), "
            "('lacounty.gov', 'DPW-GRAFFITI', 'Graffiti', 'DPW', 'open', :at, :at, 'nowhere', '{}', NULL, NULL)"),
            {"at": EARLY})
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("service_requests")}
    indexes = {i["name"] for i in inspect(engine).get_indexes("service_requests")}
    assert "geom" not in columns and spatial.LEGACY_GEOM_INDEX not in indexes
    assert spatial.GRID_COLUMN in columns and spatial.GRID_INDEX in indexes
    with engine.connect() as connection:
        cells = dict(connection.execute(sa.text(f"SELECT token, {spatial.GRID_COLUMN} FROM service_requests")).all())
        assert spatial.detect(connection).kind == "grid"
    assert cells == {"legacy": spatial.cell_of(34.05, -118.25), "nowhere": None}
    assert differences(engine) == []
    engine.dispose()
