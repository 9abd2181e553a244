"""Schemathesis over the app's own OpenAPI document, in-process (WSGI): every operation, valid and invalid data.

Operations come from /openapi.json, so a route documented later is fuzzed without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from open311.intake.keys import create_key
from open311.services import Services
from tests.fuzz.checks import check_answer
from tests.fuzz.tally import FUZZ

VALID = {"service_code": "DPW-GRAFFITI", "lat": "34.0239", "long": "-118.1720"}
ANSWERS = {"surface_type": "wall", "property_type": "public"}


def steer(case: Any, how: str) -> None:
    """Overlay some valid fields on a generated body, so the fuzzer also reaches storing and deduplication."""
    if how == "as generated" or not isinstance(case.body, dict):
        return
    for values in (case.body, case.query or {}):
        values.pop("jurisdiction_id", None)
        values.pop("api_key", None)
    case.body.update(VALID if how == "valid location" else {"service_code": VALID["service_code"]})
    if how == "valid location":
        if case.media_type == "application/json":
            case.body["attributes"] = ANSWERS
        else:
            case.body.update({f"attribute[{k}]": v for k, v in ANSWERS.items()})


def fuzzer(operation: Any, mode: schemathesis.GenerationMode, key: str) -> Callable[[], None]:
    """A hypothesis test sending generated cases of one operation to the app and checking each answer."""
    name = f"schemathesis {mode.value} {operation.method.upper()} {operation.path}"

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode),
           how=st.sampled_from(["as generated", "valid service", "valid location"]))
    def run(case: Any, how: str) -> None:
        steer(case, how)
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        headers = {k.lower(): v[0] for k, v in response.headers.items()}
        sent = (dict(response.request.headers), response.request.body)
        check_answer(name, case.method, response.request.path_url, response.status_code, headers, response.content,
                     sent)

    return run


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_every_documented_operation(fuzz_app: Flask, mode: schemathesis.GenerationMode) -> None:
    gw: Services = fuzz_app.extensions["open311"]
    with gw.session() as s:
        _, key = create_key(s, "lacounty.gov", "fuzz", gw.clock())
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        try:
            fuzzer(operation, mode, key)()
        except Unsatisfiable:
            # An operation whose every parameter is free text has no invalid input to generate.
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
