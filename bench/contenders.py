"""The contenders behind one interface: how to start each one's server, how to run its client on
a workload, and where its server put the bytes. The harness does the rest once for all.

Every server and every client is a child process of the harness, so each has its own GIL (or
event loop) and the OS can account its CPU and memory separately.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOOPBACK = "127.0.0.1"


class Unavailable(Exception):
    """The contender cannot run here; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Workload:
    """One file (``concurrency`` unused), or every file of a directory, ``concurrency`` at once.

    ``instrument`` asks the client for a breakdown of its time where it can give one.
    """

    source: Path
    many: bool = False
    concurrency: int = 1
    instrument: bool = False


class Contender(Protocol):
    """One contender. Implementations ignore the arguments they have no use for (ARG002)."""

    name: str
    description: str

    def prepare(self) -> None:
        """Install or check what the contender needs; raise :class:`Unavailable` if it can't."""

    def versions(self) -> dict[str, str]:
        """Software versions worth reporting beside the figures."""

    def supports(self, workload: Workload) -> bool: ...

    def server_argv(self, run_dir: Path, port_file: Path) -> list[str]: ...

    def client_argv(self, port: int, workload: Workload, run_dir: Path, tag: str) -> list[str]:
        """The client's command line; ``tag`` differs for every run on the same server, so
        each run publishes to a fresh destination."""

    def published(self, run_dir: Path, report: dict[str, object]) -> list[Path]:
        """The files the server published for the client's ``report``."""


class Ceiling:
    """The minimal raw-bytes grpcio servicer of :mod:`bench.ceiling`: the most grpcio can do."""

    name = "ceiling"
    description = (
        "minimal sync grpcio servicer: raw bytes (no deserializer), os.pwrite of 1 MiB chunks, "
        "2 streams, no database, no checksum, no fsync"
    )

    def prepare(self) -> None:
        pass

    def versions(self) -> dict[str, str]:
        return {"grpcio": importlib.metadata.version("grpcio")}

    def supports(self, workload: Workload) -> bool:
        return not workload.many

    def server_argv(self, run_dir: Path, port_file: Path) -> list[str]:
        (run_dir / "dest").mkdir(parents=True, exist_ok=True)
        return [
            sys.executable, "-m", "bench.ceiling", "serve",
            "--dir", str(run_dir / "dest"), "--port-file", str(port_file),
        ]  # fmt: skip

    def client_argv(self, port: int, workload: Workload, run_dir: Path, tag: str) -> list[str]:  # noqa: ARG002
        return [
            sys.executable, "-m", "bench.ceiling", "upload",
            "--target", f"{LOOPBACK}:{port}", "--file", str(workload.source), "--streams", "2",
            "--dest", f"{tag}.bin",
        ]  # fmt: skip

    def published(self, run_dir: Path, report: dict[str, object]) -> list[Path]:
        return [run_dir / "dest" / str(report["dest"])]


