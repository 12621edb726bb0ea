"""Measured runs: a :class:`Session` is one contender's server on a fresh, empty directory; each
run on it sends a workload to a fresh destination with the contender's client, reads the
server's CPU time from the OS around it, and checks the published bytes against the source
before any figure is kept (then deletes them)."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contenders import REPO_ROOT, Contender, Workload
from bench.procs import Server, machine_busy, run_client
from bench.workload import check_same_file, check_same_files, warm


@dataclass(frozen=True, slots=True)
class Expected:
    """What the published bytes must hash to: one file, or a set of files in any order."""

    sources: tuple[Path, ...]
    sha256: tuple[str, ...]
    sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Measurement:
    contender: str
    bytes: int
    files: int
    seconds: float
    server_cpu_user: float
    server_cpu_system: float
    #: The server's VmHWM when the run ended: its peak since it started, not only this run's.
    server_peak_rss: int
    client_cpu: float
    client_peak_rss: int
    #: CPU seconds the rest of the machine (other processes, kernel threads) spent while the
    #: client process lived, and that lifetime in seconds.
    other_cpu: float = 0.0
    window: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Bytes per second."""
        return self.bytes / self.seconds

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds

    @property
    def server_cpu(self) -> float:
        return self.server_cpu_user + self.server_cpu_system

    @property
    def other_load(self) -> float:
        """The rest of the machine's average load during the run, in cores."""
        return self.other_cpu / self.window if self.window > 0 else 0.0


def _client_timeout(total_bytes: int, files: int) -> float:
    # Generous (20 MB/s, 20 files/s) yet bounded, so a stuck run ends by itself.
    return 120.0 + total_bytes / 20e6 + files / 20


class Session:
    """One contender's server, started on an empty directory, serving one or more runs."""

    def __init__(self, contender: Contender, work_dir: Path, name: str) -> None:
        self.contender = contender
        self.run_dir = work_dir / f"{contender.name}-{name}"
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        try:
            self.server = Server(
                contender.name,
                contender.server_argv(self.run_dir, self.run_dir / "port"),
                self.run_dir / "port",
                self.run_dir / "server.log",
                cwd=REPO_ROOT,
            )
        except BaseException:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            raise

    def close(self) -> None:
        try:
            self.server.stop()
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def measure(self, workload: Workload, expected: Expected, tag: str) -> Measurement:
        """One run; ``tag`` must be new on this session (it names the destination)."""
        contender, server = self.contender, self.server
        # Writeback left over from the previous run would otherwise land on this one's clock.
        os.sync()
        warm(expected.sources)
        server.check_alive()
        cpu_before = server.cpu()
        busy_before, t0 = machine_busy(), time.monotonic()
        client = run_client(
            contender.name,
            contender.client_argv(server.port, workload, self.run_dir, tag),
            self.run_dir / f"client-{tag}.log",
            cwd=REPO_ROOT,
            timeout=_client_timeout(sum(expected.sizes), len(expected.sizes)),
        )
        server_cpu = server.cpu() - cpu_before
        window, busy = time.monotonic() - t0, machine_busy() - busy_before
        server.check_alive()
        server_rss = server.peak_rss()
        report = client.report
        published = contender.published(self.run_dir, report)
        if not workload.many:
            check_same_file(published[0], expected.sizes[0], expected.sha256[0])
        else:
            check_same_files(published, expected.sha256)
        if report["bytes"] != sum(expected.sizes) or report["files"] != len(expected.sizes):
            raise AssertionError(f"{contender.name} client reports {report}, not the workload")
        for path in published:
            path.unlink()
        details = {
            k: v for k, v in report.items() if k not in {"seconds", "bytes", "files", "urls"}
        }
        return Measurement(
            contender=contender.name,
            bytes=int(report["bytes"]),
            files=int(report["files"]),
            seconds=float(report["seconds"]),
            server_cpu_user=server_cpu.user,
            server_cpu_system=server_cpu.system,
            server_peak_rss=server_rss,
            client_cpu=float(report["client_cpu_seconds"]),
            client_peak_rss=client.peak_rss,
            other_cpu=max(0.0, busy - server_cpu.total - client.cpu.total),
            window=window,
            details=details,
        )
