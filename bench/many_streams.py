"""The many-streams scenarios of issue 9, each on a ``ferry serve`` with default settings:

- **many uploads**: ``--many-count`` distinct files of ``--many-size`` uploaded at once (one
  ``FerryClient``, one thread an upload), measured like the other phases (aggregate MB/s, time
  until the last upload's Merge is answered, server CPU per GiB and peak RSS).
- **open streams**: ``--open-streams`` UploadParts streams held open by load generators
  (:mod:`bench.stream_load`, grpc.aio, ``--generators`` processes), ``--active-streams`` of them
  sending 1 MiB messages of real blocks of real tasks as fast as the server takes them, the
  rest idle; meanwhile a probe process times GetTask calls on a channel of its own, and the
  harness samples the server's memory. What the server did with each stream (kept open,
  refused, ended) is counted from the client side.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as pb_grpc

from bench.contenders import LOOPBACK, REPO_ROOT, Ferry, Workload
from bench.measure import Expected, Measurement, Session
from bench.procs import ProcessFailed
from bench.workload import format_size, sha256_file, write_small_files

MiB = 1 << 20
#: Blocks each active stream's task declares: far more than a run sends, so no task completes,
#: yet 201 of them (reserved twice over, blocks and assembly) fit the disk admission on a
#: disk with ~60 GB free.
ACTIVE_TASK_BLOCKS = 16
#: A stream the server ends within this long of opening was refused, not ended later.
REFUSED_WITHIN = 1.0


@dataclass
class StreamsRun:
    """One open-streams run: the probe's calls, the streams' fates, the server's resources."""

    streams: int
    active: int
    generators: int
    #: Probe call latencies in seconds; a call that failed counts as ``inf``.
    latencies: list[float]
    probe_failures: dict[str, int]
    probe_timeout: float
    opened: int
    open_seconds: float
    open_failed: dict[str, int]
    #: status -> seconds after opening at which the server ended each stream.
    ended: dict[str, list[float]]
    acked_bytes: int
    active_served: int
    window_seconds: float
    server_peak_rss: int
    server_cpu: float
    #: Each generator's CPU seconds over its life and that life in seconds.
    generator_cpu: list[tuple[float, float]] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    @property
    def refused(self) -> int:
        return sum(
            sum(1 for t in times if t < REFUSED_WITHIN) for times in self.ended.values()
        ) + sum(self.open_failed.values())

    @property
    def ended_later(self) -> dict[str, int]:
        out = {k: sum(1 for t in v if t >= REFUSED_WITHIN) for k, v in self.ended.items()}
        return {k: n for k, n in out.items() if n}

    @property
    def refused_by(self) -> dict[str, int]:
        out = {k: sum(1 for t in v if t < REFUSED_WITHIN) for k, v in self.ended.items()}
        out = {k: n for k, n in out.items() if n}
        for k, n in self.open_failed.items():
            out[k] = out.get(k, 0) + n
        return out

    @property
    def still_open(self) -> int:
        return self.opened - sum(len(v) for v in self.ended.values())

    @property
    def acked_mb_s(self) -> float:
        return self.acked_bytes / self.window_seconds / 1e6 if self.window_seconds else 0.0


def many_uploads(
    scratch: Path,
    count: int,
    size: int,
    runs: int,
    attempt: Callable[[Session, Workload, Expected, str], Measurement | None],
    open_session: Callable[[str, str], Session | None],
    say: Callable[[str], None],
) -> list[Measurement]:
    """``runs`` measured runs (no warm-up: each run is already ``count`` uploads) on one
    server; every upload of a run is in flight at once."""
    directory = scratch / "many"
    say(f"bench: generating {count} files of {format_size(size)}")
    paths = write_small_files(directory, count, size)
    expected = Expected(
        tuple(paths), tuple(sha256_file(p) for p in paths), tuple(size for _ in paths)
    )
    workload = Workload(directory, many=True, concurrency=count)
    say(f"bench: {count} uploads of {format_size(size)} at once")
    measured: list[Measurement] = []
    session = open_session("many-uploads", "server")
    if session is not None:
        with session:
            for i in range(runs):
                m = attempt(session, workload, expected, f"run {i + 1}")
                if m is None:
                    break
                measured.append(m)
    shutil.rmtree(directory)
    return measured


class _Child:
    """A child process speaking JSON lines on stdin/stdout (see :mod:`bench.stream_load`)."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self._lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        for line in out:
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._lines.append("")
            self._cond.notify_all()

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self._lines:
                    line = self._lines.pop(0)
                    if not line:
                        raise ProcessFailed(
                            f"{self.proc.args[3]} exited before {event!r}: "
                            + self.log.read_text(errors="replace")[-2000:]
                        )
                    obj: dict[str, Any] = json.loads(line)
                    if obj.get("event") == event:
                        return obj
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProcessFailed(f"no {event!r} from {self.proc.args} in {timeout:.0f}s")
                self._cond.wait(left)

    def send(self, line: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _create_tasks(port: int, count: int, prefix: str) -> tuple[list[str], int]:
    """``count`` hash-less tasks of ACTIVE_TASK_BLOCKS blocks of the server's default size."""
    ids = []
    block_size = 0
    with grpc.insecure_channel(f"{LOOPBACK}:{port}") as channel:
        stub = pb_grpc.FerryServiceStub(channel)
        for i in range(count):
            size = ACTIVE_TASK_BLOCKS * (block_size or 8 * MiB)
            reply = stub.CreateTask(
                pb.CreateTaskRequest(
                    file_name=f"s{i}.bin", size=size, store_path=f"{prefix}/s{i}.bin"
                ),
                timeout=30,
            )
            if block_size == 0:
                block_size = reply.task.block_size
                if block_size != 8 * MiB:
                    # The first task's size assumed 8 MiB blocks; the rest use the real one.
                    size = ACTIVE_TASK_BLOCKS * block_size
            ids.append(reply.task.task_id)
    return ids, block_size


