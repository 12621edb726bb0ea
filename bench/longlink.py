"""``python -m bench.longlink`` (``make bench-longlink``, part of ``make bench``): uploads over an
emulated long link, as a share of one raw TCP connection measured in the same run.

For each link setting (:data:`bench.link.netns.SETTINGS`): start linkemu between the client's
and the server's namespaces, validate the link (ICMP round-trip times, raw TCP goodput against
the configured rate), then run raw TCP, Ferry and tus in rounds (an untimed warm-up each first)
on the same file, with every server in the server's namespace and every client in the client's.
Writes its section of bench/RESULTS.md (the rest of the file is left as it is). Needs root on
Linux; anywhere else it says why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.contenders import BENCH_DIR, REPO_ROOT, Contender, Ferry, Tus, Unavailable, Workload
from bench.link.netns import (
    SERVER_ADDR,
    SETTINGS,
    Link,
    LinkUnavailable,
    Setting,
    build,
    check_possible,
)
from bench.measure import Expected, Session
from bench.procs import ProcessFailed, Server, run_client
from bench.report import LONGLINK_MARKER as MARKER
from bench.workload import format_size, parse_size, sha256_file, write_random_file

MBIT = 1e6


def say(text: str) -> None:
    print(text, flush=True)


class InNamespace:
    """A contender whose server runs in the link's server namespace, its client in the
    client's; everything else is the contender's own."""

    def __init__(self, inner: Contender, link: Link) -> None:
        self.inner = inner
        self.link = link
        self.name = inner.name
        self.description = inner.description

    def prepare(self) -> None:
        self.inner.prepare()

    def versions(self) -> dict[str, str]:
        return self.inner.versions()

    def supports(self, workload: Workload) -> bool:
        return self.inner.supports(workload)

    def server_argv(self, run_dir: Path, port_file: Path) -> list[str]:
        return self.link.argv("server", self.inner.server_argv(run_dir, port_file))

    def client_argv(self, port: int, workload: Workload, run_dir: Path, tag: str) -> list[str]:
        return self.link.argv("client", self.inner.client_argv(port, workload, run_dir, tag))

    def published(self, run_dir: Path, report: dict[str, object]) -> list[Path]:
        return self.inner.published(run_dir, report)


@dataclass
class SettingResult:
    setting: Setting
    ping: dict[str, float] = field(default_factory=dict)
    #: Goodput in bit/s of each measured run, by contender ("raw TCP", "ferry", "tus").
    runs: dict[str, list[float]] = field(default_factory=dict)
    link_counters: dict[str, object] | None = None
    failures: dict[str, str] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        runs = self.runs.get(name)
        return statistics.median(runs) if runs else None

    def share(self, name: str) -> float | None:
        """The contender's median as a fraction of raw TCP's median."""
        raw, mine = self.median("raw TCP"), self.median(name)
        return mine / raw if raw and mine else None


class RawTcp:
    """One TCP connection: a discarding receiver in the server's namespace, a sendfile()
    sender in the client's (bench.link.probe)."""

    def __init__(self, link: Link, run_dir: Path) -> None:
        self.link = link
        self.dir = run_dir
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        port_file = self.dir / "port"
        argv = [
            sys.executable, "-m", "bench.link.probe", "receive",
            "--listen", SERVER_ADDR, "--port-file", str(port_file),
        ]  # fmt: skip
        self.server = Server(
            "raw TCP",
            link.argv("server", argv),
            port_file,
            self.dir / "receiver.log",
            cwd=REPO_ROOT,
        )

    def run(self, path: Path, tag: str) -> float:
        argv = [
            sys.executable, "-m", "bench.link.probe", "send",
            SERVER_ADDR, str(self.server.port), str(path),
        ]  # fmt: skip
        client = run_client(
            "raw TCP",
            self.link.argv("client", argv),
            self.dir / f"sender-{tag}.log",
            cwd=REPO_ROOT,
            timeout=600,
        )
        return float(client.report["bytes"]) * 8 / float(client.report["seconds"])

    def close(self) -> None:
        self.server.stop()


