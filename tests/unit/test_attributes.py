"""Attribute answers validated per datatype, with messages naming the attribute."""

from __future__ import annotations

import pytest

from open311.attributes import validate_answers
from open311.catalog import Attribute, Service, Value

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


def check(**answers: list[str]) -> tuple[dict[str, object], list[str]]:
    return validate_answers(SERVICE, {"name": ["Park"], **answers})


def test_valid_answers_are_normalised() -> None:
    answers, problems = check(notes=["line 1\nline 2"], count=["3"], when=["2026-01-02 03:04:05Z"],
                              pick=["yes"], many=["a", "b"])
    assert problems == []
    assert answers == {"name": "Park", "notes": "line 1\nline 2", "count": 3,
                       "when": "2026-01-02T03:04:05Z", "pick": "yes", "many": ["a", "b"]}


def test_required_missing_or_empty() -> None:
    for raw in ({}, {"name": [""]}, {"name": ["   "]}):
        _, problems = validate_answers(SERVICE, raw)
        assert problems == ["attribute[name] (Name of the place) is required."]


@pytest.mark.parametrize(("answers", "fragment"), [
    ({"name": ["two\nlines"]}, "attribute[name] (Name of the place) must be a single line"),
    ({"count": ["many"]}, "attribute[count] (How many) must be a number, got 'many'"),
    ({"count": ["nan"]}, "attribute[count] (How many) must be a finite number"),
    ({"when": ["soon"]}, "attribute[when] (When) must be an ISO 8601 datetime"),
    ({"pick": ["maybe"]}, "attribute[pick] (Pick one) 'maybe' is not one of: yes, no"),
    ({"pick": ["yes", "no"]}, "attribute[pick] (Pick one) takes one value"),
    ({"many": ["a", "z"]}, "attribute[many] (Pick several) 'z' not among: a, b, c,d"),
])
def test_each_datatype_rejects_bad_values(answers: dict[str, list[str]], fragment: str) -> None:
    _, problems = check(**answers)
    assert len(problems) == 1
    assert problems[0].startswith(fragment), problems[0]


def test_multivaluelist_encodings() -> None:
    assert check(many=["a,b"])[0]["many"] == ["a", "b"]
    assert check(many=["a", "a", "b"])[0]["many"] == ["a", "b"]
    assert check(many=["c,d"])[0]["many"] == ["c,d"]  # a key holding a comma is not split


def test_unknown_codes_ignored_and_informational_never_required() -> None:
    answers, problems = check(uprn=["123"], fixmystreet_id=["9"], info=["ignored"])
    assert problems == []
    assert "uprn" not in answers and "info" not in answers
