"""Loopback witnesses: an HTTP server that records every connection, and a FIFO that records every open."""

from __future__ import annotations

import os
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

S = TypeVar("S", bound=socketserver.BaseServer)


class _Recorder(socketserver.BaseRequestHandler):
    """Note the connection, then answer with a tiny HTTP 200 so a fetcher would get content."""

    def handle(self) -> None:
        server: RecordingServer = self.server  # type: ignore[assignment]
        server.connections.append(time.monotonic())
        self.request.settimeout(2)
        try:
            self.request.recv(4096)
            self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nWITNESS-CONTENT")
        except OSError:
            pass


class RecordingServer(socketserver.ThreadingTCPServer):
    """A TCP server on 127.0.0.1 (free port) counting every connection it accepts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.connections: list[float] = []

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(server: S) -> Iterator[S]:
    """Serve `server` (any socketserver server) on a thread for the block, then shut it down and close it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    """Run a RecordingServer for the block."""
    with serving(RecordingServer()) as server:
        yield server


class FifoWitness:
    """A named pipe: whoever opens it for reading is seen (and fed a secret so it does not hang)."""

    SECRET = "FIFO-SECRET-CONTENT"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "secret.txt"
        os.mkfifo(self.path)
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody has it open for reading
                time.sleep(0.005)
                continue
            self.opened += 1
            try:
                if self.opened == 1:
                    os.write(fd, self.SECRET.encode())
            finally:
                os.close(fd)
            time.sleep(0.05)

    def __enter__(self) -> FifoWitness:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)  # one more look after the last parse
        self._stop.set()
        self._thread.join(timeout=5)
