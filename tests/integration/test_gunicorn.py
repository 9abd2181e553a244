"""`open311 serve` as operators run it: gunicorn workers on PostgreSQL sharing rate limits through Redis,
metrics added up across workers, JSON logs without personal data, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from open311.cli import main
from open311.storage.schema import alembic_config
from tests import databases
from tests.conftest import ROOT
from tests.helpers import GRAFFITI
from tests.integration.live import ServeProcess, open311_serve, serve_command, stop

POST_ROUTE = "/open311/v2/requests.<fmt>"
SENTINELS = {"email": "canary-mail@example.invalid", "phone": "+1-555-0100-9999", "first_name": "Zebulonia",
             "last_name": "Quixotique", "device_id": "device-canary-7731", "account_id": "acct-canary-4410"}


def prepare(env: dict[str, str], *rate_limits: str) -> list[str]:
    """`open311 db upgrade`, then one key per rate limit given; return the keys."""
    runner = CliRunner(env=env)
    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    keys = []
    for limit in rate_limits:
        created = runner.invoke(main, ["keys", "create", "--jurisdiction", "lacounty.gov", "--name", "load test",
                                       "--rate-limit", limit])
        assert created.exit_code == 0, created.output
        keys.append(created.output.strip().splitlines()[-1])
    return keys


@dataclass
class Cluster:
    """Two gunicorn workers on a PostgreSQL schema of their own, counting rate limits in Redis."""

    server: ServeProcess
    key: str  # limited to 20/minute
    spare_key: str  # for tests that are not about the limit
    redis_url: str
    prefix: str


@pytest.fixture(scope="module")
def cluster(postgres_admin: Engine | None, redis_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    base = databases.postgres_url()
    if postgres_admin is None or base is None:
        pytest.skip("PostgreSQL only: runs in the PostgreSQL pass of `make test`")
    tmp = tmp_path_factory.mktemp("gunicorn")
    prefix = f"o311t-{secrets.token_hex(6)}"
    with databases.fresh_schema(postgres_admin, base) as url:
        env = {"OPEN311_DATABASE_URL": url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
               "OPEN311_INTAKE_DIR": str(tmp / "intake"), "OPEN311_RATELIMIT_STORAGE": redis_url,
               "OPEN311_RATELIMIT_PREFIX": prefix, "OPEN311_RATELIMIT_PER_ADDRESS": "1000/minute"}
        key, spare = prepare(env, "20/minute", "1000/minute")
        # One thread per worker: the sync worker, so concurrent requests spread over both processes.
        with open311_serve(env, "--workers", "2", "--threads", "1", logs=tmp / "logs") as server:
            yield Cluster(server, key, spare, redis_url, prefix)
        databases.delete_redis_keys(redis_url, prefix)


def test_21st_post_within_a_limit_of_20_gets_429_across_two_workers(cluster: Cluster) -> None:
    url = cluster.server.api + "requests.json"

    def submit(_: int) -> requests.Response:
        return requests.post(url, data={**GRAFFITI, "api_key": cluster.key}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(submit, range(20)))
    assert [r.status_code for r in accepted] == [200] * 20, [r.text for r in accepted if r.status_code != 200]
    refused = submit(21)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json() == [{"code": 429, "description": "Too many requests for this api_key (its limit is "
                               "20/minute): retry after the number of seconds given in the Retry-After header."}]
    lines = cluster.server.wait_for_access("POST", POST_ROUTE, 21)
    served_by = {e["pid"] for e in lines if e["status"] == 200}
    assert len(served_by) == 2, "both workers took POSTs, and still the 21st was refused"
    client = redis.Redis.from_url(cluster.redis_url)
    try:
        counted = [k.decode() for k in client.scan_iter(match=f"*{cluster.prefix}*key:*")]
    finally:
        client.close()
    assert counted, "the per-key count lives in Redis under this run's prefix"


def test_metrics_add_up_every_worker(cluster: Cluster) -> None:
    route = "/open311/v2/services.<fmt>"
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: requests.get(cluster.server.api + "services.xml", timeout=30).status_code,
                              range(16)))
    assert codes == [200] * 16
    lines = cluster.server.wait_for_access("GET", route, 16)
    assert len({e["pid"] for e in lines}) == 2
    for _ in range(4):  # whichever worker answers the scrape reports both workers' requests
        scrape = requests.get(cluster.server.root + "metrics", timeout=30)
        assert scrape.status_code == 200
        counted = sum(s.value for f in text_string_to_metric_families(scrape.text) for s in f.samples
                      if s.name == "open311_http_requests_total" and s.labels.get("route") == route)
        assert counted == 16
    assert "open311_outbox_messages" in scrape.text
    ready = requests.get(cluster.server.root + "readyz", timeout=30)
    checks = ready.json()["checks"]
    assert ready.status_code == 200 and checks.pop("spatial_index") and checks == {
        "database": "ok", "schema": ScriptDirectory.from_config(alembic_config(None)).get_current_head(),
        "rate_limit_storage": "ok"}


def test_logs_are_json_lines_without_personal_data(cluster: Cluster) -> None:
    api, key = cluster.server.api, cluster.spare_key
    before = len(cluster.server.access("POST", POST_ROUTE))
    posted = requests.post(f"{api}requests.xml?api_key={key}&email={SENTINELS['email']}",
                           data={**GRAFFITI, **SENTINELS}, timeout=30)
    invalid = requests.post(f"{api}requests.json?api_key={key}", data={**SENTINELS, "lat": "north"}, timeout=30)
    wrong_key = requests.post(f"{api}requests.json?api_key=o311_{SENTINELS['account_id']}", data=SENTINELS,
                              timeout=30)
    as_json = requests.post(f"{api}requests.json", json={**GRAFFITI, **SENTINELS}, timeout=30,
                            headers={"Authorization": f"Bearer {key}"})
    searched = requests.get(f"{api}requests.json", params=SENTINELS, timeout=30)
    lost = requests.get(f"{api}{SENTINELS['email']}/{SENTINELS['device_id']}.json", timeout=30)
    assert [r.status_code for r in (posted, invalid, wrong_key, as_json, searched, lost)] == \
        [200, 400, 403, 200, 200, 404]
    cluster.server.wait_for_access("POST", POST_ROUTE, before + 4)
    cluster.server.wait_for_access("GET", "unmatched", 1)
    entries = cluster.server.entries()  # every line of both streams is one JSON object
    assert any(e.get("logger") == "gunicorn.access" for e in entries)
    text = "\n".join(cluster.server.lines())
    for secret in (*SENTINELS.values(), key, key[5:]):
        assert secret not in text


def test_serve_stops_cleanly_on_sigterm(database_url: str, on_postgresql: bool, tmp_path: Path) -> None:
    env = {"OPEN311_DATABASE_URL": database_url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
           "OPEN311_INTAKE_DIR": str(tmp_path / "intake"), "TMPDIR": str(tmp_path)}
    prepare(env)
    with open311_serve(env, "--workers", "2", logs=tmp_path / "logs") as server:
        assert requests.get(server.root + "healthz", timeout=30).json() == {"status": "ok"}
        assert requests.get(server.root + "readyz", timeout=30).status_code == 200
        assert [p.name for p in tmp_path.glob("open311-metrics-*")], "multiprocess metrics directory in use"
        assert stop(server) == 0
    entries = server.entries()
    booted = [e for e in entries if e["message"].startswith("Booting worker")]
    assert len(booted) == (2 if on_postgresql else 1)  # SQLite keeps a single process
    if not on_postgresql:
        assert any(e["message"].startswith("SQLite runs with a single worker process") for e in entries)
    assert any(e["message"] == "Shutting down: Master" for e in entries)
    assert not list(tmp_path.glob("open311-metrics-*")), "the metrics directory is removed on exit"


def test_serve_refuses_a_database_not_at_the_newest_migration(database_url: str, tmp_path: Path) -> None:
    env = {"OPEN311_DATABASE_URL": database_url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
           "OPEN311_INTAKE_DIR": str(tmp_path / "intake")}
    done = subprocess.run([*serve_command(), "--port", "0"], env={**os.environ, **env}, capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert b"run `open311 db upgrade` first" in done.stderr
