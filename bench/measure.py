"""One measured run of one contender on one workload: a fresh server in a fresh directory, its
client run to completion, the server's CPU and memory read from the OS around it, and the
published bytes checked against the source before any figure is kept."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contenders import REPO_ROOT, Contender, Workload
from bench.procs import Server, run_client
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
    server_peak_rss: int
    client_cpu: float
    client_peak_rss: int
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


def _client_timeout(total_bytes: int, files: int) -> float:
    # Generous (20 MB/s, 20 files/s) yet bounded, so a stuck run ends by itself.
    return 120.0 + total_bytes / 20e6 + files / 20


def measure(
    contender: Contender, workload: Workload, expected: Expected, work_dir: Path, label: str
) -> Measurement:
    run_dir = work_dir / f"{contender.name}-{label}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    # Writeback left over from the previous run would otherwise land on this one's clock.
    os.sync()
    warm(expected.sources)
    try:
        server = Server(
            contender.name,
            contender.server_argv(run_dir, run_dir / "port"),
            run_dir / "port",
            run_dir / "server.log",
            cwd=REPO_ROOT,
        )
        with server:
            cpu_before = server.cpu()
            client = run_client(
                contender.name,
                contender.client_argv(server.port, workload, run_dir),
                run_dir / "client.log",
                cwd=REPO_ROOT,
                timeout=_client_timeout(sum(expected.sizes), len(expected.sizes)),
            )
            server.check_alive()
            server_cpu = server.cpu() - cpu_before
            server_rss = server.peak_rss()
        report = client.report
        published = contender.published(run_dir, report)
        if len(expected.sha256) == 1 and not workload.many:
            check_same_file(published[0], expected.sizes[0], expected.sha256[0])
        else:
            check_same_files(published, expected.sha256)
        if report["bytes"] != sum(expected.sizes) or report["files"] != len(expected.sizes):
            raise AssertionError(f"{contender.name} client reports {report}, not the workload")
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
            details=details,
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
