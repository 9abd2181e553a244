"""Marshmallow helpers shared by the config and catalog loaders: strict fields, error paths."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import ValidationError, fields


class StrictBoolean(fields.Boolean):
    """A boolean that accepts only real booleans (YAML `true`/`false`), never `yes` or 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false (unquoted).")
        return value


class StrictString(fields.String):
    """A string that refuses numbers and booleans, so `key: 01` or `key: yes` must be quoted."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError(f"Must be a string; quote the value {value!r}.")
        return super()._deserialize(value, attr, data, **kwargs)


def error_paths(messages: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Flatten marshmallow's nested error messages into (key path, message) pairs."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = prefix if key == "_schema" else (*prefix, key)
            yield from error_paths(value, path)
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from error_paths(item, prefix)
    else:
        text = str(messages)
        if text == "Unknown field.":
            text = "Unknown key (typo?)."
        yield prefix, text


class KeyedMapping(fields.Dict):
    """A Dict whose errors are keyed by the mapping's own keys (no `key`/`value` level in paths)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        except ValidationError as exc:
            raise ValidationError(_drop_key_value_level(exc.messages)) from None


def _drop_key_value_level(messages: Any) -> Any:
    """{k: {"key": [...], "value": {...}}} -> {k: {"_schema": [...], ...}}."""
    if not isinstance(messages, Mapping):
        return messages
    out: dict[Any, Any] = {}
    for k, v in messages.items():
        if isinstance(v, Mapping) and set(v) <= {"key", "value"}:
            value_errors = v.get("value", {})
            key_errors = v.get("key")
            if key_errors:
                value_errors = ({"_schema": key_errors, **value_errors} if isinstance(value_errors, Mapping)
                                else [*key_errors, *value_errors])
            out[k] = value_errors
        else:
            out[k] = v
    return out
