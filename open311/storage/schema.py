"""Schema management with Alembic: upgrade to head, and compare models with the migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from open311.storage.models import Base
from open311.storage.spatial import GRID_COLUMN, GRID_INDEX, RTREE

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations, carrying the engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (head by default) in one transaction."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def current_heads(engine: Engine) -> tuple[str, ...]:
    """Every revision the database is at (one unless branches are applied), empty for a new database."""
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def _not_spatial(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out the spatial index (storage/spatial.py): made by DDL of its own, not by the models."""
    if type_ == "table" and name is not None and name.startswith(RTREE):
        return False
    return not (type_ == "column" and name == GRID_COLUMN) and not (type_ == "index" and name == GRID_INDEX)


def differences(engine: Engine) -> list[Any]:
    """What the models have that the migrated database lacks (or the reverse); empty when in sync. The spatial
    index's own objects (R*Tree tables, the grid's column and index) are not the models' and are left out."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": _not_spatial})
        diffs: list[Any] = compare_metadata(context, Base.metadata)
        return diffs
