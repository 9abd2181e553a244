"""create_schema (OPEN311_CREATE_SCHEMA, the tests' and the demo's databases): the models' tables, made at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from open311.storage.db import create_schema, make_engine
from open311.storage.schema import differences


def test_the_schema_is_the_models_and_a_second_call_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    assert differences(engine) == []
    create_schema(engine)
    assert differences(engine) == []
    engine.dispose()


def test_a_failure_part_way_leaves_no_table_behind(database_url: str) -> None:
    # An index of ours whose name is already taken (by another table's index) fails after some tables were made.
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE squatter (x INTEGER)")
        connection.exec_driver_sql("CREATE INDEX ix_requests_jur_status ON squatter (x)")
    with pytest.raises(DatabaseError):
        create_schema(engine)
    assert sa.inspect(engine).get_table_names() == ["squatter"]
    engine.dispose()
