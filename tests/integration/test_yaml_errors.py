"""A YAML syntax error anywhere in the configuration is reported as `file:line: message`, like every other
config problem: by `open311 check-config`, by `open311 serve` at start-up, and by create_app."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from open311.cli import main
from open311.config.jurisdictions import load_config
from open311.errors import ConfigError
from tests.conftest import ROOT

# file (relative to the configuration directory) -> (a line of it, what it becomes): a second `key: value`
# on one line, which YAML refuses at the second colon.
BREAKS = {
    "jurisdictions.yaml": ("        contact_policy: none\n", "        contact_policy: none: really\n"),
    "service_definitions/lacounty.gov/DPW-GRAFFITI.yaml": ("service_name: Graffiti Abatement\n",
                                                           "service_name: Graffiti: Abatement\n"),
    "service_definitions/lacounty.gov/i18n/es.yaml": ("\n  DPW-GRAFFITI:\n", "\n  DPW-GRAFFITI: x: y\n"),
}


@pytest.fixture
def broken(request: pytest.FixtureRequest, tmp_path: Path, database_url: str,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the shipped configuration with one file broken, the working directory its directory;
    returns the expected problem: `file:line: message`, the file as the gateway names it (relative)."""
    name: str = request.param
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "service_definitions", conf / "service_definitions")
    shutil.copytree(ROOT / "service_areas", conf / "service_areas")
    shutil.copy(ROOT / "jurisdictions.yaml", conf / "jurisdictions.yaml")
    target = conf / name
    text = target.read_text(encoding="utf-8")
    old, new = BREAKS[name]
    assert text.count(old) >= 1, name
    start = text.index(old) + (1 if old.startswith("\n") else 0)
    text = text.replace(old, new, 1)
    target.write_text(text, encoding="utf-8")
    line = text.count("\n", 0, start) + 1
    broken_line = text.splitlines()[line - 1]
    column = broken_line.index(":", broken_line.index(":") + 1) + 1  # 1-based: the second colon
    monkeypatch.chdir(conf)
    monkeypatch.setenv("OPEN311_CONFIG", "jurisdictions.yaml")  # relative, as an operator types it
    monkeypatch.setenv("OPEN311_DATABASE_URL", database_url)
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    return f"{name}:{line}: invalid YAML: mapping values are not allowed in this context (column {column})"


@pytest.mark.parametrize("broken", list(BREAKS), indirect=True)
def test_check_config_reports_a_yaml_syntax_error_as_file_and_line(broken: str) -> None:
    expected = broken
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert expected in lines, lines
    assert "<unicode string>" not in result.output and lines[-1].endswith("problem(s) found.")


@pytest.mark.parametrize("broken", list(BREAKS), indirect=True)
def test_serve_and_create_app_stop_with_the_same_file_and_line(broken: str,
                                                               make_app: Callable[..., Flask]) -> None:
    expected = broken
    with pytest.raises(ConfigError) as raised:
        make_app(Path("jurisdictions.yaml"))
    assert expected in raised.value.problems
    assert "<unicode string>" not in str(raised.value)
    result = CliRunner().invoke(main, ["serve"])  # stops before gunicorn starts: exit 2, the problems listed
    assert result.exit_code == 2 and expected in result.output.splitlines(), result.output


def test_a_jurisdictions_file_that_is_not_utf8_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "jurisdictions.yaml"
    path.write_bytes(b"discovery:\n  contact: caf\xe9\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.problems == [f"{path}:2: not UTF-8 text (byte 0xe9 at offset 25); save the file as UTF-8"]
