"""One adapter instance per configured department, from the entry points its configuration names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from open311.adapter import Adapter, load_adapter_class, validate_options
from open311.config.jurisdictions import GatewayConfig
from open311.core.yamlfile import expand_env


def build_adapters(config: GatewayConfig, registry: Mapping[str, Any] | None,
                   http: requests.Session) -> dict[tuple[str, str], Adapter]:
    """One adapter instance per (jurisdiction, department), options validated and ${VARS} expanded."""
    built: dict[tuple[str, str], Adapter] = {}
    for jurisdiction in config.jurisdictions.values():
        for dept in jurisdiction.departments.values():
            cls = load_adapter_class(dept.adapter, registry)
            options = validate_options(cls, expand_env(dept.options))
            built[(jurisdiction.id, dept.code)] = cls(options, http=http)
    return built
