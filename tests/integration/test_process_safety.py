"""What makes forking workers safe: nothing happens at import, and a worker never reuses the master's connections."""

from __future__ import annotations

import subprocess
import sys

from flask import Flask
from sqlalchemy import text

from open311.cli.server import hooks

IMPORT_EVERYTHING = """
import logging, threading
import open311, open311.cli, open311.cli.server, open311.core.logs
import open311.georeport.monitoring, open311.georeport.ratelimits
from open311.core import metrics
assert not metrics.created(), "metrics created at import"
assert threading.active_count() == 1, threading.enumerate()
assert not logging.getLogger().handlers, "logging configured at import"
print("clean")
"""


def test_importing_the_package_has_no_side_effects() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


def test_post_fork_gives_the_worker_its_own_pool_and_leaves_the_masters_alone(app: Flask) -> None:
    engine = app.extensions["open311"].engine
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    inherited = engine.pool
    assert inherited.checkedin() == 1
    hooks(app)["post_fork"](None, None)
    assert engine.pool is not inherited and engine.pool.checkedin() == 0
    assert inherited.checkedin() == 1  # not closed: the socket still belongs to the master
    with engine.connect() as connection:  # the worker opens its own
        assert connection.execute(text("SELECT 1")).scalar() == 1
    inherited.dispose()


FIRST_USE_FROM_MANY_THREADS = """
import sys, threading
from open311.core import metrics
sys.setswitchinterval(1e-6)   # hand the GIL over as often as possible, as a busy worker's threads do
barrier = threading.Barrier(16)
found, failed = [], []
def first() -> None:
    barrier.wait()
    try:
        found.append(metrics.instruments())
    except Exception as exc:
        failed.append(repr(exc))
threads = [threading.Thread(target=first) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert not failed, failed
assert len(found) == 16 and all(f is found[0] for f in found)
print("one set")
"""


def test_threads_asking_for_the_metrics_at_once_get_one_set() -> None:
    # A worker's threads answer its first requests together: each asks for the instruments, and a second set
    # would be a second registration of the same names (prometheus_client's DuplicateTimeseries: a 500).
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", FIRST_USE_FROM_MANY_THREADS], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "one set"
