"""``python -m bench`` (``make bench``): the command line, and the order of the phases.

Phases: one large file, then many small files (in each, every contender in turn: a server, an
untimed warm-up run, the measured runs), Ferry's merge latency, peak memory during one very
large upload, and Ferry's many-streams scenarios (bench/many_streams.py: many uploads at once,
unary latency with thousands of streams open). ``--scenarios`` picks a subset. Then a summary on
stdout and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, many_streams, report
from bench.contenders import (
    BENCH_DIR,
    Contender,
    Ferry,
    Unavailable,
    Workload,
    all_contenders,
)
from bench.measure import Expected, Measurement, Session
from bench.procs import ProcessFailed
from bench.report import MB, Results
from bench.workload import (
    format_size,
    parse_size,
    sha256_file,
    write_random_file,
    write_small_files,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Ferry's benchmark: the ceiling (minimal grpcio servicer), Ferry and tus "
        "over loopback, on the same generated files. Sizes take binary units (256M, 1G).",
    )
    add = parser.add_argument
    add("--size", type=parse_size, default=parse_size("1G"), help="large file (default 1G)")
    add("--runs", type=int, default=3, help="measured runs per contender and phase (default 3)")
    add(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs on each server before the measured ones (default 1)",
    )
    add(
        "--fresh-servers",
        action="store_true",
        help="start a new server for every run instead of one per contender and phase",
    )
    add(
        "--interleave",
        action="store_true",
        help="run the contenders in rounds (ceiling, ferry, tus, again) instead of each "
        "contender's runs back to back",
    )
    add(
        "--contenders",
        default="ceiling,ferry,tus",
        help="comma-separated subset of ceiling,ferry,tus (default all)",
    )
    add("--small-count", type=int, default=1000, help="small files (default 1000)")
    add("--small-size", type=parse_size, default=parse_size("64K"), help="default 64K")
    add("--concurrency", type=int, default=8, help="small-file uploads in flight (default 8)")
    add("--no-small", action="store_true", help="skip the small-files phase")
    add("--merge-size", type=parse_size, default=parse_size("1G"), help="default 1G")
    add("--no-merge", action="store_true", help="skip the merge-latency phase")
    add("--rss-size", type=parse_size, default=parse_size("4G"), help="default 4G")
    add("--no-rss", action="store_true", help="skip the peak-memory phase")
    add(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}; 'many-streams' stands for "
        "many-uploads,open-streams (default all)",
    )
    add("--many-count", type=int, default=200, help="uploads at once (default 200)")
    add("--many-size", type=parse_size, default=parse_size("16M"), help="each (default 16M)")
    add("--open-streams", type=int, default=2000, help="UploadParts streams (default 2000)")
    add("--active-streams", type=int, default=200, help="of them sending (default 200)")
    add("--generators", type=int, default=2, help="load generator processes (default 2)")
    add("--probe-calls", type=int, default=300, help="GetTask calls timed (default 300)")
    add("--probe-interval", type=float, default=0.05, help="seconds apart (default 0.05)")
    add("--probe-timeout", type=float, default=5.0, help="each call's deadline (default 5)")
    add(
        "--streams-hold",
        type=float,
        default=0.0,
        help="seconds to keep the streams open after they opened, at least (default 0: "
        "until the probe is done), to watch idle streams being ended",
    )
    add("--work-dir", type=Path, default=BENCH_DIR / ".work", help="default bench/.work")
    add("--results", type=Path, default=BENCH_DIR / "RESULTS.md", help="default bench/RESULTS.md")
    add("--no-write", action="store_true", help="print the summary only; leave RESULTS.md be")
    return parser


#: Phases in the order they run.
SCENARIOS = ("large", "small", "merge", "rss", "many-uploads", "open-streams")
ALIASES = {"many-streams": ("many-uploads", "open-streams")}

#: Average load from the rest of the machine during a run, in cores, above which the run's
#: figures are flagged: on two cores, a quarter of one already moves throughput visibly.
BUSY_CORES = 0.25


def say(text: str) -> None:
    print(text, flush=True)


class Harness:
    """Runs the phases in one scratch directory, filling in a :class:`Results`."""

    def __init__(self, args: argparse.Namespace, contenders: list[Contender], scratch: Path):
        self.args = args
        self.contenders = contenders
        self.scratch = scratch
        self.results = Results(
            command=" ".join(["python -m bench", shlex.join(sys.argv[1:])]).strip(),
            started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            elapsed_seconds=0.0,
            settings={},
            machine=machine.describe(scratch),
            versions={},
            descriptions={c.name: c.description for c in contenders},
            size=args.size,
            small_count=args.small_count,
            small_size=args.small_size,
            concurrency=args.concurrency,
            merge_size=args.merge_size,
            rss_size=None if args.no_rss else args.rss_size,
            many_count=args.many_count,
            many_size=args.many_size,
        )
        self.results.settings = {
            "large file": format_size(args.size),
            "measured runs": str(args.runs),
            "servers": "a new one for every run"
            if args.fresh_servers
            else "one per contender and phase",
            "untimed warm-up runs": str(args.warmup),
            "order": "rounds interleaving the contenders"
            if args.interleave
            else "each contender's runs back to back",
            "small files": f"{args.small_count} x {format_size(args.small_size)}",
            "small-file concurrency": str(args.concurrency),
            "merge-latency file": format_size(args.merge_size),
            "peak-memory file": "skipped" if args.no_rss else format_size(args.rss_size),
            "scenarios": ", ".join(p for p in SCENARIOS if p in args.scenario_set),
            "many uploads": f"{args.many_count} x {format_size(args.many_size)} at once",
            "open streams": f"{args.open_streams} ({args.active_streams} sending), "
            f"{args.generators} generator processes; {args.probe_calls} GetTask calls "
            f"{args.probe_interval * 1000:.0f} ms apart, {args.probe_timeout:g} s deadline; "
            f"held at least {args.streams_hold:g} s",
        }
        self.ready: list[Contender] = []
        self.large_file: tuple[Path, Expected] | None = None

    # -- setup -------------------------------------------------------------------------------

    def prepare(self) -> None:
        for contender in self.contenders:
            try:
                contender.prepare()
                self.results.versions.update(contender.versions())
                self.ready.append(contender)
            except Unavailable as exc:
                self.results.skipped[contender.name] = str(exc)
                say(f"bench: SKIPPING {contender.name}: {exc}")

    def make_file(self, name: str, size: int) -> tuple[Path, Expected]:
        path = self.scratch / name
        say(f"bench: generating {format_size(size)} of random data ({path.name})")
        write_random_file(path, size)
        expected = Expected((path,), (sha256_file(path),), (size,))
        return path, expected

    # -- runs ------------------------------------------------------------------------------

    def attempt(
        self,
        phase: str,
        session: Session,
        workload: Workload,
        expected: Expected,
        label: str,
        show: Callable[[Measurement], str],
    ) -> Measurement | None:
        """One run; a failure marks the contender failed for the phase and is not a figure."""
        name = session.contender.name
        try:
            m = session.measure(workload, expected, label.replace(" ", "-"))
        except (ProcessFailed, AssertionError, OSError, ValueError, KeyError) as exc:
            self.results.failures[f"{phase}/{name}"] = f"{type(exc).__name__}: {exc}"
            say(f"  {name:8} {label}: FAILED: {exc}")
            traceback.print_exc(file=sys.stderr)
            return None
        busy = f"  [other load {m.other_load:.2f} cores]" if m.other_load >= BUSY_CORES else ""
        say(f"  {name:8} {label}: {show(m)}{busy}")
        return m

    def open_session(self, phase: str, contender: Contender, name: str) -> Session | None:
        try:
            return Session(contender, self.scratch, f"{phase}-{name}")
        except (ProcessFailed, OSError) as exc:
            self.results.failures[f"{phase}/{contender.name}"] = f"{type(exc).__name__}: {exc}"
            say(f"  {contender.name:8} server FAILED to start: {exc}")
            return None

    def rounds(
        self,
        phase: str,
        contenders: list[Contender],
        workload: Workload,
        expected: Expected,
        show: Callable[[Measurement], str],
    ) -> dict[str, list[Measurement]]:
        """Each contender's warm-up runs, then its ``--runs`` measured runs.

        By default a contender's runs follow each other on one server, as a busy service's
        uploads would (see ``--interleave`` and ``--fresh-servers`` for the other orders).
        """
        args = self.args
        labels = [(f"warm-up {i + 1}", False) for i in range(args.warmup)]
        labels += [(f"run {i + 1}", True) for i in range(args.runs)]
        if args.interleave:
            order = [(label, keep, c) for label, keep in labels for c in contenders]
        else:
            order = [(label, keep, c) for c in contenders for label, keep in labels]
        last = {c.name: i for i, (_, _, c) in enumerate(order)}
        measured: dict[str, list[Measurement]] = {}
        sessions: dict[str, Session] = {}
        try:
            for i, (label, keep, c) in enumerate(order):
                if f"{phase}/{c.name}" in self.results.failures:
                    continue
                if c.name not in sessions:
                    name = label.replace(" ", "-") if args.fresh_servers else "server"
                    session = self.open_session(phase, c, name)
                    if session is None:
                        continue
                    sessions[c.name] = session
                try:
                    m = self.attempt(phase, sessions[c.name], workload, expected, label, show)
                finally:
                    if args.fresh_servers or i == last[c.name]:
                        sessions.pop(c.name).close()
                if m is not None and keep:
                    measured.setdefault(c.name, []).append(m)
        finally:
            for session in sessions.values():
                session.close()
        return measured

    # -- phases ------------------------------------------------------------------------------

    def large(self) -> None:
        args = self.args
        path, expected = self.make_file("large.bin", args.size)

        def show(m: Measurement) -> str:
            return (
                f"{m.seconds:6.2f} s  {m.throughput / MB:5.0f} MB/s  "
                f"server CPU {m.server_cpu:5.2f} s  client CPU {m.client_cpu:5.2f} s"
            )

        say(f"bench: one {format_size(args.size)} file")
        self.results.large = self.rounds("large", self.ready, Workload(path), expected, show)
        if args.merge_size == args.size:
            self.large_file = (path, expected)
        else:
            path.unlink()

    def small(self) -> None:
        args = self.args
        directory = self.scratch / "small"
        say(f"bench: generating {args.small_count} files of {format_size(args.small_size)}")
        paths = write_small_files(directory, args.small_count, args.small_size)
        expected = Expected(
            tuple(paths),
            tuple(sha256_file(p) for p in paths),
            tuple(args.small_size for _ in paths),
        )
        workload = Workload(directory, many=True, concurrency=args.concurrency)

        def show(m: Measurement) -> str:
            return f"{m.seconds:6.2f} s  {m.files_per_second:6.0f} files/s"

        say(f"bench: {args.small_count} small files, {args.concurrency} at a time")
        contenders = [c for c in self.ready if c.supports(workload)]
        self.results.small = self.rounds("small", contenders, workload, expected, show)
        shutil.rmtree(directory)

    def merge(self) -> None:
        args = self.args
        ferry = [c for c in self.ready if c.name == "ferry"]
        if not ferry:
            return
        if self.large_file is not None:
            path, expected = self.large_file
        else:
            path, expected = self.make_file("merge.bin", args.merge_size)

        def show(m: Measurement) -> str:
            inst = m.details["instrumented"]
            return (
                f"last ack -> Merge reply {inst['last_ack_to_merge_reply'] * 1000:6.1f} ms  "
                f"(Merge RPC {inst['merge_rpc_seconds'] * 1000:.1f} ms)"
            )

        say(f"bench: Ferry merge latency, {format_size(args.merge_size)}")
        workload = Workload(path, instrument=True)
        self.results.merge = self.rounds("merge", ferry, workload, expected, show).get("ferry", [])
        path.unlink()

    def rss(self) -> None:
        """One upload per contender, each on a server started for it: VmHWM is then the peak
        of that server's whole life, start-up and the upload included."""
        args = self.args
        path, expected = self.make_file("rss.bin", args.rss_size)
        workload = Workload(path)

        def show(m: Measurement) -> str:
            return (
                f"server peak RSS {m.server_peak_rss / MB:5.0f} MB  "
                f"client peak RSS {m.client_peak_rss / MB:5.0f} MB  "
                f"({m.throughput / MB:.0f} MB/s)"
            )

        say(f"bench: peak memory during one {format_size(args.rss_size)} upload")
        for c in self.ready:
            session = self.open_session("rss", c, "server")
            if session is None:
                continue
            with session:
                m = self.attempt("rss", session, workload, expected, "run 1", show)
            if m is not None:
                self.results.rss[c.name] = m
        path.unlink()

    def many_uploads(self) -> None:
        args = self.args
        ferry = [c for c in self.ready if c.name == "ferry"]
        if not ferry:
            return

        def show(m: Measurement) -> str:
            return (
                f"{m.seconds:6.2f} s  {m.throughput / MB:5.0f} MB/s  server CPU "
                f"{m.server_cpu / (m.bytes / (1 << 30)):5.2f} s/GiB  "
                f"server peak RSS {m.server_peak_rss / MB:5.0f} MB"
            )

        def attempt(
            session: Session, workload: Workload, expected: Expected, label: str
        ) -> Measurement | None:
            return self.attempt("many-uploads", session, workload, expected, label, show)

        self.results.many_uploads = many_streams.many_uploads(
            self.scratch,
            args.many_count,
            args.many_size,
            args.runs,
            attempt,
            lambda phase, name: self.open_session(phase, ferry[0], name),
            say,
        )

    def open_streams(self) -> None:
        args = self.args
        if not any(c.name == "ferry" for c in self.ready):
            return
        say(
            f"bench: {args.open_streams} UploadParts streams open ({args.active_streams} "
            f"sending), GetTask timed {args.probe_calls} times"
        )
        for i in range(args.runs):
            try:
                run = many_streams.open_streams_run(
                    self.scratch,
                    streams=args.open_streams,
                    active=args.active_streams,
                    generators=args.generators,
                    calls=args.probe_calls,
                    interval=args.probe_interval,
                    probe_timeout=args.probe_timeout,
                    hold=args.streams_hold,
                    tag=str(i + 1),
                    say=say,
                )
            except (ProcessFailed, OSError, ValueError, KeyError) as exc:
                self.results.failures["open-streams/ferry"] = f"{type(exc).__name__}: {exc}"
                say(f"  ferry    run {i + 1}: FAILED: {exc}")
                traceback.print_exc(file=sys.stderr)
                return
            say(f"  ferry    run {i + 1}: {many_streams.show_run(run)}")
            self.results.open_streams.append(run)

    def run(self) -> Results:
        t0 = time.monotonic()
        self.prepare()
        ferry_code = Ferry.fingerprint()
        chosen = self.args.scenario_set
        for phase, flag in (("small", "no_small"), ("merge", "no_merge"), ("rss", "no_rss")):
            if getattr(self.args, flag):
                chosen.discard(phase)
                self.results.phases_skipped[phase] = f"--{flag.replace('_', '-')}"
        for phase in SCENARIOS:
            if phase not in chosen:
                self.results.phases_skipped.setdefault(phase, "not in --scenarios")
                continue
            {
                "large": self.large,
                "small": self.small,
                "merge": self.merge,
                "rss": self.rss,
                "many-uploads": self.many_uploads,
                "open-streams": self.open_streams,
            }[phase]()
        measured = [m for runs in self.results.large.values() for m in runs]
        measured += [m for runs in self.results.small.values() for m in runs]
        measured += self.results.merge + list(self.results.rss.values())
        measured += self.results.many_uploads
        busy = [m for m in measured if m.other_load >= BUSY_CORES]
        if busy:
            worst = max(m.other_load for m in busy)
            self.results.warnings.append(
                f"{len(busy)} of {len(measured)} measured runs shared the machine with other "
                f"work averaging {BUSY_CORES:.2f} cores or more (worst {worst:.2f} of "
                f"{os.cpu_count()}): those figures are low. Run again on a quiet machine."
            )
        if Ferry.fingerprint() != ferry_code:
            self.results.warnings.append(
                "Ferry's sources changed on disk during this run (another checkout or edit): "
                "its figures may mix two versions. Run again on a quiet tree."
            )
        self.results.elapsed_seconds = time.monotonic() - t0
        return self.results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.concurrency < 1 or args.small_count < 1:
        say("bench: --runs, --concurrency and --small-count must be at least 1")
        return 2
    scenarios: set[str] = set()
    for name in (n.strip() for n in args.scenarios.split(",") if n.strip()):
        if name not in SCENARIOS and name not in ALIASES:
            say(f"bench: unknown scenario {name}; choose from {', '.join(SCENARIOS)}, many-streams")
            return 2
        scenarios.update(ALIASES.get(name, (name,)))
    args.scenario_set = scenarios
    wanted = [name.strip() for name in args.contenders.split(",") if name.strip()]
    known = {c.name: c for c in all_contenders()}
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        say(f"bench: unknown contender(s) {', '.join(unknown)}; choose from {', '.join(known)}")
        return 2
    contenders = [known[name] for name in known if name in wanted]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    # Peak disk use: the source, one published copy and some slack; say so before starting.
    need = 2 * max(args.size, 0 if args.no_rss else args.rss_size, args.merge_size) + args.size
    need = max(need, 3 * args.many_count * args.many_size)
    free = shutil.disk_usage(args.work_dir).free
    if free < need:
        say(f"bench: {args.work_dir} has {free / MB:.0f} MB free, needs about {need / MB:.0f} MB")
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=args.work_dir))
    try:
        results = Harness(args, contenders, scratch).run()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say(report.console_summary(results))
    if not args.no_write:
        report.write(results, args.results)
        say(f"\nbench: wrote {args.results}")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
