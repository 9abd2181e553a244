"""A PostgreSQL server of one test worker's own, so the PostgreSQL pass can run on several workers.

The update feed shows an update only once every older transaction of the whole server has ended (its horizon
is pg_snapshot_xmin: open311/feeds/update_query.py), so two workers on one server hold back each other's
updates. Each xdist worker after the first therefore runs its tests on a server of its own: initdb and pg_ctl
of the same major version as the server OPEN311_TEST_DATABASE_URL names, with its collation, on a free
loopback port, in a temporary folder removed when the worker ends. Both are real PostgreSQL servers; the first
worker keeps the named one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

START_TIMEOUT = 60


class ClusterError(RuntimeError):
    """The worker's own server could not be made, and why."""


@dataclass
class Cluster:
    """A running private server: its folder and the URL of its `test` database."""

    folder: Path
    url: str
    bindir: Path
    user: str | None   # run as this user (root may not run a PostgreSQL server), or as ourselves

    def stop(self) -> None:
        """Stop the server at once and remove its folder (nothing in it is kept)."""
        if self.folder.exists():
            with contextlib.suppress(ClusterError):   # never started, or already gone: the folder goes all the same
                _run(self, "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop", check=False)
            shutil.rmtree(self.folder, ignore_errors=True)


def _run(cluster: Cluster, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(cluster.bindir / tool), *args]
    if cluster.user is not None:
        command = ["runuser", "-u", cluster.user, "--", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:   # no runuser, or a server that never answered
        raise ClusterError(f"{tool}: {exc}") from exc
    if check and done.returncode != 0:
        raise ClusterError(f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")
    return done


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bindir(major: int) -> Path:
    """The server tools of that major version: Debian's versioned folder, else the PATH's."""
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "pg_ctl").exists():
        return debian
    found = shutil.which("pg_ctl")
    if found is None:
        raise ClusterError(f"no pg_ctl of PostgreSQL {major} on this machine")
    return Path(found).parent


def start_beside(shared_url: str) -> Cluster | None:
    """A private server like the one `shared_url` names; None when that one does not answer (the run then
    reports it as it always has)."""
    try:
        engine = create_engine(shared_url, poolclass=NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
            collation = str(connection.execute(text("SHOW lc_collate")).scalar_one())
        engine.dispose()
    except Exception:  # unreachable: pytest_sessionstart says so (or skips an optional pass)
        return None
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="o311pg_"))
    cluster = Cluster(folder, "", _bindir(version // 10000), user)
    atexit.register(cluster.stop)
    if user is not None:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise ClusterError(f"running as root, and there is no {user!r} user to run a server as") from None
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data = folder / "data"
    _run(cluster, "initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
         f"--locale={collation}", "--no-sync")
    port = _free_port()
    options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
    _run(cluster, "pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-o", options, "-w",
         "-t", str(START_TIMEOUT), "start")
    base = make_url(shared_url).set(host="127.0.0.1", port=port, username="postgres", password=None)
    admin = create_engine(base.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()
    cluster.url = base.render_as_string(hide_password=False)
    return cluster
