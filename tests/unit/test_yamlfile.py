"""YAML with YAML 1.2 booleans, line lookup and ${ENV} expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from open311.core.yamlfile import expand_env, load_yaml


def test_yes_and_no_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: yes\nb: no\nc: on\nd: true\ne: False\n")
    assert load_yaml(path).data == {"a": "yes", "b": "no", "c": "on", "d": True, "e": False}


def test_line_of_nested_key(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("top:\n  list:\n    - x: 1\n    - x: 2\n      y: 3\n")
    doc = load_yaml(path)
    assert doc.line_of(("top", "list", 1, "y")) == 5
    assert doc.line_of(("top", "missing")) == 1
    assert doc.where(("top", "list", 0, "x")) == f"{path}:3: top.list.0.x"


def test_env_expansion() -> None:
    env = {"A": "one"}
    assert expand_env({"x": "${A}/b", "y": ["${B:-dflt}"], "z": 3}, env) == {"x": "one/b", "y": ["dflt"], "z": 3}
    with pytest.raises(KeyError):
        expand_env("${MISSING}", env)
