"""Inputs the fuzzers (tests/fuzz) found to crash the gateway, kept as plain regression tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import errors_of


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_multipart_part_without_a_readable_name(client: FlaskClient, api_key: str, fmt: str) -> None:
    """schemathesis (invalid multipart): an unclosed quote in Content-Disposition gave werkzeug a None name."""
    body = b'--XX\r\nContent-Disposition: form-data; name="abc\r\n\r\nvalue\r\n--XX--\r\n'
    r = client.post(f"/open311/v2/requests.{fmt}", data=body, content_type="multipart/form-data; boundary=XX",
                    headers={"Authorization": f"Bearer {api_key}"})
    assert errors_of(r, fmt) == [(400, "A form field has no name.")]
