"""Catalog loading: the shipped catalog is valid; every problem is reported with file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from open311.catalog import load_catalog
from open311.dates import parse_duration
from tests.conftest import ROOT

DEPARTMENTS = {"DPW", "DPR", "DPH", "DRP", "DEO"}


def test_shipped_catalog_loads_with_one_service_per_department_at_least() -> None:
    catalog, problems = load_catalog(ROOT / "service_definitions" / "lacounty.gov", "lacounty.gov", DEPARTMENTS)
    assert problems == []
    assert {s.department for s in catalog.services.values()} == DEPARTMENTS
    assert all(s.service_code == Path(s.source).stem for s in catalog.services.values())


def test_durations() -> None:
    assert parse_duration("PT48H") == timedelta(hours=48)
    assert parse_duration("P2D") == timedelta(days=2)
    assert parse_duration("P1WT30M") == timedelta(weeks=1, minutes=30)
    for bad in ("P", "PT", "2 days", "P1Y", "P1DT"):
        with pytest.raises(ValueError):
            parse_duration(bad)


BAD = """\
service_code: WRONG
service_name: Bad service
description: Everything wrong
department: NOPE
expected_response: two days
colour: blue
attributes:
  - code: a
    datatype: singlevaluelist
    required: yes
    order: 1
    description: A
  - code: a
    datatype: string
    required: true
    variable: false
    order: 1
    description: B
    values:
      - {key: 01, name: x}
  - code: c
    datatype: multivaluelist
    required: false
    order: 3
    description: C
    values:
      - {key: "k", name: x}
      - {key: "k", name: y}
"""


def test_all_problems_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "S1.yaml").write_text(BAD)
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    path = tmp_path / "S1.yaml"
    # structural problems come first (the semantic pass needs a valid structure)
    assert f"{path}:6: colour: Unknown key (typo?)." in problems
    assert f"{path}:10: attributes.0.required: Must be true or false (unquoted)." in problems
    assert f"{path}:20: attributes.1.values.0.key: Must be a string; quote the value 1." in problems


def test_semantic_problems_reported_together(tmp_path: Path) -> None:
    fixed = BAD.replace("colour: blue\n", "").replace("required: yes", "required: true").replace("01", '"01"')
    path = tmp_path / "S1.yaml"
    path.write_text(fixed)
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    text = "\n".join(problems)
    assert f"{path}:1: service_code: Must equal the file name 'S1'." in problems
    assert f"{path}:4: department: Unknown department 'NOPE'" in text
    assert f"{path}:5: expected_response: not an ISO 8601 duration" in text
    assert "attributes.0.values: A singlevaluelist needs at least one value." in text
    assert "attributes.1.code: Duplicate code 'a'" in text
    assert "attributes.1.order: Duplicate order 1" in text
    assert "attributes.1.required: An attribute with variable: false is informational" in text
    assert "attributes.1.values: A string attribute takes no values." in text
    assert "attributes.2.values: Duplicate value key 'k'." in text


def test_missing_directory_and_bad_yaml(tmp_path: Path) -> None:
    _, problems = load_catalog(tmp_path / "nope", "j", DEPARTMENTS)
    assert problems == [f"{tmp_path / 'nope'}: service definitions directory not found."]
    (tmp_path / "X.yaml").write_text("service_code: [unclosed\n")
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert problems[0].startswith(f"{tmp_path / 'X.yaml'}: cannot read:")
