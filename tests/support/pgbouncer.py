"""A real PgBouncer (Debian's ``pgbouncer`` package) in transaction mode on a loopback port, in
front of the test PostgreSQL at 127.0.0.1:5432, with a temporary directory of its own; stopped
with SIGKILL (its data is nothing). Missing or unable to start: skipped, or failed under CI."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.components import unavailable
from tests.support.databases import PG_DSN

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
#: PgBouncer refuses to run as root; when the tests run as root it drops to this user.
RUN_AS = "postgres"


@dataclass(frozen=True)
class PgBouncer:
    port: int
    directory: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(port: int, directory: Path) -> str:
    return f"""\
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 4
server_reset_query =
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


@contextmanager
def running_pgbouncer() -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the test PostgreSQL, until the block ends."""
    if not Path(PGBOUNCER).exists():
        unavailable(
            "pgbouncer is not installed: apt-get install pgbouncer (root; make pgbouncer-deps)"
        )
    directory = Path(tempfile.mkdtemp(prefix="ferry-pgbouncer-"))
    port = _free_port()
    (directory / "users.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(_config(port, directory))
    args = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(directory, user.pw_uid, user.pw_gid)
        for path in directory.iterdir():
            os.chown(path, user.pw_uid, user.pw_gid)
        args[1:1] = ["-u", RUN_AS]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    bouncer = PgBouncer(port, directory)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                dsn = PG_DSN.replace("port=5432", f"port={port}")
                with psycopg.connect(dsn, connect_timeout=2, prepare_threshold=None) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.Error as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = (
                        process.stderr.read().decode(errors="replace") if process.stderr else ""
                    )
                    unavailable(f"pgbouncer did not start: {exc}; {stderr}{bouncer.log}")
                time.sleep(0.05)
        yield bouncer
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(directory, ignore_errors=True)