def ping(link: Link, count: int = 20) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.link.probe", "ping", SERVER_ADDR, "--count", str(count)]
    done = subprocess.run(
        link.argv("client", argv),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run_setting(
    link: Link,
    setting: Setting,
    contenders: list[InNamespace],
    path: Path,
    expected: Expected,
    args: argparse.Namespace,
    scratch: Path,
) -> SettingResult:
    result = SettingResult(setting)
    link.start(setting)
    sessions: dict[str, Session] = {}
    raw: RawTcp | None = None
    try:
        result.ping = ping(link)
        say(
            f"  ping: median {result.ping['rtt_median_ms']:.2f} ms "
            f"(min {result.ping['rtt_min_ms']:.2f}, max {result.ping['rtt_max_ms']:.2f})"
        )
        raw = RawTcp(link, scratch / f"raw-{setting.rate:.0f}")
        for c in contenders:
            try:
                sessions[c.name] = Session(c, scratch, f"{c.name}-{setting.rate:.0f}")
            except (ProcessFailed, OSError) as exc:
                result.failures[c.name] = f"server: {exc}"
                say(f"  {c.name:8} server FAILED to start: {exc}")
        labels = [(f"warm-up {i + 1}", False) for i in range(args.warmup)]
        labels += [(f"run {i + 1}", True) for i in range(args.runs)]
        for label, keep in labels:
            tag = label.replace(" ", "-")
            try:
                bps = raw.run(path, tag)
            except ProcessFailed as exc:
                # Without the yardstick the others' runs in this round would compare to nothing.
                result.failures["raw TCP"] = f"{label}: {exc}"
                say(f"  raw TCP  {label}: FAILED: {exc}")
                break
            say(f"  {'raw TCP':8} {label}: {bps / MBIT:7.1f} Mbit/s")
            if keep:
                result.runs.setdefault("raw TCP", []).append(bps)
            for name, session in sessions.items():
                if name in result.failures:
                    continue
                try:
                    m = session.measure(Workload(path), expected, tag)
                except (ProcessFailed, AssertionError, OSError, ValueError, KeyError) as exc:
                    result.failures[name] = f"{label}: {type(exc).__name__}: {exc}"
                    say(f"  {name:8} {label}: FAILED: {exc}")
                    traceback.print_exc(file=sys.stderr)
                    continue
                bps = m.throughput * 8
                say(f"  {name:8} {label}: {bps / MBIT:7.1f} Mbit/s")
                if keep:
                    result.runs.setdefault(name, []).append(bps)
    finally:
        for session in sessions.values():
            session.close()
        if raw is not None:
            raw.close()
        result.link_counters = link.stop()
    return result


def _pct(x: float | None) -> str:
    return f"{x * 100:.0f}%" if x is not None else "-"


def _mbit(x: float | None) -> str:
    return f"{x / MBIT:.0f}" if x is not None else "-"


def render(
    results: list[SettingResult],
    args: argparse.Namespace,
    started: str,
    elapsed: float,
    info: dict[str, str],
) -> str:
    names = [n for n in ("ferry", "tus") if any(n in r.runs for r in results)]
    out = [
        MARKER,
        "",
        "## Long links",
        "",
        f"Written by `python -m bench.longlink` on {started} ({elapsed / 60:.1f} min): "
        f"one {format_size(args.size)} file, {args.warmup} untimed warm-up and {args.runs} "
        "measured runs of each contender per link, in rounds (raw TCP, Ferry, tus). The link "
        "is bench/link/linkemu.c between two network namespaces (MTU 1500, the rate and half "
        "the RTT in each direction, a drop-tail queue of one bandwidth-delay product). Every "
        "figure is goodput (file bytes / client wall time) in Mbit/s, median of the measured "
        "runs; the shares are of raw TCP's median in the same run.",
        "",
        "|  |  |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        "### The link, validated",
        "",
        "| setting | ping RTT median (min-max) | raw TCP goodput (of the rate) | "
        "queue drops (data direction) |",
        "|---|---|---|---|",
    ]
    for r in results:
        p = r.ping
        raw = r.median("raw TCP")
        drops = "-"
        if r.link_counters is not None:
            a_to_b = r.link_counters.get("a_to_b")
            if isinstance(a_to_b, dict):
                drops = f"{a_to_b['dropped_queue']} of {a_to_b['forwarded']}"
        rtt = (
            f"{p['rtt_median_ms']:.2f} ms ({p['rtt_min_ms']:.2f}-{p['rtt_max_ms']:.2f})"
            if p
            else "-"
        )
        share = f"{_mbit(raw)} Mbit/s ({_pct(raw / r.setting.rate if raw else None)})"
        out.append(f"| {r.setting.name} | {rtt} | {share} | {drops} |")
    out += [
        "",
        "### Uploads",
        "",
        "| setting | raw TCP | " + " | ".join(f"{n} (of raw)" for n in names) + " | ferry / tus |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for r in results:
        cells = [f"{_mbit(r.median(n))} ({_pct(r.share(n))})" for n in names]
        f, t = r.median("ferry"), r.median("tus")
        ratio = f"{f / t:.2f}x" if f and t else "-"
        out.append(
            f"| {r.setting.name} | {_mbit(r.median('raw TCP'))} | {' | '.join(cells)} | {ratio} |"
        )
    out += ["", "Every measured run (Mbit/s):", ""]
    for r in results:
        for name, runs in r.runs.items():
            out.append(f"- {r.setting.name}, {name}: " + ", ".join(f"{x / MBIT:.1f}" for x in runs))
    failures = [(r.setting.name, n, why) for r in results for n, why in r.failures.items()]
    if failures:
        out += ["", "**Failures:**", ""]
        out += [f"- {s}, {n}: {why}" for s, n, why in failures]
    return "\n".join(out) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the long-link section of ``path`` (everything from :data:`MARKER` on)."""
    text = path.read_text() if path.exists() else "# Ferry benchmark results\n"
    head = text.split(MARKER, 1)[0].rstrip("\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(head + "\n\n" + section)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longlink", description=__doc__)
    add = parser.add_argument
    add("--size", type=parse_size, default=parse_size("256M"), help="default 256M")
    add("--runs", type=int, default=3, help="measured runs per contender and link (default 3)")
    add("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    add(
        "--settings",
        default=",".join(str(i) for i in range(len(SETTINGS))),
        help="comma-separated indexes into: "
        + "; ".join(f"{i}: {s.name}" for i, s in enumerate(SETTINGS)),
    )
    add("--contenders", default="ferry,tus", help="subset of ferry,tus (default both)")
    add("--work-dir", type=Path, default=BENCH_DIR / ".work", help="default bench/.work")
    add("--results", type=Path, default=BENCH_DIR / "RESULTS.md", help="default bench/RESULTS.md")
    add("--no-write", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    try:
        check_possible()
        binary = build(args.work_dir / "link")
    except LinkUnavailable as exc:
        say(f"bench.longlink: SKIPPED: {exc}")
        return 0
    settings = [SETTINGS[int(i)] for i in args.settings.split(",") if i.strip()]
    wanted = {n.strip() for n in args.contenders.split(",") if n.strip()}
    t0 = time.monotonic()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    scratch = Path(tempfile.mkdtemp(prefix="longlink-", dir=args.work_dir))
    results: list[SettingResult] = []
    info = machine.describe(scratch)
    load_at_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        with Link(binary) as link:
            contenders: list[InNamespace] = []
            for inner in (Ferry(SERVER_ADDR), Tus(SERVER_ADDR)):
                if inner.name not in wanted:
                    continue
                try:
                    inner.prepare()
                    info.update(inner.versions())
                    contenders.append(InNamespace(inner, link))
                except Unavailable as exc:
                    say(f"bench.longlink: SKIPPING {inner.name}: {exc}")
            path = scratch / "longlink.bin"
            say(f"bench.longlink: generating {format_size(args.size)} of random data")
            write_random_file(path, args.size)
            expected = Expected((path,), (sha256_file(path),), (args.size,))
            for setting in settings:
                say(f"bench.longlink: {setting.name}")
                results.append(
                    run_setting(link, setting, contenders, path, expected, args, scratch)
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # Other helpers' work on a shared machine moves these figures most: say how busy it was.
    info["load average at the start"] = load_at_start
    info["load average at the end"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    section = render(results, args, started, time.monotonic() - t0, info)
    say("\n" + section)
    if not args.no_write:
        write_section(args.results, section)
        say(f"bench.longlink: wrote its section of {args.results}")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
