"""Attribute answers validated per datatype, with messages naming the attribute."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import pytest

from open311.catalog.answers import validate_answers
from open311.catalog.definitions import Attribute, Service, Value

YES_NO = (Value("yes", "Yes"), Value("no", "No"))
SERVICE = Service(
    service_code="S", service_name="S", description="d", department="D",
    attributes=(
        Attribute("name", "string", True, True, 1, "Name of the place"),
        Attribute("notes", "text", False, True, 2, "Notes"),
        Attribute("count", "number", False, True, 3, "How many"),
        Attribute("when", "datetime", False, True, 4, "When"),
        Attribute("pick", "singlevaluelist", False, True, 5, "Pick one", values=YES_NO),
        Attribute("many", "multivaluelist", False, True, 6, "Pick several",
                  values=(Value("a", "A"), Value("b", "B"), Value("c,d", "C and D"))),
        Attribute("info", "string", False, False, 7, "Just information"),
    ),
)
LA = ZoneInfo("America/Los_Angeles")


def check(**answers: list[str]) -> tuple[dict[str, object], list[str]]:
    return validate_answers(SERVICE, {"name": ["Park"], **answers})


def test_valid_answers_are_normalised() -> None:
    answers, problems = check(notes=["  line 1\nline 2\n"], count=["3"], when=["2026-01-02 03:04:05Z"],
                              pick=[" yes "], many=["a", "b"])
    assert problems == []
    assert answers == {"name": "Park", "notes": "line 1\nline 2", "count": 3,
                       "when": "2026-01-02T03:04:05Z", "pick": "yes", "many": ["a", "b"]}


def test_required_missing_or_empty() -> None:
    for raw in ({}, {"name": [""]}, {"name": ["   "]}):
        _, problems = validate_answers(SERVICE, raw)
        assert problems == ["attribute[name] (Name of the place) is required."]


@pytest.mark.parametrize(("answers", "fragment"), [
    ({"name": ["two\nlines"]}, "attribute[name] (Name of the place) must be a single line"),
    ({"name": ["two\r\nlines"]}, "attribute[name] (Name of the place) must be a single line"),
    ({"name": ["two\u2028lines"]}, "attribute[name] (Name of the place) must be a single line"),
    ({"name": ["x" * 1001]}, "attribute[name] (Name of the place) must be at most 1000 characters, got 1001"),
    ({"notes": ["x" * 4001]}, "attribute[notes] (Notes) must be at most 4000 characters, got 4001"),
    ({"count": ["many"]}, "attribute[count] (How many) must be a number such as 3 or 2.5, got 'many'"),
    ({"count": ["nan"]}, "attribute[count] (How many) must be a number such as 3 or 2.5, got 'nan'"),
    ({"count": ["1_000"]}, "attribute[count] (How many) must be a number such as 3 or 2.5, got '1_000'"),
    ({"count": ["0x10"]}, "attribute[count] (How many) must be a number such as 3 or 2.5, got '0x10'"),
    ({"count": ["\u0663"]}, "attribute[count] (How many) must be a number such as 3 or 2.5"),  # Arabic-Indic 3
    ({"count": ["1e999"]}, "attribute[count] (How many) must be a finite number, got '1e999'"),
    ({"count": ["1", "2"]}, "attribute[count] (How many) takes one value, got 2"),
    ({"when": ["soon"]}, "attribute[when] (When) must be an ISO 8601 date or datetime"),
    ({"when": ["31/01/2026"]}, "attribute[when] (When) must be an ISO 8601 date or datetime"),
    ({"when": ["1900-01-01"]}, "attribute[when] (When) must be an ISO 8601 date or datetime"),
    ({"pick": ["maybe"]}, "attribute[pick] (Pick one) 'maybe' is not one of: yes, no"),
    ({"pick": ["Yes"]}, "attribute[pick] (Pick one) 'Yes' is not one of: yes, no"),
    ({"pick": ["yes", "no"]}, "attribute[pick] (Pick one) takes one value, got 2"),
    ({"many": ["a", "z"]}, "attribute[many] (Pick several) 'z' not among: a, b, c,d"),
    ({"many": ["a,z,y"]}, "attribute[many] (Pick several) 'z', 'y' not among: a, b, c,d"),
    ({"many": [",,"]}, "attribute[many] (Pick several) needs at least one of: a, b, c,d"),
])
def test_each_datatype_rejects_bad_values(answers: dict[str, list[str]], fragment: str) -> None:
    _, problems = check(**answers)
    assert len(problems) == 1
    assert problems[0].startswith(fragment), problems[0]
    assert problems[0].endswith(".")


def test_numbers_in_plain_decimal_notation() -> None:
    for raw, expected in (("3", 3), ("-2", -2), ("+4", 4), ("2.5", 2.5), (".5", 0.5), ("1e3", 1000), (" 7 ", 7)):
        assert check(count=[raw])[0]["count"] == expected, raw


def test_datetimes_are_read_in_the_jurisdictions_zone() -> None:
    answers, _ = validate_answers(SERVICE, {"name": ["P"], "when": ["2026-07-04T09:30"]}, LA)
    assert answers["when"] == "2026-07-04T09:30:00-07:00"  # naive: local time
    answers, _ = validate_answers(SERVICE, {"name": ["P"], "when": ["2026-01-31"]}, LA)
    assert answers["when"] == "2026-01-31T00:00:00-08:00"  # a date alone is ISO 8601 too
    answers, _ = validate_answers(SERVICE, {"name": ["P"], "when": ["2026-01-31T20:00:00Z"]}, LA)
    assert answers["when"] == "2026-01-31T12:00:00-08:00"  # an offset is kept as the same instant


def test_single_value_sent_twice_counts_once() -> None:
    assert check(pick=["no", "no"])[0]["pick"] == "no"


def test_multivaluelist_encodings() -> None:
    assert check(many=["a,b"])[0]["many"] == ["a", "b"]
    assert check(many=["a", "a", "b"])[0]["many"] == ["a", "b"]
    assert check(many=[" b , a "])[0]["many"] == ["b", "a"]
    assert check(many=["c,d"])[0]["many"] == ["c,d"]  # a key holding a comma is not split
    assert check(many=["b"])[0]["many"] == ["b"]  # a single value is a list of one


def test_every_problem_reported_in_attribute_order() -> None:
    _, problems = validate_answers(SERVICE, {"count": ["x"], "pick": ["z"], "when": ["?"]})
    assert [p.split(" ")[0] for p in problems] == ["attribute[name]", "attribute[count]", "attribute[when]",
                                                   "attribute[pick]"]


def test_long_questions_are_shortened_in_messages() -> None:
    service = Service("S", "S", "d", "D", attributes=(Attribute("q", "string", True, True, 1, "Why " * 40),))
    _, problems = validate_answers(service, {})
    assert problems == [f"attribute[q] ({('Why ' * 40)[:77]}...) is required."]


def test_unknown_codes_ignored_and_informational_never_required(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="open311.catalog.answers"):
        answers, problems = check(uprn=["123 Secret Lane"], fixmystreet_id=["9"], info=["ignored"])
    assert problems == []
    assert "uprn" not in answers and "info" not in answers
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "'fixmystreet_id', 'uprn'" in logged
    assert "Secret" not in logged and "ignored" not in logged  # codes only, never values


def test_logged_codes_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    raw = {f"extra{i:02}" + "x" * 100: ["v"] for i in range(25)}
    with caplog.at_level(logging.INFO, logger="open311.catalog.answers"):
        check(**raw)
    message = caplog.records[-1].getMessage()
    assert message.endswith("and 5 more") and "x" * 100 not in message
