"""Child processes of the benchmark: starting a server and waiting for its port, reading its CPU
time and peak memory from /proc, stopping it, and running a client to completion.

Figures come from the OS, never from the programs' own accounting: CPU from /proc/PID/stat,
a live server's peak RSS from /proc/PID/status (VmHWM), and a finished client's from wait4().
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


class ProcessFailed(RuntimeError):
    """A server or client exited badly; the message carries the tail of its output."""


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """User and system CPU seconds of a process (its waited-for children included)."""

    user: float
    system: float

    @property
    def total(self) -> float:
        return self.user + self.system

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user - other.user, self.system - other.system)


def cpu_times(pid: int) -> CpuTimes:
    # The command name (field 2) may hold spaces or parentheses: split after its last ')'.
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14-17 of proc(5) (utime, stime, cutime, cstime), counted from field 3 here.
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return CpuTimes((utime + cutime) / _TICK, (stime + cstime) / _TICK)


def machine_busy() -> float:
    """CPU seconds spent by the whole machine (all cores, all processes and kernel threads)
    since boot, steal time excluded: the yardstick for load that is not ours."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / _TICK


def peak_rss(pid: int) -> int:
    """Peak resident set size in bytes so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ProcessFailed(f"no VmHWM in /proc/{pid}/status")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, resource.struct_rusage]:
    """Wait for ``proc`` with wait4() so its own rusage (peak RSS) is ours to read.

    Returns the exit status as Popen would report it (negative for a signal).
    """
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            proc.returncode = code
            return code, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.01)


class Server:
    """A server subprocess that announces its port in a file once it accepts connections."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port_file: Path,
        log_file: Path,
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.log_file = log_file
        self.port_file = port_file
        with log_file.open("wb") as log:
            self._proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.port = self._wait_for_port(startup_timeout)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ProcessFailed(
                    f"{self.name} server exited with {self._proc.returncode} before listening:\n"
                    + _tail(self.log_file)
                )
            try:
                text = self.port_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text:
                return int(text)
            time.sleep(0.02)
        self.stop()
        raise ProcessFailed(f"{self.name} server did not listen within {timeout:.0f}s")

    def cpu(self) -> CpuTimes:
        return cpu_times(self.pid)

    def peak_rss(self) -> int:
        return peak_rss(self.pid)

    def check_alive(self) -> None:
        if self._proc.poll() is not None:
            raise ProcessFailed(
                f"{self.name} server died with {self._proc.returncode}:\n" + _tail(self.log_file)
            )

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc.returncode is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            _reap(self._proc, timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _reap(self._proc, timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class ClientRun:
    """What a client process printed (its last stdout line, JSON) and what the OS saw of it."""

    report: dict[str, Any]
    peak_rss: int
    cpu: CpuTimes


def run_client(
    name: str,
    argv: Sequence[str],
    log_file: Path,
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
) -> ClientRun:
    """Run a client to completion; its stdout's last line must be a JSON object."""
    out_file = log_file.with_suffix(".out")
    with out_file.open("wb") as out, log_file.open("wb") as err:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        try:
            code, usage = _reap(proc, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _reap(proc, 10)
            raise ProcessFailed(
                f"{name} client did not finish within {timeout:.0f}s:\n" + _tail(log_file)
            ) from None
    if code != 0:
        raise ProcessFailed(f"{name} client exited with {code}:\n" + _tail(log_file))
    lines = out_file.read_text().strip().splitlines()
    if not lines:
        raise ProcessFailed(f"{name} client printed nothing:\n" + _tail(log_file))
    report = json.loads(lines[-1])
    return ClientRun(
        report=report,
        # ru_maxrss is in KiB on Linux.
        peak_rss=usage.ru_maxrss * 1024,
        cpu=CpuTimes(usage.ru_utime, usage.ru_stime),
    )
