"""B4: tickets delivered per second by the outbox relay to a zero-latency loopback back office.

A (ours): `Relay(gateway, settings).run(once=True)`, what `open311 relay --once` runs, over N outbox rows
seeded before the round (untimed) in a SQLite file database: claim due rows under a lease, build each
ticket from the database, POST it with the `webhook` adapter (JSON, HMAC signature, Idempotency-Key,
timeouts, capped reply), record the back office's id; default delivery settings, logging on as
`open311 relay` configures it (JSON lines, here written to /dev/null).
B (baseline): a plain `requests.Session().post(url, data=body, headers=headers)` loop over the same N
bodies and headers (as the adapter builds them for the same tickets) to the same server.
The back office: a `http.server.ThreadingHTTPServer` (HTTP/1.1 keep-alive) in a subprocess on
127.0.0.1, answering every POST at once with 201 and `{"id": "BO-<n>"}`.

Rounds alternate A B; tickets per second = N / seconds; the goal ratio is A's rate / B's rate (per round,
then the median), >= 0.8.

Run: `python -m bench.b4_relay [--rounds 7] [--tickets 300] [--profile]` (about 30 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.harness import Goal, fmt, interleave, machine, median, ratios, write_section

GOAL = 0.8
SECRET = "bench-webhook-secret-0123456789"

SERVER = r"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class BackOffice(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        BackOffice.count += 1
        body = b'{"id":"BO-%d"}' % BackOffice.count
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), BackOffice)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()    # returns when the benchmark closes the pipe or dies: then stop too
"""

READING = """\
Reading it / what was tried:

- The ratio is **ours ÷ baseline** in tickets per second (1.0: the relay delivers as fast as a bare
  POST loop). Both sides pay the same back office; its own time (http.server parses each request in
  Python, in another process) is part of both.
- Per ticket the relay does, beyond the POST: its share of one claim (an `UPDATE ... RETURNING` under
  a lease, `FOR UPDATE SKIP LOCKED` on PostgreSQL), reading the request, contact and photos to build
  the ticket, serialising and signing it, reading the reply under a size cap, and recording the
  outcome (a committed `UPDATE` guarded by the lease; SQLite runs `synchronous=FULL`, so a commit
  waits for the disk).
"""


def start_back_office() -> tuple[subprocess.Popen[str], str]:
    """The loopback back office in a subprocess; returns it and its URL."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/tickets"


def build_gateway(folder: Path, url: str) -> Any:
    """An app whose DPW department delivers with the webhook adapter to `url`; its gateway."""
    from open311 import create_app
    from open311.logs import configure_logging
    from tests.delivery import write_config

    config = write_config(folder, {"DPW": {"adapter": "webhook", "options": {"url": url, "secret": SECRET}}})
    app = create_app({"OPEN311_CONFIG": str(config), "OPEN311_DATABASE_URL": f"sqlite:///{folder}/relay.sqlite3",
                      "OPEN311_CREATE_SCHEMA": True, "OPEN311_MEDIA_DIR": str(folder / "media")})
    configure_logging("info")          # as `open311 relay` does; the lines go to /dev/null
    handler = logging.getLogger().handlers[0]
    handler.setStream(open(os.devnull, "w"))  # type: ignore[attr-defined]  # noqa: SIM115
    return app


def payloads(gateway: Any, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and headers the webhook adapter sends for `count` freshly seeded tickets (then released)."""
    from open311.outbox import build_ticket, claim_due, release
    from open311.tuning import DeliverySettings
    from tests.delivery import seed_requests

    seed_requests(gateway, count, "DPW", email="bench@example.org")
    adapter = gateway.adapters[("lacounty.gov", "DPW")]
    out = []
    with gateway.session() as session:
        claimed = claim_due(session, "bench", DeliverySettings(), gateway.clock(), limit=count)
        for item in claimed:
            ticket = build_ticket(session, gateway.config, item, gateway.media)
            body = json.dumps({"idempotency_key": ticket.idempotency_key, "ticket": ticket.to_json()},
                              ensure_ascii=False, separators=(",", ":")).encode()
            headers = {**adapter._headers(body), "Content-Type": "application/json",
                       "Idempotency-Key": ticket.idempotency_key}
            out.append((body, headers))
        release(session, claimed, "bench", gateway.clock())
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write the B4 section."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="profile one extra relay round and print it")
    args = parser.parse_args(argv)
    started = time.monotonic()
    from open311.relay import Relay
    from open311.tuning import DeliverySettings
    from tests.delivery import outbox_states, seed_requests

    server, url = start_back_office()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = build_gateway(Path(tmp), url)
            gateway = app.extensions["open311"]
            settings = DeliverySettings.from_config(app.config)
            bodies = payloads(gateway, args.tickets)
            Relay(gateway, settings).run(once=True)          # warm-up: delivers the rows just built
            http = requests.Session()
            for body, headers in bodies[:50]:
                http.post(url, data=body, headers=headers)

            def ours() -> float:
                seed_requests(gateway, args.tickets, "DPW", email="bench@example.org")
                start = time.perf_counter()
                delivered = Relay(gateway, settings).run(once=True)
                elapsed = time.perf_counter() - start
                if delivered != args.tickets:
                    raise RuntimeError(f"relay delivered {delivered} of {args.tickets}")
                return args.tickets / elapsed

            def base() -> float:
                start = time.perf_counter()
                for body, headers in bodies:
                    reply = http.post(url, data=body, headers=headers)
                    if reply.status_code != 201:
                        raise RuntimeError(f"back office answered {reply.status_code}")
                return len(bodies) / (time.perf_counter() - start)

            values = interleave({"A": ours, "B": base}, args.rounds)
            states = outbox_states(gateway)
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(ours)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    finally:
        server.terminate()
        server.wait(5)
    rate = ratios(values["A"], values["B"])
    a, b, r = median(values["A"]), median(values["B"]), median(rate)
    met = r >= GOAL
    lines = [
        "## B4 relay (bench/b4_relay.py)", "",
        f"`python -m bench.b4_relay`. Machine: {machine()}.", "",
        f"{args.tickets} tickets per round (DPW, webhook adapter, contact data included), SQLite file database "
        f"in a temp dir, default delivery settings (batch {settings.batch}); {args.rounds} rounds interleaved "
        f"A B; medians. Outbox after the run: {dict(sorted(states.items()))}.", "",
        "| measure | median | all rounds (tickets/s) |", "|---|---|---|",
        f"| A (ours): `Relay.run(once=True)`, webhook adapter | {a:.0f} tickets/s ({1e3 / a:.2f} ms each) "
        f"| {fmt(values['A'], 0)} |",
        f"| B (baseline): `requests.Session().post` loop, same bodies | {b:.0f} posts/s ({1e3 / b:.2f} ms each) "
        f"| {fmt(values['B'], 0)} |", "",
        "| ratio | median | per round | goal | met |", "|---|---|---|---|---|",
        f"| **A / B** (ours ÷ baseline, tickets per second) | **{r:.2f}** | {fmt(rate)} | ≥ {GOAL} "
        f"| {'yes' if met else '**no**'} |", "",
        f"Run time: {time.monotonic() - started:.0f} s.", "", READING]
    goals = [Goal("B4", "relay: ours ÷ bare requests loop, tickets/s", r, f">= {GOAL}", met,
                  f"ours {a:.0f}/s, bare {b:.0f}/s")]
    write_section("B4", "\n".join(lines), goals)
    print("\n".join(lines[:14]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
