"""Catalog loading: the shipped catalog is valid; every problem is reported at once, with file and line."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from open311.catalog.definitions import load_catalog
from open311.core.dates import parse_duration
from tests.conftest import ROOT

DEPARTMENTS = {"DPW", "DPR", "DPH", "DRP", "DEO"}
RULES = {"uninc", "uninc_plus_contract", "countywide", "dph_eh", "dph_housing", "county_parks", "waterworks"}
SHIPPED = ROOT / "service_definitions" / "lacounty.gov"


def test_shipped_catalog_is_complete_and_clean() -> None:
    catalog, problems = load_catalog(SHIPPED, "lacounty.gov", DEPARTMENTS, RULES)
    assert problems == []
    assert Counter(s.department for s in catalog.services.values()) == {
        "DPW": 37, "DPH": 14, "DRP": 13, "DPR": 11, "DEO": 6}
    assert all(s.service_code == Path(s.source).stem for s in catalog.services.values())
    for service in catalog.services.values():
        assert service.service_area in RULES, service.service_code
        assert service.expected_response is not None, service.service_code
        assert service.group and service.keywords and service.attributes, service.service_code
        assert any(a.required for a in service.attributes) or service.service_code == "DPW-CARTS"


def test_durations() -> None:
    assert parse_duration("PT48H") == timedelta(hours=48)
    assert parse_duration("P2D") == timedelta(days=2)
    assert parse_duration("P1WT30M") == timedelta(weeks=1, minutes=30)
    for bad in ("P", "PT", "2 days", "P1Y", "P1DT", "P2D\n", "p2d", "P\u0662D"):
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


def line(text: str, needle: str, nth: int = 1) -> int:
    """1-based number of the nth line containing needle."""
    return [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln][nth - 1]


def test_structural_and_semantic_problems_of_one_file_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "S1.yaml"
    path.write_text(BAD)
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert problems == [
        f"{path}:1: service_code: Must equal the file name 'S1'.",
        f"{path}:4: department: Unknown department 'NOPE'; configured: DEO, DPH, DPR, DPW, DRP.",
        f"{path}:5: expected_response: not an ISO 8601 duration like P2D or PT48H: 'two days'",
        f"{path}:6: colour: Unknown key (typo?).",
        f"{path}:8: attributes.0.values: A singlevaluelist needs at least one value.",
        f"{path}:10: attributes.0.required: Must be true or false (unquoted).",
        f"{path}:13: attributes.1.code: Duplicate code 'a' (also attribute 0).",
        f"{path}:15: attributes.1.required: An attribute with variable: false is informational and cannot be "
        "required.",
        f"{path}:17: attributes.1.order: Duplicate order 1 (also attribute 0).",
        f"{path}:19: attributes.1.values: A string attribute takes no values.",
        f"{path}:20: attributes.1.values.0.key: Must be a string; quote the value 1.",
        f"{path}:28: attributes.2.values.1.key: Duplicate value key 'k' (also values.0).",
    ]


GOOD = """\
service_code: {code}
service_name: {name}
description: A service.
department: DPW
group: {group}
keywords: [one, two]
service_area: uninc
expected_response: P1D
attributes:
  - code: q
    datatype: singlevaluelist
    required: true
    order: 1
    description: Which?
    values:
      - {{key: "yes", name: "Yes"}}
      - {{key: "no", name: "No"}}
