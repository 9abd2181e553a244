"""YAML with YAML 1.2 booleans, line lookup and ${ENV} expansion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from open311.core.yamlfile import YamlSyntaxError, expand_env, load_yaml


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


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a: 1\nb: [1, 2\nc: 3\n", 3, "did not find expected ',' or ']' (column 2; while parsing a flow sequence at "
                                  "line 2, column 4)"),
    ("a: 1\n  b: 2\n", 2, "mapping values are not allowed in this context (column 4)"),
    ("a: 1\nb: \x01\n", 2, "unacceptable character #x0001: control characters are not allowed"),
    ("---\na: 1\n---\nb: 2\n", 3, "found another document (column 1; expected a single document in the stream "
                                  "at line 2, column 1)"),
    ("a: !!python/object:os.system x\n", 1, "could not determine a constructor for the tag "
                                            "'tag:yaml.org,2002:python/object:os.system' (column 4)"),
    ("a: 1\nb: *nope\n", 2, "found undefined alias (column 4)"),
])
def test_syntax_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    with pytest.raises(YamlSyntaxError) as raised:
        load_yaml(path)
    assert str(raised.value) == f"{path}:{line}: invalid YAML: {message}"
    assert isinstance(raised.value, yaml.YAMLError) and raised.value.line == line
