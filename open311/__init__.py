"""Open311 GeoReport v2 gateway: create_app puts the HTTP layer over the services that bootstrap built.

Nothing heavy is imported here, so that `open311.cli` and the workers start without Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None, *, adapters: Mapping[str, Any] | None = None) -> Flask:
    """Build the services (settings, config, database, adapters, media store, GIS), then the Flask app over them."""
    from open311.bootstrap import bootstrap
    from open311.georeport.app import build_app

    services = bootstrap(test_config, adapters=adapters)
    try:
        return build_app(services, test_config)
    except BaseException:
        services.dispose()
        raise
