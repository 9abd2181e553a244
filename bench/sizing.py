"""Sizing: requests/s of GET feed and POST through `open311 serve` with 1, 2 and 4 workers on PostgreSQL.

For each worker count, three targets are measured in interleaved rounds (baseline, feed, POST,
baseline, feed, POST, ...) and the median of the rounds is reported, with the gateway's rate as a
ratio of the bare baseline measured in the same run: a gunicorn with the same workers and threads
serving a fixed 27-byte answer (bench/baseline.py). The load generator is wrk, on the same machine.

- GET feed: `GET requests.json?service_code=DPR-RESTROOM` returning the 100 seeded requests (~60 kB).
- POST: form-encoded `POST requests.json` (DPW-GRAFFITI with attributes), one row + outbox row per
  request, with the production rate limiter (per key and per address, counted in Redis).

Needs wrk, PostgreSQL (OPEN311_BENCH_DATABASE_URL, default the test server) and Redis
(OPEN311_BENCH_REDIS_URL). Run: .venv/bin/python -m bench.sizing [--workers 1 2 4] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.databases import admin_engine, delete_redis_keys, fresh_schema
from tests.helpers import GRAFFITI
from tests.integration.live import ServeProcess, open311_serve, stop

ROOT = Path(__file__).resolve().parent.parent
OPEN311 = str(Path(sys.executable).parent / "open311")
RESTROOM = {"service_code": "DPR-RESTROOM", "lat": "34.0239", "long": "-118.1720",
            "attribute[park_name]": "Belvedere Park", "attribute[issue]": "supplies",
            "description": "No paper towels in the north restroom"}
FEED = "requests.json?service_code=DPR-RESTROOM"
SEEDED = 100


@dataclass(frozen=True)
class Sample:
    """One wrk run: throughput, latency, refusals, and the server's CPU time per request."""

    rate: float
    p50: float
    p99: float
    errors: int
    cpu_ms: float


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (gunicorn's master and workers) so far."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for each in (pid, *map(int, children)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker that just exited
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk(url: str, seconds: int, connections: int, script: Path | None = None, server: int | None = None) -> Sample:
    """Run wrk once against `url`; `server` is the pid whose CPU time is charged to the requests."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    before = cpu_seconds(server) if server else 0.0
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(server) - before if server else 0.0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Sample(rate, _percentile(out, "50"), _percentile(out, "99"), int(errors.group(1)) if errors else 0,
                  1000 * used / max(done, 1))


def _percentile(out: str, which: str) -> float:
    """A latency percentile of wrk's --latency table, in milliseconds."""
    value, unit = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def post_script(key: str, directory: Path) -> Path:
    """A wrk Lua script that POSTs the graffiti form with the key."""
    body = "&".join(f"{k}={requests.utils.quote(v)}" for k, v in {**GRAFFITI, "api_key": key}.items())
    path = directory / "post.lua"
    path.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    return path


def start_baseline(workers: int, threads: int, logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn serving bench/baseline.py on a free port; return the process and its URL."""
    err = logs / f"baseline-{workers}.log"
    with err.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
                                    "-b", "127.0.0.1:0", "--no-control-socket", "bench.baseline:app"],
                                   cwd=ROOT, stderr=stderr, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: (http://[\d.:]+)", err.read_text())
        if found:
            time.sleep(1)  # workers boot
            return process, found.group(1) + "/"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(err.read_text())


def prepare(env: dict[str, str]) -> str:
    """Schema, a key without a practical limit, and the seeded feed; return the key."""
    run = {**os.environ, **env}
    subprocess.run([OPEN311, "db", "upgrade"], env=run, check=True, capture_output=True)
    created = subprocess.run([OPEN311, "keys", "create", "--jurisdiction", "lacounty.gov", "--name", "bench",
                              "--rate-limit", "100000000/minute"], env=run, check=True, capture_output=True, text=True)
    return created.stdout.strip().splitlines()[-1]


def seed(server: ServeProcess, key: str) -> None:
    """The requests the GET feed returns."""
    for _ in range(SEEDED):
        answer = requests.post(server.api + "requests.json", data={**RESTROOM, "api_key": key}, timeout=30)
        answer.raise_for_status()


def measure(workers: int, threads: int, env: dict[str, str], key: str, args: argparse.Namespace,
            work: Path) -> dict[str, list[Sample]]:
    """Interleaved rounds of baseline, feed and POST for one worker count."""
    results: dict[str, list[Sample]] = {"baseline": [], "feed": [], "post": []}
    script = post_script(key, work)
    baseline, base_url = start_baseline(workers, threads, work)
    try:
        with open311_serve(env, "--workers", str(workers), "--threads", str(threads),
                           logs=work / f"serve-{workers}") as server:
            if not requests.get(server.api + FEED, timeout=30).json():
                seed(server, key)
            for url, s in ((base_url, None), (server.api + FEED, None), (server.api + "requests.json", script)):
                wrk(url, 1, args.connections, s)  # warm-up
            pid = server.process.pid
            for _ in range(args.rounds):
                results["baseline"].append(wrk(base_url, args.seconds, args.connections, server=baseline.pid))
                results["feed"].append(wrk(server.api + FEED, args.seconds, args.connections, server=pid))
                results["post"].append(wrk(server.api + "requests.json", args.seconds, args.connections, script, pid))
            stop(server)
    finally:
        baseline.terminate()
        baseline.wait(30)
    return results


def report(workers: int, results: dict[str, list[Sample]]) -> str:
    """One markdown table row: medians, ratios to the baseline, latencies, CPU per request, refusals."""

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in results[name])

    base = median("baseline", "rate")
    cells = [f"{workers}", f"{base:,.0f}"]
    for name in ("feed", "post"):
        rate = median(name, "rate")
        cells += [f"{rate:,.0f} ({rate / base:.3f})", f"{median(name, 'p50'):.0f} / {median(name, 'p99'):.0f}",
                  f"{median(name, 'cpu_ms'):.1f}"]
    cells.append(str(sum(r.errors for name in ("feed", "post") for r in results[name])))
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    """Parse arguments, measure each worker count, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    database = os.environ.get("OPEN311_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("OPEN311_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"o311bench-{secrets.token_hex(4)}"
    admin = admin_engine(database)
    rows = []
    print(f"machine: {os.cpu_count()} CPUs, load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, fresh_schema(admin, database) as url:
        work = Path(tmp)
        env = {"OPEN311_DATABASE_URL": url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
               "OPEN311_INTAKE_DIR": str(work / "intake"), "OPEN311_RATELIMIT_STORAGE": redis_url,
               "OPEN311_RATELIMIT_PREFIX": prefix, "OPEN311_RATELIMIT_PER_ADDRESS": "100000000/minute",
               "OPEN311_DATABASE_POOL_SIZE": str(args.threads)}
        key = prepare(env)
        try:
            for workers in args.workers:
                rows.append(report(workers, measure(workers, args.threads, env, key, args, work)))
                print(rows[-1], flush=True)
        finally:
            delete_redis_keys(redis_url, prefix)
    admin.dispose()
    print(f"load average after: {os.getloadavg()}")
    print("| workers | baseline req/s | GET feed req/s (ratio) | feed p50 / p99 ms | feed CPU ms/req "
          "| POST req/s (ratio) | POST p50 / p99 ms | POST CPU ms/req | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
