"""Running ``ferry serve`` as a real child process that tests can kill and restart, alone, as
two replicas sharing one database and one data directory, or as replicas sharing nothing but
PostgreSQL and an object store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
from ferry.v1 import ferry_pb2_grpc as rpc


class ServerProcess:
    """A ``python -m ferry_server`` child on a loopback port, with its data dir and database.

    ``start()`` after ``kill()`` restarts it on the same data directory and database (and the
    same port, so clients reconnect to the same address).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        extra_args: list[str] | None = None,
        name: str = "server",
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.name = name
        self.database_url = database_url
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{name}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        port_file = self.data_dir.parent / f"{self.name}.port"
        port_file.unlink(missing_ok=True)
        args = [
            sys.executable, "-m", "ferry_server",
            "--listen", f"127.0.0.1:{self.port}",
            "--data-dir", str(self.data_dir),
            "--port-file", str(port_file),
            "--min-block-size", "64K",
            *self.extra_args,
        ]  # fmt: skip
        if self.database_url:
            args += ["--database-url", self.database_url]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=log, env={**os.environ, **self.env}
            )
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferry serve exited: {self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ferry serve did not start: {self.log_path.read_text()}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        with grpc.insecure_channel(self.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stub(self, channel: grpc.Channel) -> rpc.FerryServiceStub:
        return rpc.FerryServiceStub(channel)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


@contextmanager
def two_replicas(
    data_dir: Path, database_url: str, extra_args: list[str] | None = None
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Replicas A and B on one database and one data directory, started at once (the schema
    migration must be safe with two replicas racing); killed on exit, after which neither log
    may hold a traceback."""
    a = ServerProcess(data_dir, database_url=database_url, extra_args=extra_args, name="replica-a")
    b = ServerProcess(data_dir, database_url=database_url, extra_args=extra_args, name="replica-b")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda p: p.start(), [a, b]))
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()
    logs = a.log_path.read_text() + b.log_path.read_text()
    assert "Traceback" not in logs


@contextmanager
def object_store_replicas(
    base: Path,
    database_url: str,
    storage: str,
    endpoint_url: str,
    credentials: dict[str, str],
    extra_args: list[list[str]],
) -> Iterator[list[ServerProcess]]:
    """One replica per entry of ``extra_args`` (its own flags), each with its own data
    directory and spool: they share only ``database_url`` and the object store ``storage``
    (credentials through the AWS chain's environment variables). Started at once; killed on
    exit, after which no log may hold a traceback."""
    replicas = [
        ServerProcess(
            base / f"replica-{n}" / "data",
            database_url=database_url,
            name=f"replica-{n}",
            extra_args=["--storage", storage, "--s3-endpoint-url", endpoint_url, *args],
            env=credentials,
        )
        for n, args in enumerate(extra_args)
    ]
    for replica in replicas:
        replica.data_dir.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(len(replicas)) as pool:
        list(pool.map(lambda p: p.start(), replicas))
    try:
        yield replicas
    finally:
        for replica in replicas:
            replica.kill()
    for replica in replicas:
        assert "Traceback" not in replica.log_path.read_text()
