"""The flask-smorest blueprint all GeoReport routes hang on."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint(
    "georeport", __name__, url_prefix="/open311/v2",
    description="Open311 GeoReport v2. The response format is chosen by the URL suffix (.xml or .json).",
)
