"""Discovery's changeset moves when, and only when, the catalog's content changes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask

from open311.core.dates import format_w3c
from tests.conftest import FIXED_NOW, ROOT, Clock
from tests.helpers import json_of


def changeset(app: Flask) -> str:
    """The changeset of a freshly started app, read from its discovery document."""
    try:
        body = json_of(app.test_client().get("/open311/v2/discovery.json"))
    finally:
        app.extensions["open311"].engine.dispose()
    value: str = body["changeset"]
    assert {e["changeset"] for e in body["endpoints"]} == {value}   # production and the sandbox (test)
    return value


def test_changeset_follows_the_catalog(make_app: Callable[..., Flask], clock: Clock, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "service_definitions", conf / "service_definitions")
    shutil.copytree(ROOT / "service_areas", conf / "service_areas")
    shutil.copy(ROOT / "jurisdictions.yaml", conf / "jurisdictions.yaml")
    config = conf / "jurisdictions.yaml"
    first = changeset(make_app(config))
    assert first == format_w3c(FIXED_NOW)

    clock.now = FIXED_NOW + timedelta(days=1)  # a restart with nothing changed: same changeset
    assert changeset(make_app(config)) == first
    comment = conf / "service_definitions" / "lacounty.gov" / "DPR-TRAIL.yaml"
    comment.write_text("# reviewed by Parks\n" + comment.read_text())  # formatting only: same content
    assert changeset(make_app(config)) == first

    clock.now = FIXED_NOW + timedelta(days=2)  # one definition changes: the changeset is now
    graffiti = conf / "service_definitions" / "lacounty.gov" / "DPW-GRAFFITI.yaml"
    graffiti.write_text(graffiti.read_text().replace("Approximate size in square feet", "Size in square feet"))
    second = changeset(make_app(config))
    assert second == format_w3c(clock.now) != first

    clock.now = FIXED_NOW + timedelta(days=3)  # a service is added
    added = conf / "service_definitions" / "lacounty.gov" / "DPW-NEW.yaml"
    added.write_text(graffiti.read_text().replace("DPW-GRAFFITI", "DPW-NEW").replace("Graffiti Abatement", "New"))
    third = changeset(make_app(config))
    assert third == format_w3c(clock.now)

    # ... and removed again: the day-2 content is back, and with it the day-2 changeset (changesets are
    # recorded per content, first seen; a client notices because the value differs from the one it has).
    clock.now = FIXED_NOW + timedelta(days=4)
    added.unlink()
    assert changeset(make_app(config)) == second != third