"""


def write(directory: Path, code: str, name: str = "", group: str = "Roads", suffix: str = ".yaml",
          replace: tuple[str, str] = ("", "")) -> Path:
    path = directory / f"{code}{suffix}"
    path.write_text(GOOD.format(code=code, name=name or f"Service {code}", group=group).replace(*replace))
    return path


def test_a_valid_file_passes(tmp_path: Path) -> None:
    write(tmp_path, "A-1")
    catalog, problems = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    assert problems == [] and list(catalog.services) == ["A-1"]


def test_problems_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "DPW-X", name="Pothole", group="Roads & Sidewalks")
    b = write(tmp_path, "dpw-x", name="Other", group="Roads & sidewalks")
    c = write(tmp_path, "DPW-Y", name="pothole", group="Roads & Sidewalks")
    d = write(tmp_path, "DPW-X", name="Again", suffix=".yml")
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    assert f"{b}:1: service_code: service_code 'dpw-x' differs only in case from 'DPW-X' ({a}:1: service_code); "\
           "use one spelling." in problems
    assert f"{d}:1: service_code: Duplicate service_code 'DPW-X' (also {a}:1: service_code)." in problems
    assert f"{c}:2: service_name: service_name 'pothole' differs only in case from 'Pothole' ({a}:2: service_name); "\
           "use one spelling." in problems
    assert f"{b}:5: group: group 'Roads & sidewalks' differs only in case from 'Roads & Sidewalks' ({a}:5: group); "\
           "use one spelling." in problems
    assert len(problems) == 4  # one group shared by several services is fine


def test_hidden_files_skipped_and_any_yaml_suffix_read(tmp_path: Path) -> None:
    write(tmp_path, "A-1", suffix=".YAML")
    (tmp_path / "._A-1.yaml").write_bytes(b"\x00\x05\x16\x07")  # macOS resource fork
    (tmp_path / "README.md").write_text("notes")
    catalog, problems = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    assert problems == [] and list(catalog.services) == ["A-1"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("keywords: [one, two]", "keywords: [one, 'a, b', ONE, private]", [
        "6: keywords.1: Keyword 'a, b' contains a comma; keywords are published comma-joined: split it.",
        "6: keywords.2: Duplicate keyword 'ONE' (also keywords.0).",
        "6: keywords.3: Keyword 'private' is a flag to FixMyStreet clients (it hides or restricts the service); "
        "use another word."]),
    ("keywords: [one, two]", "keywords: ['', two]", ["6: keywords.0: Must not be empty or blank; leave the key out "
                                                     "instead."]),
    ("group: Roads", "group: ''", ["5: group: Must not be empty or blank; leave the key out instead."]),
    ("group: Roads", 'group: "Roads\\nand more"', ["5: group: Must be a single line."]),
    ("description: A service.", 'description: "Bell\\x07"', ["3: description: Contains a control character "
                                                              "that XML cannot carry."]),
    ("service_area: uninc", "service_area: nowhere", [
        "7: service_area: Unknown service-area rule 'nowhere'; configured: county_parks, countywide, dph_eh, "
        "dph_housing, uninc, uninc_plus_contract, waterworks."]),
    ("service_area: uninc\n", "", ["1: service_code: No service_area: this jurisdiction defines rules "
                                   "(county_parks, countywide, dph_eh, dph_housing, uninc, uninc_plus_contract, "
                                   "waterworks); name one."]),
    ("expected_response: P1D", "expected_response: PT0H", ["8: expected_response: Must be longer than zero."]),
    ("code: q", "code: email", ["10: attributes.0.code: Attribute 'email' asks for personal data; use the request's "
                                "contact fields (first_name, last_name, email, phone), which are never published."]),
    ("code: q", "code: owner_phone", ["10: attributes.0.code: Attribute 'owner_phone' asks for personal data"]),
    ("datatype: singlevaluelist", "datatype: multivaluelist\n    datatype_description: Which?", [
        "12: attributes.0.datatype_description: Repeats description; say how to answer (format, unit) or leave it "
        "out."]),
    ('{key: "yes", name: "Yes"}', '{key: "a,b", name: "Yes"}', []),  # a comma is fine in a singlevaluelist key
    ("datatype: singlevaluelist", "datatype: multivaluelist", []),
    ('{key: "no", name: "No"}', '{key: " no", name: "yes"}', [
        "17: attributes.0.values.1.key: Must not start or end with whitespace.",
        "17: attributes.0.values.1.name: Duplicate value name 'yes' (also values.0)."]),
    ("description: Which?", "description: ' '", ["14: attributes.0.description: Must not be empty or blank; leave "
                                                 "the key out instead."]),
    ("required: true", "required: false\n    variable: false\n    datatype_description: Pick one", [
        "14: attributes.0.datatype_description: An informational attribute (variable: false) takes no input; put "
        "the text in description."]),
])
def test_semantic_checks(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    path = tmp_path / "A-1.yaml"
    path.write_text(GOOD.format(code="A-1", name="A", group="Roads").replace(old, new, 1))
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    for wanted in expected:
        assert any(p.startswith(f"{path}:{wanted}") for p in problems), (wanted, problems)
    assert len(problems) == len(expected), problems


def test_multivaluelist_keys_hold_no_commas(tmp_path: Path) -> None:
    path = tmp_path / "A-1.yaml"
    path.write_text(GOOD.format(code="A-1", name="A", group="Roads").replace("singlevaluelist", "multivaluelist")
                    .replace('key: "yes"', 'key: "a,b"'))
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    assert problems == [f"{path}:16: attributes.0.values.0.key: Key 'a,b' contains a comma, which clients use to "
                        "join several keys."]


def test_every_file_reported_in_one_run(tmp_path: Path) -> None:
    paths = [tmp_path / f"S{i}.yaml" for i in range(3)]
    for p in paths:
        p.write_text(BAD.replace("WRONG", p.stem).replace("Bad service", f"Bad service {p.stem}"))
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert {p.split(":")[0] for p in problems} == {str(p) for p in paths}
    assert len(problems) == 3 * 11


def test_missing_directory_bad_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    _, problems = load_catalog(tmp_path / "nope", "j", DEPARTMENTS)
    assert problems == [f"{tmp_path / 'nope'}: service definitions directory not found."]
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert problems == [f"{tmp_path}: no service definitions (*.yaml) found."]
    (tmp_path / "X.yaml").write_text("service_code: [unclosed\n")
    (tmp_path / "Y.yaml").write_text("- a list\n")
    (tmp_path / "Z.yaml").write_bytes(b"service_code: \xff\n")
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert problems[0] == (f"{tmp_path / 'X.yaml'}:2: invalid YAML: did not find expected ',' or ']' "
                           "(column 1; while parsing a flow sequence at line 1, column 15)")
    assert problems[1] == f"{tmp_path / 'Y.yaml'}:1: (document) Must be a mapping of service fields."
    assert problems[2].startswith(f"{tmp_path / 'Z.yaml'}: cannot read:")


def test_fingerprint_follows_content(tmp_path: Path) -> None:
    write(tmp_path, "A-1")
    first, _ = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    again, _ = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    write(tmp_path, "A-1", replace=("description: A service.", "description: A better service."))
    changed, _ = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    (tmp_path / "A-1.yaml").write_text((tmp_path / "A-1.yaml").read_text() + "# a comment\n")
    commented, _ = load_catalog(tmp_path, "j", DEPARTMENTS, RULES)
    assert first.fingerprint == again.fingerprint != changed.fingerprint == commented.fingerprint