class _RssSampler:
    """Samples a process's VmRSS while it runs; its VmHWM is read at the end."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.samples.append(int(line.split()[1]) * 1024)
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def open_streams_run(
    scratch: Path,
    *,
    streams: int,
    active: int,
    generators: int,
    calls: int,
    interval: float,
    probe_timeout: float,
    hold: float,
    tag: str,
    say: Callable[[str], None],
) -> StreamsRun:
    """One run on a fresh server: tasks, probe ready, streams opened, probe, hold, stop."""
    python = sys.executable
    with Session(Ferry(), scratch, f"streams-{tag}") as session:
        server = session.server
        port = server.port
        ids, block_size = _create_tasks(port, active + 1, f"streams-{tag}")
        probe_id, active_ids = ids[0], ids[1:]
        target = f"{LOOPBACK}:{port}"
        children: list[_Child] = []
        sampler = _RssSampler(server.pid)
        try:
            probe_argv = [
                python, "-m", "bench.stream_load", "--target", target, "probe",
                "--task-id", probe_id, "--calls", str(calls),
                "--interval", str(interval), "--timeout", str(probe_timeout),
            ]  # fmt: skip
            probe = _Child(probe_argv, session.run_dir / "probe.log")
            children.append(probe)
            probe.expect("ready", 30)
            cpu0 = server.cpu().total
            gens = []
            for g in range(generators):
                share = streams // generators + (1 if g < streams % generators else 0)
                mine = active_ids[g::generators]
                gen_argv = [
                    python, "-m", "bench.stream_load", "--target", target, "streams",
                    "--name", f"g{g}", "--idle", str(share - len(mine)),
                    "--tasks", json.dumps(mine), "--block-size", str(block_size),
                    "--block-count", str(ACTIVE_TASK_BLOCKS),
                    "--max-seconds", str(hold + calls * interval + probe_timeout + 90),
                ]  # fmt: skip
                gen = _Child(gen_argv, session.run_dir / f"generator-{g}.log")
                children.append(gen)
                gens.append(gen)
            opened = [gen.expect("opened", 90) for gen in gens]
            t_open = time.monotonic()
            say(
                f"    {sum(o['opened'] for o in opened)} of {streams} streams opened in "
                f"{max(o['seconds'] for o in opened):.1f} s; probing"
            )
            probe.send("go")
            probed = probe.expect("done", calls * interval + probe_timeout + 30)
            rest = hold - (time.monotonic() - t_open)
            if rest > 0:
                time.sleep(rest)
            for gen in gens:
                gen.send("stop")
            done = [gen.expect("done", 60) for gen in gens]
            server_cpu = server.cpu().total - cpu0
            server.check_alive()
            rss = server.peak_rss()
        finally:
            sampler.stop()
            for child in children:
                child.close()
    ended: dict[str, list[float]] = {}
    open_failed: dict[str, int] = {}
    for d in done:
        for k, v in d["ended"].items():
            ended.setdefault(k, []).extend(v)
        for k, n in d["open_failed"].items():
            open_failed[k] = open_failed.get(k, 0) + n
    failed = sum(probed["failures"].values())
    return StreamsRun(
        streams=streams,
        active=active,
        generators=generators,
        latencies=list(probed["latencies"]) + [math.inf] * failed,
        probe_failures=probed["failures"],
        probe_timeout=probe_timeout,
        opened=sum(d["opened"] for d in done),
        open_seconds=max(o["seconds"] for o in opened),
        open_failed=open_failed,
        ended=ended,
        acked_bytes=sum(d["acked_bytes"] for d in done),
        active_served=sum(d["active_served"] for d in done),
        window_seconds=max(d["window_seconds"] for d in done),
        server_peak_rss=rss,
        server_cpu=server_cpu,
        generator_cpu=[(d["cpu_seconds"], d["wall_seconds"]) for d in done],
    )


def show_run(run: StreamsRun) -> str:
    def ms(v: float) -> str:
        return f">{run.probe_timeout:.0f}s" if math.isinf(v) else f"{v * 1000:.0f} ms"

    gen = max(c / w for c, w in run.generator_cpu) if run.generator_cpu else 0.0
    return (
        f"GetTask p50 {ms(run.percentile(0.5))} p99 {ms(run.percentile(0.99))} "
        f"max {ms(max(run.latencies))} ({sum(run.probe_failures.values())} of "
        f"{len(run.latencies)} failed: {run.probe_failures or '-'}); server peak RSS "
        f"{run.server_peak_rss / 1e6:.0f} MB; streams open {run.still_open}, refused "
        f"{run.refused} {run.refused_by or ''}, ended later {run.ended_later or 0}; "
        f"acked {run.acked_mb_s:.0f} MB/s by {run.active_served} of {run.active} active; "
        f"busiest generator {gen:.2f} cores"
    )
