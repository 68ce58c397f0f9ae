"""A throw-away PostgreSQL server for tests.

``PgServer.start()`` runs ``initdb`` in a fresh temp dir and starts ``postgres`` on a free
localhost port (unix socket in the temp dir). PostgreSQL refuses to run as root, so when the
tests run as root the temp dir is given to the ``postgres`` user and the binaries run through
``runuser -u postgres --``. Missing binaries are a test *failure* naming the fix
(``scripts/system-deps.sh`` installs PostgreSQL), never a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    exe = shutil.which("initdb")
    if exe and shutil.which("pg_ctl"):
        return Path(os.path.realpath(exe)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    root: Path
    port: int
    bindir: Path
    prefix: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                              timeout=timeout)

    @classmethod
    def start(cls) -> PgServer:
        bindir = _bindir()
        if bindir is None:
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found: run "
                        "`bash scripts/system-deps.sh` (installs the postgresql package)")
        prefix: list[str] = []
        root = Path(tempfile.mkdtemp(prefix="salesplan-pg-"))
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(root, ignore_errors=True)
                pytest.fail("running as root but there is no `postgres` user: run "
                            "`bash scripts/system-deps.sh` (installs the postgresql package)")
            os.chown(root, pw.pw_uid, pw.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        server = cls(root, _free_port(), bindir, prefix)
        init = server._run(str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                           "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if init.returncode:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"initdb failed: {init.stderr or init.stdout}")
        opts = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        run = server._run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", opts,
                          "-l", str(root / "server.log"), "-w", "-t", "60", "start")
        if run.returncode:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            server.stop()
            pytest.fail(f"PostgreSQL did not start: {run.stderr or run.stdout}\n{log}")
        server._wait()
        return server

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"PostgreSQL did not accept connections on port {self.port}")

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                      "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a PostgreSQL server started for this test session."""
    server = PgServer.start()
    try:
        yield server.url
    finally:
        server.stop()