class Ferry:
    """``ferry serve`` (SQLite, fsync on) and the Python client with its default settings.

    ``host`` is the address the server listens on and the client dials (the long-link
    benchmark puts them in two network namespaces).
    """

    name = "ferry"
    description = (
        "`ferry serve` (SQLite, fsync on, the server's default block size) + "
        "ferry_client.FerryClient defaults (2 streams, CRC32C per block, SHA-256 of the whole "
        "file, hashing timed)"
    )

    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host

    def prepare(self) -> None:
        check = subprocess.run(
            [sys.executable, "-c", "from ferry_client import FerryClient; import ferry_server.cli"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            last = (check.stderr.strip().splitlines() or ["?"])[-1]
            raise Unavailable(f"ferry_client/ferry_server not importable yet ({last})")
        if self._ferry_command() is None:
            raise Unavailable("no `ferry` console script next to the interpreter: run make install")

    def versions(self) -> dict[str, str]:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return {
            "ferry": f"{importlib.metadata.version('ferry')} ({commit or 'no git'}), "
            f"sources {self.fingerprint()}"
        }

    @staticmethod
    def fingerprint() -> str:
        """A digest of Ferry's Python sources as they are on disk now, committed or not."""
        digest = hashlib.sha256()
        for root in ("server/ferry_server", "client/ferry_client", "client/ferry"):
            for path in sorted((REPO_ROOT / root).rglob("*.py")):
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
                digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    @staticmethod
    def _ferry_command() -> str | None:
        return shutil.which("ferry", path=str(Path(sys.executable).parent))

    def supports(self, workload: Workload) -> bool:  # noqa: ARG002
        return True

    def server_argv(self, run_dir: Path, port_file: Path) -> list[str]:
        ferry = self._ferry_command()
        assert ferry is not None, "prepare() checks the console script"
        return [
            ferry, "serve",
            "--listen", f"{self.host}:0",
            "--data-dir", str(run_dir / "data"),
            "--storage-root", str(run_dir / "published"),
            "--port-file", str(port_file),
            # The long-link bench listens on its namespace's link address, which the server
            # refuses without TLS and authentication unless told (a benchmark needs neither).
            *([] if self.host.startswith("127.") else ["--allow-insecure"]),
        ]  # fmt: skip

    def client_argv(self, port: int, workload: Workload, run_dir: Path, tag: str) -> list[str]:
        argv = [
            sys.executable, "-m", "bench.ferry_driver",
            "--target", f"{self.host}:{port}",
            # A fresh state file per run: no earlier run's task is ever "resumed".
            "--state-file", str(run_dir / f"client-state-{tag}.json"),
            "--prefix", tag,
        ]  # fmt: skip
        if workload.many:
            return [*argv, "many", str(workload.source), "--concurrency", str(workload.concurrency)]
        argv += ["one", str(workload.source)]
        return [*argv, "--instrument"] if workload.instrument else argv

    def published(self, run_dir: Path, report: dict[str, object]) -> list[Path]:
        root = run_dir / "published"
        if "store_path" in report:
            return [root / str(report["store_path"])]
        return sorted(p for p in (root / str(report["store_dir"])).iterdir() if p.is_file())


class Tus:
    """``@tus/server`` + ``@tus/file-store`` (Node), uploaded with ``tus-js-client``, the
    server listening on ``host``."""

    name = "tus"
    description = (
        "@tus/server + @tus/file-store (Node) and tus-js-client reading an fs.ReadStream, "
        "whole file in one PATCH (no chunkSize); no checksum, no fsync"
    )
    packages = ("@tus/server", "@tus/file-store", "tus-js-client")

    def __init__(self, host: str = LOOPBACK) -> None:
        self.node = shutil.which("node")
        self.host = host

    def prepare(self) -> None:
        if self.node is None:
            raise Unavailable("node is not on PATH")
        lock = BENCH_DIR / "package-lock.json"
        stamp = BENCH_DIR / "node_modules" / ".ferry-bench-lock.sha256"
        wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
        if stamp.is_file() and stamp.read_text().strip() == wanted:
            return
        npm = shutil.which("npm")
        if npm is None:
            raise Unavailable("npm is not on PATH (needed once to install bench/node_modules)")
        print("bench: installing the tus contender (npm ci --prefix bench)", flush=True)
        done = subprocess.run(
            [npm, "ci", "--prefix", "bench", "--no-audit", "--no-fund"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise Unavailable(f"npm ci failed:\n{done.stdout}{done.stderr}")
        stamp.write_text(wanted + "\n")

    def versions(self) -> dict[str, str]:
        versions = {"node": self._node_version()}
        for package in self.packages:
            manifest = BENCH_DIR / "node_modules" / package / "package.json"
            versions[package] = json.loads(manifest.read_text())["version"]
        return versions

    def _node_version(self) -> str:
        assert self.node is not None
        return subprocess.run(
            [self.node, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()

    def supports(self, workload: Workload) -> bool:  # noqa: ARG002
        return True

    def server_argv(self, run_dir: Path, port_file: Path) -> list[str]:
        assert self.node is not None
        store = run_dir / "store"
        store.mkdir(parents=True, exist_ok=True)
        return [
            self.node, str(BENCH_DIR / "tus" / "server.mjs"),
            "--dir", str(store), "--port-file", str(port_file), "--host", self.host,
        ]  # fmt: skip

    def client_argv(self, port: int, workload: Workload, run_dir: Path, tag: str) -> list[str]:  # noqa: ARG002
        assert self.node is not None
        argv = [
            self.node, str(BENCH_DIR / "tus" / "upload.mjs"),
            "--endpoint", f"http://{self.host}:{port}/files",
        ]  # fmt: skip
        if workload.many:
            return [
                *argv, "--dir", str(workload.source), "--concurrency", str(workload.concurrency)
            ]  # fmt: skip
        return [*argv, "--file", str(workload.source)]

    def published(self, run_dir: Path, report: dict[str, object]) -> list[Path]:
        urls = report["urls"]
        assert isinstance(urls, list)
        # @tus/file-store names each upload's file after the (random) id that ends its URL.
        return [run_dir / "store" / Path(urlparse(str(url)).path).name for url in urls]


def all_contenders() -> list[Contender]:
    return [Ceiling(), Ferry(), Tus()]
