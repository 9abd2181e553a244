"""Real HTTP servers on loopback: the app in a thread, or `open311 serve` (gunicorn) as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serve(app: Flask, port: int = 0) -> Iterator[str]:
    """Serve the app on 127.0.0.1 (`port`, else a free one) in a thread; yield the base URL of the API."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class ServeProcess:
    """An `open311 serve` subprocess and the files its stdout and stderr go to."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    api: str = ""  # http://127.0.0.1:PORT/open311/v2/

    @property
    def root(self) -> str:
        """The server's root URL (for /healthz, /readyz, /metrics)."""
        return self.api.removesuffix("open311/v2/")

    def lines(self) -> list[str]:
        """Every line written so far, stdout then stderr."""
        return [line for path in (self.stdout, self.stderr)
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]

    def entries(self) -> list[dict[str, Any]]:
        """Every line parsed as JSON (each must be one JSON object)."""
        parsed = []
        for line in self.lines():
            try:
                entry = json.loads(line)
            except ValueError:
                raise AssertionError(f"not a JSON log line: {line!r}") from None
            assert isinstance(entry, dict), line
            parsed.append(entry)
        return parsed

    def access(self, method: str, route: str) -> list[dict[str, Any]]:
        """The access lines of one route."""
        return [e for e in self.entries()
                if e.get("event") == "access" and e.get("method") == method and e.get("route") == route]

    def wait_for_access(self, method: str, route: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Wait until `count` access lines of a route were written (they follow the response)."""
        deadline = time.monotonic() + timeout
        while len(found := self.access(method, route)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} access lines for {method} {route}")
            time.sleep(0.05)
        return found


def serve_command() -> list[str]:
    """The installed `open311` command of this environment."""
    return [str(Path(sys.executable).parent / "open311"), "serve"]


# A web app key of its own, so that `serve` never keeps one in the checkout's instance/ folder.
TEST_ENV = {"OPEN311_WEBAPP_API_KEY": "o311_served_by_the_tests"}


@contextmanager
def open311_serve(env: dict[str, str], *args: str, logs: Path, timeout: float = 60) -> Iterator[ServeProcess]:
    """Run `open311 serve --port 0 ARGS` with `env` added; yield once it logs its URL; SIGTERM it afterwards."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / "stdout.log", logs / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([*serve_command(), "--host", "127.0.0.1", "--port", "0", *args],
                                   env={**TEST_ENV, **os.environ, **env}, stdout=stdout, stderr=stderr)
    served = ServeProcess(process, out, err)
    try:
        served.api = _wait_until_ready(served, timeout)
        yield served
    finally:
        stop(served)


def _wait_until_ready(served: ServeProcess, timeout: float) -> str:
    """The URL from the ready line; fails with the output if the server exits or never gets ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in served.lines():
            if '"event": "ready"' in line:
                return str(json.loads(line)["url"])
        if served.process.poll() is not None:
            raise AssertionError(f"open311 serve exited with {served.process.returncode}:\n"
                                 + "\n".join(served.lines()))
        time.sleep(0.05)
    raise AssertionError("open311 serve did not get ready:\n" + "\n".join(served.lines()))


def stop(served: ServeProcess, timeout: float = 30) -> int:
    """SIGTERM the server and wait for it (killing it if it hangs); return its exit code."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
    return served.process.returncode
