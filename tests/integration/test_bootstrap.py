"""One bootstrap without Flask: each command builds only the parts it needs, and the workers load no web stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from open311.bootstrap import bootstrap
from tests.conftest import ROOT

# Run in a fresh interpreter: which libraries a command loaded is only visible from inside its process.
COMMAND_THEN_MODULES = """
import json, sys
from click.testing import CliRunner
from open311.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
heavy = ("flask", "flask_smorest", "flask_limiter", "werkzeug", "geopandas", "pyogrio", "shapely", "open311.georeport",
         "PIL", "yaml")
print(json.dumps({"code": result.exit_code, "output": result.output,
                  "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def run_command(tmp_path: Path, *args: str) -> dict[str, object]:
    """Run `open311 ARGS` in a new interpreter on a migrated SQLite database; what it printed and loaded."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OPEN311_")},
           "OPEN311_DATABASE_URL": f"sqlite:///{tmp_path / 'boot.sqlite3'}",
           "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"), "OPEN311_INTAKE_DIR": str(tmp_path / "intake")}
    subprocess.run([sys.executable, "-m", "open311.cli", "db", "upgrade"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", COMMAND_THEN_MODULES, *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_relay_loads_neither_the_web_stack_nor_the_gis_libraries(tmp_path: Path) -> None:
    found = run_command(tmp_path, "relay", "--once")
    assert found["code"] == 0, found["output"]
    assert "0 ticket(s) delivered" in str(found["output"])
    # The relay reads the configuration (YAML) and may carry photos (Pillow): nothing of HTTP, GIS or shapely.
    assert [m for m in found["loaded"] if m not in ("PIL", "yaml")] == []  # type: ignore[attr-defined]


def test_keys_list_opens_the_database_and_reads_no_configuration(tmp_path: Path) -> None:
    found = run_command(tmp_path, "keys", "list")
    assert found["code"] == 0, found["output"]
    assert str(found["output"]).startswith("id\tprefix\tjurisdiction")
    assert found["loaded"] == []


def test_parts_not_asked_for_are_built_on_first_use(database_url: str, tmp_path: Path) -> None:
    services = bootstrap({"OPEN311_DATABASE_URL": database_url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
                          "OPEN311_CREATE_SCHEMA": True}, parts=(), instance_path=tmp_path)
    try:
        assert "config" not in vars(services) and "geo" not in vars(services)
        assert "lacounty.gov" in services.config.jurisdictions  # built now, once
        assert services.config is services.config
        assert services.policies.delivery.max_attempts == 30
    finally:
        services.dispose()


def test_a_broken_configuration_stops_bootstrap_and_closes_the_engine(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("jurisdictions: {}\n")
    with pytest.raises(Exception, match="jurisdiction"):
        bootstrap({"OPEN311_DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}", "OPEN311_CONFIG": str(broken)},
                  instance_path=tmp_path)
