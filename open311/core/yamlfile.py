"""Safe YAML loading with YAML 1.2 booleans and line numbers for error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# The C parser (libyaml) when PyYAML was built with it: about ten times faster on the 81-file catalog.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictBoolLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader whose booleans are only true/false: `yes`, `no`, `on`, `off` stay strings."""


StrictBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML file: its data plus the node tree used to locate keys by line."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, keys: Sequence[str | int]) -> int | None:
        """Return the 1-based line of the key at `keys`, or of its deepest existing parent."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for key in keys:
            found = _child(node, key)
            if found is None:
                break
            line, node = found
        return line

    def where(self, keys: Sequence[str | int]) -> str:
        """Return `file:line: a.b.c` for a problem report."""
        dotted = ".".join(str(k) for k in keys) or "(document)"
        line = self.line_of(keys)
        return f"{self.path}:{line}: {dotted}" if line else f"{self.path}: {dotted}"


def _child(node: yaml.Node | None, key: str | int) -> tuple[int, yaml.Node] | None:
    """Return (line of the key or item, child node) of a mapping or sequence node, or None."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if str(k.value) == str(key):
                return k.start_mark.line + 1, v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item = node.value[key]
        return item.start_mark.line + 1, item
    return None


class YamlSyntaxError(yaml.YAMLError):
    """A file that is not valid YAML (or not UTF-8), located as `file:line: message` like every config problem."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def _syntax_error(path: Path, text: str, exc: yaml.YAMLError) -> YamlSyntaxError:
    """PyYAML's error (which names the text `<unicode string>`) as `path:line: invalid YAML: what, where`."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = (exc.problem or exc.context or "syntax error").removeprefix("but ")
        line = mark.line + 1 if mark is not None else None
        where = f"column {mark.column + 1}" if mark is not None else ""
        if exc.context and exc.problem and exc.context_mark is not None:
            started = exc.context_mark
            at = "" if started.line == (mark.line if mark else -1) else f"line {started.line + 1}, "
            where += f"; {exc.context} at {at}column {started.column + 1}"
        return YamlSyntaxError(path, line, f"invalid YAML: {what}" + (f" ({where})" if where else ""))
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML does not allow
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    reason = str(exc).split("\n", 1)[0]
    return YamlSyntaxError(path, line, f"invalid YAML: {reason}")


def load_yaml(path: Path) -> YamlDocument:
    """Load one YAML file; raise OSError, or YamlSyntaxError (`file:line: message`) for bad YAML or bytes."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlSyntaxError(path, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                                          f"{exc.start}); save the file as UTF-8") from None
    return parse_yaml(path, text)


def parse_yaml(path: Path, text: str) -> YamlDocument:
    """Parse the YAML text of `path`; raise YamlSyntaxError, whose message is `path:line: invalid YAML: ...`."""
    loader = StrictBoolLoader(text)
    try:  # one parse: the node tree (for line numbers) is also what the data is built from
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise _syntax_error(path, text, exc) from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, root=root)


def expand_env(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string of a nested structure."""
    env = os.environ if environ is None else environ
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            found = env.get(m.group(1))
            if found is None:
                if m.group(2) is None:
                    raise KeyError(m.group(1))
                return m.group(2)
            return found
        return _ENV_VAR.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: expand_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env) for v in value]
    return value
