"""Alembic owns the schema: migrations reach exactly the models, and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from open311.db import make_engine
from open311.schema import alembic_config, current_revision, differences, upgrade


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
