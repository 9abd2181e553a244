"""The `open311` command: check-config, db upgrade, keys create/list/revoke."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from open311.cli import main
from tests.conftest import ROOT


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPEN311_DATABASE_URL", database_url)
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    return tmp_path


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_check_config_ok(env: Path) -> None:
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "lacounty.gov: 5 departments, 81 services (DPW 37, DPR 11, DPH 14, DRP 13, DEO 6)" in result.output
    assert result.output.strip().endswith("configuration OK")


def test_check_config_lists_every_problem_with_file_and_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = env / "conf"
    shutil.copytree(ROOT / "service_definitions", conf / "service_definitions")
    shutil.copytree(ROOT / "service_areas", conf / "service_areas")
    text = (ROOT / "jurisdictions.yaml").read_text()
    text = text.replace("timezone: America/Los_Angeles", "timezone: America/Nowhere")
    dpr = 'adapter: filedrop\n        options: {directory: "${OPEN311_INTAKE_DIR:-instance/intake}/DPR"}'
    text = text.replace(dpr, "adapter: carrier-pigeon")
    text = text.replace("contact_policy: none", "contact_policy: some")
    (conf / "jurisdictions.yaml").write_text(text)
    graffiti = conf / "service_definitions" / "lacounty.gov" / "DPW-GRAFFITI.yaml"
    graffiti.write_text(graffiti.read_text().replace("required: true\n    order: 2", "required: yes\n    order: 2"))
    monkeypatch.setenv("OPEN311_CONFIG", str(conf / "jurisdictions.yaml"))
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    policy_line = line_of(text, "contact_policy: some")
    assert any(f":{policy_line}: jurisdictions.lacounty.gov.departments.DEO.contact_policy: Must be one of: "
               "full, none." in ln for ln in lines), lines
    # marshmallow stops at structural problems; fix that one and the rest are reported together
    (conf / "jurisdictions.yaml").write_text(text.replace("contact_policy: some", "contact_policy: none"))
    result = CliRunner().invoke(main, ["check-config"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1
    tz_line = line_of(text, "timezone: America/Nowhere")
    assert any(ln.endswith(f":{tz_line}: jurisdictions.lacounty.gov.timezone: Unknown time zone 'America/Nowhere'.")
               for ln in lines), lines
    assert any("departments.DPR.adapter: adapter 'carrier-pigeon' is not installed (installed: " in ln
               for ln in lines), lines
    yes_line = line_of(graffiti.read_text(), "required: yes")
    assert f"{graffiti}:{yes_line}: attributes.1.required: Must be true or false (unquoted)." in lines, lines
    assert lines[-1] == "3 problem(s) found."


def test_check_config_reports_every_catalog_problem_of_every_file(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = env / "conf"
    defs = conf / "service_definitions" / "lacounty.gov"
    shutil.copytree(ROOT / "service_definitions", conf / "service_definitions")
    shutil.copytree(ROOT / "service_areas", conf / "service_areas")
    shutil.copy(ROOT / "jurisdictions.yaml", conf / "jurisdictions.yaml")
    pothole = defs / "DPW-POTHOLE.yaml"  # a structural and a semantic problem in one file
    text = pothole.read_text().replace("required: false\n    order: 3", "required: maybe\n    order: 3")
    text = text.replace("service_area: uninc_plus_contract", "service_area: city_of_industry")
    pothole.write_text(text)
    trail = defs / "DPR-TRAIL.yaml"  # a question with an unquoted YAML 1.1 boolean-looking key is fine ...
    trail.write_text(trail.read_text().replace('{key: "yes", name: "Yes"}', "{key: yes, name: Sure}")
                     .replace("order: 4", "order: 3"))  # ... a duplicate order is not
    (defs / "dpw-pothole.yml").write_text(pothole.read_text().replace("DPW-POTHOLE", "dpw-pothole"))
    monkeypatch.setenv("OPEN311_CONFIG", str(conf / "jurisdictions.yaml"))
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert f"{pothole}:{line_of(text, 'service_area:')}: service_area: Unknown service-area rule " \
           "'city_of_industry'; configured: county_parks, countywide, dph_eh, dph_housing, uninc, " \
           "uninc_plus_contract, waterworks." in lines
    assert f"{pothole}:{line_of(text, 'required: maybe')}: attributes.2.required: Must be true or false " \
           "(unquoted)." in lines
    order_line = [i for i, ln in enumerate(trail.read_text().splitlines(), 1) if "order: 3" in ln][1]
    assert f"{trail}:{order_line}: attributes.3.order: Duplicate order 3 (also attribute 2)." in lines
    copy = defs / "dpw-pothole.yml"
    assert any(ln.startswith(f"{copy}:1: service_code: service_code 'dpw-pothole' differs only in case from "
                             f"'DPW-POTHOLE' ({pothole}:1: service_code)") for ln in lines), lines
    assert any(ln.startswith(f"{copy}:2: service_name: Duplicate service_name 'Pothole'") for ln in lines), lines
    assert lines[-1] == "7 problem(s) found.", lines


def test_keys_lifecycle(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(main, ["keys", "create", "--jurisdiction", "lacounty.gov", "--name", "Civic App"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("o311_") and len(key) > 30 and " " not in key
    listed = runner.invoke(main, ["keys", "list"])
    assert "Civic App" in listed.output and key[:12] in listed.output and key not in listed.output
    revoked = runner.invoke(main, ["keys", "revoke", key[:12]])
    assert revoked.exit_code == 0 and "revoked key 1" in revoked.output
    assert runner.invoke(main, ["keys", "revoke", "nope"]).exit_code == 1
    bad = runner.invoke(main, ["keys", "create", "--jurisdiction", "nowhere", "--name", "x"])
    assert bad.exit_code == 2 and "unknown jurisdiction 'nowhere'" in bad.output
