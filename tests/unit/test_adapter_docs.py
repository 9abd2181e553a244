"""docs/adapters.md's production configuration is valid: every department's adapter and options load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from open311.config.jurisdictions import load_config
from tests.conftest import ROOT
from tests.delivery import write_config


def test_the_documented_production_configuration_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "adapters.md").read_text()
    block = re.search(r"```yaml\n(    departments:\n.*?)```", text, re.S)
    assert block is not None
    departments = yaml.safe_load(block.group(1))["departments"]
    assert set(departments) == {"DPW", "DPR", "DPH", "DRP", "DEO"}
    assert {d["adapter"] for d in departments.values()} == {"webhook", "open311", "salesforce", "email", "filedrop"}
    for name in set(re.findall(r"\$\{(\w+)\}", block.group(1))):
        monkeypatch.setenv(name, "https://example.org/x" if name.endswith(("URL", "ENDPOINT")) else "v" * 20)
    path = write_config(tmp_path)
    config = json.loads(path.read_text())
    config["jurisdictions"]["lacounty.gov"]["departments"] = departments
    path.write_text(json.dumps(config))
    loaded = load_config(path)
    assert loaded.jurisdictions["lacounty.gov"].departments["DEO"].contact_policy == "none"
