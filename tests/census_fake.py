"""A loopback stand-in for the US Census Bureau geocoder, answering in its published JSON shape.

GET /geocoder/locations/onelineaddress?address=...&benchmark=...&format=json answers
`{"result": {"input": {...}, "addressMatches": [{"matchedAddress", "coordinates": {"x": long, "y": lat},
"tigerLine", "addressComponents"}]}}`; an address it cannot parse gets HTTP 400 with `{"errors": [...],
"status": "400"}`. A few magic addresses make it misbehave, for the failure tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# address (upper case) -> (long, lat, matched address)
KNOWN = {
    "4801 E 3RD ST, LOS ANGELES, CA 90022": (-118.16505, 34.03891, "4801 E 3RD ST, LOS ANGELES, CA, 90022"),
    "100 N GARFIELD AVE, PASADENA, CA 91101": (-118.14452, 34.14781, "100 N GARFIELD AVE, PASADENA, CA, 91101"),
    "1 OCEAN, NOWHERE": (-118.6, 33.9, "1 OCEAN, NOWHERE, CA, 90000"),
}


def match(address: str, long: float, lat: float, matched: str) -> dict[str, Any]:
    """One entry of addressMatches, as the Census writes it."""
    number, _, rest = matched.partition(" ")
    return {
        "tigerLine": {"side": "L", "tigerLineId": "141604347"},
        "coordinates": {"x": long, "y": lat},
        "addressComponents": {"zip": matched.rsplit(", ", 1)[-1], "streetName": rest.split(",")[0],
                              "preType": "", "city": "", "preDirection": "", "suffixDirection": "",
                              "fromAddress": number, "state": "CA", "suffixType": "", "toAddress": number,
                              "suffixQualifier": "", "preQualifier": ""},
        "matchedAddress": matched,
    }


class CensusHandler(BaseHTTPRequestHandler):
    """Answers onelineaddress lookups; records every query it saw."""

    seen: list[dict[str, list[str]]]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.seen.append(query)
        if url.path != "/geocoder/locations/onelineaddress" or query.get("format") != ["json"]:
            self._send(404, b"<html>Not Found</html>", "text/html")
            return
        address = (query.get("address") or [""])[0].strip().upper()
        benchmark = (query.get("benchmark") or [""])[0]
        if not address or len(address) > 100:
            self._send(400, json.dumps({"errors": ["Address cannot be empty and cannot exceed 100 characters"],
                                        "status": "400"}).encode())
            return
        misbehaviour = {
            "BOOM": lambda: self._send(500, b"Internal Server Error", "text/plain"),
            "MOVED": lambda: self._send(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}),
            "GARBLED": lambda: self._send(200, b"{not json"),
            "HUGE": lambda: self._send(200, b" " * 2_000_000),
        }
        if address in misbehaviour:
            misbehaviour[address]()
            return
        if address == "SLOW":
            time.sleep(1.5)
        matches = [match(address, *KNOWN[address])] if address in KNOWN else []
        body = {"result": {"input": {"address": {"address": address},
                                     "benchmark": {"isDefault": True, "benchmarkDescription": "Public Address "
                                                   "Ranges - Current Benchmark", "id": "4",
                                                   "benchmarkName": benchmark}},
                           "addressMatches": matches}}
        self._send(200, json.dumps(body).encode())


@contextmanager
def census_server() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """Run the fake on 127.0.0.1 (a free port); yield its base URL (…/geocoder) and the queries it saw."""
    seen: list[dict[str, list[str]]] = []
    handler = type("Handler", (CensusHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/geocoder", seen
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
