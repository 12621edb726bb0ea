"""Ferry into an object store against the direct upload a user would do instead: one file
(1 GiB by default) uploaded to a loopback SeaweedFS by boto3's managed upload (s3transfer),
then through ``ferry serve --storage s3://...`` with the Python client; and for the CPU target,
the same file through ``ferry serve`` on the filesystem. Part of ``make bench`` (after the main
phases); alone::

    .venv/bin/python -m bench.s3_upload [--size 1G] [--runs 3]

Per mode, the median of ``runs``: MB/s, and core-seconds per GiB of the Ferry server, the
uploading client (this process) and ``weed``. What Ferry adds is its total (server + client +
weed) minus the direct upload's total (client + weed). Whether Merge read data back from the
store is taken from the server's log (``reading back from the store``). The figures replace
the "Object store" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3.s3.transfer
from ferry_client import FerryClient

from bench.procs import cpu_times
from bench.workload import format_size, parse_size, write_random_file
from tests.support.seaweedfs import S3Endpoint, SeaweedFS

GiB = 1 << 30
MB = 1_000_000
RESULTS = Path(__file__).parent / "RESULTS.md"
_BEGIN = "<!-- s3-upload: begin -->"
_END = "<!-- s3-upload: end -->"


@dataclass(frozen=True)
class Run:
    seconds: float
    server_cpu: float
    client_cpu: float
    weed_cpu: float
    read_back: bool


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu(pid: int) -> float:
    times = cpu_times(pid)
    return times.user + times.system


def direct(endpoint: S3Endpoint, source: Path, weed: int) -> Run:
    s3 = endpoint.client(max_pool_connections=10)
    config = boto3.s3.transfer.TransferConfig()
    key = f"direct/{secrets.token_hex(4)}"
    w0, c0, t0 = _cpu(weed), _self_cpu(), time.monotonic()
    s3.upload_file(str(source), endpoint.bucket, key, Config=config)
    seconds = time.monotonic() - t0
    return Run(seconds, 0.0, _self_cpu() - c0, _cpu(weed) - w0, False)


def through_ferry(
    endpoint: S3Endpoint | None, source: Path, weed: int, work: Path, run: int
) -> Run:
    data_dir = work / f"ferry-{'s3' if endpoint else 'fs'}-{run}"
    port_file = work / f"port-{run}"
    log_path = work / f"ferry-{run}.log"
    args = [sys.executable, "-m", "ferry_server", "--listen", "127.0.0.1:0",
            "--data-dir", str(data_dir), "--port-file", str(port_file)]  # fmt: skip
    env = dict(os.environ)
    if endpoint is not None:
        args += ["--storage", f"s3://{endpoint.bucket}/ferry-{run}",
                 "--s3-endpoint-url", endpoint.url, "--s3-region", endpoint.region]  # fmt: skip
        env |= {"AWS_ACCESS_KEY_ID": endpoint.access_key,
                "AWS_SECRET_ACCESS_KEY": endpoint.secret_key}  # fmt: skip
    with log_path.open("wb") as log:
        server = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    try:
        while not port_file.exists():
            if server.poll() is not None:
                raise RuntimeError(log_path.read_text()[-2000:])
            time.sleep(0.05)
        address = f"127.0.0.1:{port_file.read_text().strip()}"
        with FerryClient(address, remember_uploads=False) as client:
            s0, w0, c0, t0 = _cpu(server.pid), _cpu(weed), _self_cpu(), time.monotonic()
            client.upload(source, f"bench/{run}.bin")
            seconds = time.monotonic() - t0
            s1, w1, c1 = _cpu(server.pid), _cpu(weed), _self_cpu()
    finally:
        server.terminate()
        server.wait(30)
    read_back = "reading back from the store" in log_path.read_text()
    return Run(seconds, s1 - s0, c1 - c0, w1 - w0, read_back)


def _median(runs: list[Run], size: int) -> dict[str, float]:
    per_gib = GiB / size
    return {
        "MB/s": statistics.median(size / r.seconds / MB for r in runs),
        "server": statistics.median(r.server_cpu * per_gib for r in runs),
        "client": statistics.median(r.client_cpu * per_gib for r in runs),
        "weed": statistics.median(r.weed_cpu * per_gib for r in runs),
        "total": statistics.median(
            (r.server_cpu + r.client_cpu + r.weed_cpu) * per_gib for r in runs
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.s3_upload")
    parser.add_argument("--size", default="1G", type=parse_size)
    parser.add_argument("--runs", default=3, type=int)
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    size: int = args.size
    with tempfile.TemporaryDirectory(prefix="ferry-bench-s3-") as scratch:
        work = Path(scratch)
        source = work / "source.bin"
        write_random_file(source, size)
        store = SeaweedFS(work / "weed")
        with store as endpoint:
            weed = store.pid()
            assert weed is not None
            rows: dict[str, list[Run]] = {"direct": [], "ferry-s3": [], "ferry-fs": []}
            for run in range(args.runs):
                rows["direct"].append(direct(endpoint, source, weed))
                rows["ferry-s3"].append(through_ferry(endpoint, source, weed, work, run))
                rows["ferry-fs"].append(through_ferry(None, source, weed, work, 100 + run))
                print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    medians = {name: _median(runs, size) for name, runs in rows.items()}
    added = medians["ferry-s3"]["total"] - medians["direct"]["total"]
    fs_ferry = medians["ferry-fs"]["server"] + medians["ferry-fs"]["client"]
    read_backs = sum(r.read_back for r in rows["ferry-s3"])
    lines = [
        f"{format_size(size)}, medians of {args.runs} runs, load average "
        f"{os.getloadavg()[0]:.1f} at the end; core-seconds per GiB.",
        "",
        "| mode | MB/s | Ferry server | client | weed | total |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in medians.items():
        lines.append(
            f"| {name} | {m['MB/s']:.0f} | {m['server']:.2f} | {m['client']:.2f} | "
            f"{m['weed']:.2f} | {m['total']:.2f} |"
        )
    lines += [
        "",
        f"- Ferry adds {added:.2f} core-s/GiB over the direct upload (server + client + weed).",
        f"- Ferry's own CPU (server + client): object store "
        f"{medians['ferry-s3']['server'] + medians['ferry-s3']['client']:.2f}, filesystem "
        f"{fs_ferry:.2f} core-s/GiB.",
        f"- Merge read data back from the store in {read_backs} of {args.runs} object-store runs.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_results:
        _write_results(text)
    return 0


def _write_results(text: str) -> None:
    section = f"{_BEGIN}\n## Object store (bench/s3_upload.py)\n\n{text}\n{_END}"
    old = RESULTS.read_text() if RESULTS.exists() else ""
    pattern = re.compile(re.escape(_BEGIN) + ".*?" + re.escape(_END), re.S)
    new = pattern.sub(section, old) if pattern.search(old) else old.rstrip() + "\n\n" + section
    RESULTS.write_text(new + ("\n" if not new.endswith("\n") else ""))


if __name__ == "__main__":
    raise SystemExit(main())
