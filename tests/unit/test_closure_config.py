"""Closure codes in a department's status_map and reopen_days in the catalog: both forms, and file:line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from open311.catalog.definitions import DEFAULT_REOPEN_DAYS, GROUP_REOPEN_DAYS, load_catalog
from open311.config.jurisdictions import load_config
from open311.errors import ConfigError
from tests.delivery import write_config

DEPARTMENTS = {"DPW", "DPR", "DPH", "DRP", "DEO"}


def configured(tmp_path: Path, status_map: object) -> Path:
    """The shipped configuration as YAML (one key per line), DPW with this status_map."""
    path = write_config(tmp_path, {"DPW": {"status_map": status_map}})
    path.write_text(yaml.safe_dump(json.loads(path.read_text()), default_flow_style=False))
    return path


def test_both_status_map_forms_load(tmp_path: Path) -> None:
    config = load_config(configured(tmp_path, {"COMPLETED": {"status": "closed", "closure_code": "fixed"},
                                               "CLOSED": "closed", "DUP": {"status": "closed",
                                                                           "closure_code": "duplicate"},
                                               "NEW": "open"}))
    dpw = config.jurisdictions["lacounty.gov"].departments["DPW"]
    assert dict(dpw.status_map) == {"COMPLETED": "closed", "CLOSED": "closed", "DUP": "closed", "NEW": "open"}
    assert dict(dpw.closure_codes) == {"COMPLETED": "fixed", "DUP": "duplicate"}


@pytest.mark.parametrize(("entry", "message"), [
    ({"status": "closed", "closure_code": "sorted"}, "closure_code: Unknown closure code 'sorted'"),
    ({"status": "open", "closure_code": "fixed"}, "closure_code: A closure_code is given only with status: closed."),
    ({"status": "shut"}, "status: Must be one of: open, closed."),
    ("finished", "COMPLETED: Must be one of: open, closed."),
])
def test_a_bad_entry_is_a_config_error_with_file_and_line(tmp_path: Path, entry: object, message: str) -> None:
    path = configured(tmp_path, {"NEW": "open", "COMPLETED": entry})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = [p for p in caught.value.problems if "status_map" in p]
    assert problem.startswith(f"{path}:") and message in problem and ".departments.DPW.status_map.COMPLETED" in problem
    line = path.read_text().splitlines()[int(problem.split(":")[1]) - 1]
    dotted = problem.split(": ")[1]
    assert line.strip().startswith(dotted.rsplit(".", 1)[-1] + ":")   # the line of the key named


SERVICE = """service_code: {code}
service_name: Service {code}
description: A test service
department: DPW
group: {group}
{extra}"""


def test_reopen_days_own_group_and_default(tmp_path: Path) -> None:
    (tmp_path / "A.yaml").write_text(SERVICE.format(code="A", group="Roads & Sidewalks", extra="reopen_days: 3\n"))
    (tmp_path / "B.yaml").write_text(SERVICE.format(code="B", group="Roads & Sidewalks", extra=""))
    (tmp_path / "C.yaml").write_text(SERVICE.format(code="C", group="Other", extra=""))
    catalog, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert problems == []
    days = {code: catalog.get(code).reopen_days for code in "ABC"}  # type: ignore[union-attr]
    assert days == {"A": 3, "B": GROUP_REOPEN_DAYS["Roads & Sidewalks"], "C": DEFAULT_REOPEN_DAYS}
    assert DEFAULT_REOPEN_DAYS == 14


def test_a_bad_reopen_days_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "A.yaml"
    path.write_text(SERVICE.format(code="A", group="Other", extra="reopen_days: -1\n"))
    _, problems = load_catalog(tmp_path, "j", DEPARTMENTS)
    assert [p for p in problems if "reopen_days" in p] == [
        f"{path}:6: reopen_days: Must be greater than or equal to 0 and less than or equal to 365."]
