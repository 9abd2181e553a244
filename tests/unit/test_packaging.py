"""Installing says what it does and warns about nothing of ours.

setuptools installs a project editable (`pip install -e .`, what `make install` runs) with a plain .pth
line only when every package lies under one folder by its import name and `package_dir` maps nothing
but "" (its `_simple_layout`); otherwise it installs an import hook and prints a boxed "Editable
installation" warning. The Makefile's install steps announce themselves and let pip list its progress.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser["options"]


def test_every_package_lies_under_its_import_name() -> None:
    options = _options()
    package_dir = dict(line.split("=", 1) for line in options["package_dir"].split())
    assert {name.strip() for name in package_dir} == {""}
    root = ROOT / package_dir[""].strip()
    packages = options["packages"].split()
    assert "open311_adapters" in packages
    for package in packages:
        assert (root.joinpath(*package.split(".")) / "__init__.py").is_file(), package


def test_setuptools_picks_the_plain_editable_install() -> None:
    simple_layout = getattr(pytest.importorskip("setuptools.command.editable_wheel"), "_simple_layout", None)
    if simple_layout is None:
        pytest.skip("this setuptools decides its editable strategy otherwise")
    options = _options()
    package_dir = {name.strip(): path.strip() for name, path in
                   (line.split("=", 1) for line in options["package_dir"].split())}
    assert simple_layout(options["packages"].split(), package_dir, str(ROOT))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_install_says_what_it_does(tmp_path: Path) -> None:
    steps = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), "install-test", f"VENV={tmp_path}"],
                           capture_output=True, text=True, check=True).stdout
    assert "creating the Python environment" in steps
    assert "installing the gateway and its dependencies" in steps
    assert "installing the test tools" in steps
    installs = [line for line in steps.splitlines() if "pip install" in line and "-e " in line]
    assert len(installs) == 2 and not any(" -q" in line for line in installs), installs
