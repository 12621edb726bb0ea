"""``python -m bench.capacity`` (part of ``make bench``): the figures behind the capacity model
of docs/design.md. For 1, 2 and 3 replicas (``ferry serve`` processes) on one PostgreSQL
database, sharing one data directory, it uploads 2 files per replica at once with the Python
client (each file through its own replica) and reads from the OS and from PostgreSQL: the
aggregate MB/s, the replicas' CPU seconds per GiB, PostgreSQL's CPU seconds per GiB (every
``postgres`` process), transactions committed per block (``pg_stat_database``), and the most
connections each replica held (``pg_stat_activity``, sampled every 50 ms). Medians of
``--runs`` runs. Prints a Markdown table; with ``--write`` it replaces the "Capacity" section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from ferry_client import FerryClient

from bench.procs import cpu_times
from bench.workload import format_size, parse_size, write_random_file

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
GiB = 1 << 30
MB = 1_000_000
RESULTS = Path(__file__).parent / "RESULTS.md"
_BEGIN = "<!-- capacity: begin -->"
_END = "<!-- capacity: end -->"


@dataclass(frozen=True)
class Run:
    replicas: int
    seconds: float
    bytes: int
    blocks: int
    replica_cpu: float
    postgres_cpu: float
    commits: int
    most_connections: int


def _postgres_cpu() -> float:
    """CPU seconds of every process named postgres (server, backends, WAL writer...)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            total += cpu_times(int(entry.name)).total
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return total


def _commits(database: str) -> int:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


class _ConnectionSampler(threading.Thread):
    """The most connections to ``database`` seen at once, sampled every 50 ms."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.most = 0
        self._done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            while not self._done.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)

    def finish(self) -> int:
        self._done.set()
        self.join()
        return self.most


def _start_replica(work: Path, url: str, data: Path, n: int) -> tuple[subprocess.Popen[bytes], str]:
    port_file = work / f"port-{n}"
    port_file.unlink(missing_ok=True)  # an earlier run's
    log = (work / f"replica-{n}.log").open("wb")
    args = [sys.executable, "-m", "ferry_server", "--listen", "127.0.0.1:0", "--data-dir",
            str(data), "--database-url", url, "--port-file", str(port_file)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((work / f"replica-{n}.log").read_text()[-2000:])
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def one_run(work: Path, replicas: int, files_per_replica: int, size: int) -> Run:
    database = f"ferry_capacity_{secrets.token_hex(4)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    data = work / f"data-{database}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        addresses = []
        for n in range(replicas):
            proc, address = _start_replica(work, url, data, n)
            procs.append(proc)
            addresses.append(address)
        sources = []
        for i in range(replicas * files_per_replica):
            source = work / f"src-{i}.bin"
            if not source.exists():
                write_random_file(source, size)
            sources.append(source)
        sampler = _ConnectionSampler(database)
        sampler.start()
        cpu0 = [cpu_times(p.pid).total for p in procs]
        pg0, commits0, t0 = _postgres_cpu(), _commits(database), time.monotonic()

        def upload(i: int) -> int:
            address = addresses[i % replicas]
            with FerryClient(address, remember_uploads=False) as client:
                result = client.upload(sources[i], f"capacity/{i}.bin")
            return result.block_count

        with ThreadPoolExecutor(len(sources)) as pool:
            blocks = sum(pool.map(upload, range(len(sources))))
        seconds = time.monotonic() - t0
        replica_cpu = sum(cpu_times(p.pid).total - c for p, c in zip(procs, cpu0, strict=True))
        pg_cpu, commits = _postgres_cpu() - pg0, _commits(database) - commits0
        most = sampler.finish()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return Run(replicas, seconds, size * len(sources), blocks, replica_cpu, pg_cpu, commits, most)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity")
    parser.add_argument("--size", default="128M", type=parse_size, help="per file (128M)")
    parser.add_argument("--files-per-replica", default=2, type=int)
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--runs", default=3, type=int)
    parser.add_argument("--write", action="store_true", help="replace the section in RESULTS.md")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.replicas.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ferry-bench-capacity-") as scratch:
        work = Path(scratch)
        for replicas in counts:
            runs = [one_run(work, replicas, args.files_per_replica, args.size)
                    for _ in range(args.runs)]  # fmt: skip
            rows.append(runs)
            print(f"{replicas} replica(s) done", file=sys.stderr)
    lines = [
        f"`python -m bench.capacity` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end): "
        f"{args.files_per_replica} files of {format_size(args.size)} per replica uploaded at "
        "once, each through its own replica, replicas sharing one PostgreSQL database and one "
        f"data directory on this machine; medians of {args.runs} runs.",
        "",
        "| replicas | MB/s, all | replica CPU s/GiB | PostgreSQL CPU s/GiB | commits/block | "
        "most connections/replica |",
        "|---|---|---|---|---|---|",
    ]
    for runs in rows:
        replica_cpu = statistics.median(r.replica_cpu * GiB / r.bytes for r in runs)
        postgres_cpu = statistics.median(r.postgres_cpu * GiB / r.bytes for r in runs)
        lines.append(
            f"| {runs[0].replicas} "
            f"| {statistics.median(r.bytes / r.seconds / MB for r in runs):.0f} "
            f"| {replica_cpu:.2f} | {postgres_cpu:.2f} "
            f"| {statistics.median(r.commits / r.blocks for r in runs):.2f} "
            f"| {statistics.median(r.most_connections / r.replicas for r in runs):.1f} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        section = f"{_BEGIN}\n## Capacity: 1-3 replicas (bench/capacity.py)\n\n{text}\n{_END}"
        old = RESULTS.read_text() if RESULTS.exists() else ""
        if _BEGIN in old and _END in old:
            head, rest = old.split(_BEGIN, 1)
            new = head + section + rest.split(_END, 1)[1]
        else:
            new = old.rstrip() + "\n\n" + section + "\n"
        RESULTS.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
