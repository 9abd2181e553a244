"""The staff work queue's pages at /staff/ (docs/staff.md): server-rendered, working without scripts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the staff pages (their views import on registration)."""
    from open311.georeport.staff import delivery_views, login_views, queue_views  # noqa: F401 - routes
    from open311.georeport.staff.web import bp

    app.register_blueprint(bp)
