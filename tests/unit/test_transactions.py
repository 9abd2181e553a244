"""storage.db's transaction pair (writing, reading), the padded IN chunks, and the number parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from open311.core.numbers import BETWEEN, FROM_TO, Wording, number_in
from open311.storage.db import make_engine, make_session_factory, padded_chunks, padded_values, reading, writing


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'tx.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v INTEGER)"))
    return engine


def values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row.v for row in connection.execute(text("SELECT v FROM t ORDER BY v"))]


def test_writing_commits_at_the_end_and_rolls_back_on_an_error(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        with writing(session) as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(ZeroDivisionError), writing(session) as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
            _ = 1 / 0
    assert values(engine) == [1]


def test_writing_refuses_to_run_inside_an_open_transaction(engine: Engine) -> None:
    with make_session_factory(engine)() as session, session.begin(), pytest.raises(RuntimeError, match="already"), \
            writing(session):
        pass


def test_reading_joins_an_open_session_transaction_else_uses_its_own_connection(engine: Engine) -> None:
    session: Session
    with make_session_factory(engine)() as session:
        with session.begin():
            session.connection().execute(text("INSERT INTO t VALUES (3)"))
            with reading(session, single=True) as connection:   # sees the caller's uncommitted row
                assert connection is session.connection()
                assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
        with reading(session) as connection:
            assert not session.in_transaction()
            assert connection.execute(text("SELECT v FROM t")).scalars().all() == [3]


def test_padded_chunks_are_powers_of_two_padded_with_the_last_value() -> None:
    assert list(padded_chunks([])) == []
    assert list(padded_chunks([7])) == [(1, [7])]
    assert list(padded_chunks([1, 2, 3])) == [(4, [1, 2, 3, 3])]
    chunks = list(padded_chunks(list(range(300)), limit=256))
    assert [size for size, _ in chunks] == [256, 64]
    assert chunks[1][1][-21:] == [299] * 21 and len(chunks[1][1]) == 64


def test_padded_values_fill_named_placeholders_up_to_a_padded_size(engine: Engine) -> None:
    params: dict[str, object] = {"other": 1}
    assert padded_values(params, "f_x", ["a"]) == 1 and params == {"other": 1, "f_x0": "a"}
    assert padded_values(params, "f_y", ["a", "b", "c"]) == 4
    assert [params[f"f_y{i}"] for i in range(4)] == ["a", "b", "c", "c"]
    assert padded_values(params, "f_z", list(range(1000))) == 1024 and params["f_z1023"] == 999
    assert padded_values(params, "f_w", list(range(600))) == 768 and params["f_w767"] == 599   # 3 x MAX_IN
    assert "f_w768" not in params
    with engine.begin() as connection:   # the padding matches nothing more than the values do
        connection.execute(text("INSERT INTO t VALUES (1), (2), (3), (4)"))
        values: dict[str, object] = {}
        size = padded_values(values, "f_v", [3, 1, 5])
        listed = ", ".join(f":f_v{i}" for i in range(size))
        found = connection.execute(text(f"SELECT v FROM t WHERE v IN ({listed}) ORDER BY v"), values).scalars().all()
    assert size == 4 and found == [1, 3]

@pytest.mark.parametrize(("raw", "wording", "value", "problem"), [
    (None, BETWEEN, None, None),
    ("34.5", BETWEEN, 34.5, None),
    ("north", BETWEEN, None, "lat must be a decimal number, got 'north'."),
    ("nan", BETWEEN, None, "lat must be a decimal number, got 'nan'."),  # plain decimal notation only
    ("1e309", BETWEEN, None, "lat must be between -90 and 90, got '1e309'."),  # a decimal, too large
    ("3_4", BETWEEN, None, "lat must be a decimal number, got '3_4'."),
    ("91", BETWEEN, None, "lat must be between -90 and 90, got '91'."),
    ("north", FROM_TO, None, "lat must be a number from -90 to 90, got 'north'."),
    ("1e309", FROM_TO, None, "lat must be a number from -90 to 90, got '1e309'."),
])
def test_number_in(raw: str | None, wording: Wording, value: float | None, problem: str | None) -> None:
    problems: list[str] = []
    assert number_in(raw, "lat", -90, 90, problems, wording=wording) == value
    assert problems == ([problem] if problem else [])
