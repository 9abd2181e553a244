"""The residents' status pages at /r/<token> (docs/notifications.md): no account, no contact data shown."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the status pages."""
    from open311.georeport.status.pages import bp

    app.register_blueprint(bp)
