"""Turning measurements into figures: medians and ranges, ratios, the targets' verdicts, the
console summary and bench/RESULTS.md. Nothing here measures; nothing here invents a number."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.many_streams import StreamsRun
from bench.measure import Measurement
from bench.workload import format_size

GIB = 1 << 30
MB = 1e6


@dataclass
class Results:
    """Everything one invocation measured, and what it could not."""

    command: str
    started: str
    elapsed_seconds: float
    settings: dict[str, str]
    machine: dict[str, str]
    versions: dict[str, str]
    descriptions: dict[str, str]
    size: int
    small_count: int
    small_size: int
    concurrency: int
    merge_size: int
    rss_size: int | None
    many_count: int = 0
    many_size: int = 0
    #: Contenders that did not run at all, and why.
    skipped: dict[str, str] = field(default_factory=dict)
    #: "phase/contender" -> the error that stopped that contender in that phase.
    failures: dict[str, str] = field(default_factory=dict)
    #: Phases not run, and why (e.g. "--no-rss").
    phases_skipped: dict[str, str] = field(default_factory=dict)
    #: Reasons to doubt the figures that are there (e.g. code that changed mid-run).
    warnings: list[str] = field(default_factory=list)
    large: dict[str, list[Measurement]] = field(default_factory=dict)
    small: dict[str, list[Measurement]] = field(default_factory=dict)
    merge: list[Measurement] = field(default_factory=list)
    rss: dict[str, Measurement] = field(default_factory=dict)
    many_uploads: list[Measurement] = field(default_factory=list)
    open_streams: list[StreamsRun] = field(default_factory=list)

    def missing(self) -> list[str]:
        """Human-readable reasons why this run is not a complete set of figures."""
        notes = [f"{name} not measured: {why}" for name, why in self.skipped.items()]
        notes += [f"{key} failed: {why.splitlines()[0]}" for key, why in self.failures.items()]
        notes += [f"{phase} phase not run: {why}" for phase, why in self.phases_skipped.items()]
        return notes


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, fmt: str = "{:.0f}", scale: float = 1.0) -> str:
        med, low, high = (fmt.format(v * scale) for v in (self.median, self.low, self.high))
        return f"{med} ({low}-{high})"


def _spread(runs: Sequence[Measurement], value: Callable[[Measurement], float]) -> Spread | None:
    return Spread.of([value(m) for m in runs]) if runs else None


def _mb_s(m: Measurement) -> float:
    return m.throughput / MB


def _per_gib(seconds: float, nbytes: int) -> float:
    return seconds / (nbytes / GIB)


def _mb(nbytes: float) -> str:
    return f"{nbytes / MB:.0f} MB"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    outcome: str  # "PASS", "FAIL" or "not measured"


def _ratio(results: Results, a: str, b: str) -> float | None:
    ra, rb = _spread(results.large.get(a, []), _mb_s), _spread(results.large.get(b, []), _mb_s)
    return ra.median / rb.median if ra and rb else None


def verdicts(results: Results) -> list[Verdict]:
    out: list[Verdict] = []

    def add(target: str, value: float | None, shown: str, ok: Callable[[float], bool]) -> None:
        if value is None:
            out.append(Verdict(target, "-", "not measured"))
        else:
            out.append(Verdict(target, shown, "PASS" if ok(value) else "FAIL"))

    size = format_size(results.size)
    vs_tus = _ratio(results, "ferry", "tus")
    add(
        f"Ferry >= 1.5x tus ({size}, median MB/s)",
        vs_tus,
        f"{vs_tus or 0:.2f}x",
        lambda r: r >= 1.5,
    )
    vs_ceiling = _ratio(results, "ferry", "ceiling")
    add(
        f"Ferry >= 0.85x ceiling ({size}, median MB/s)",
        vs_ceiling,
        f"{vs_ceiling or 0:.2f}x",
        lambda r: r >= 0.85,
    )
    small_f = _spread(results.small.get("ferry", []), lambda m: m.files_per_second)
    small_t = _spread(results.small.get("tus", []), lambda m: m.files_per_second)
    small_ratio = small_f.median / small_t.median if small_f and small_t else None
    add(
        f"Small files: Ferry >= 2x tus files/s ({results.small_count} x "
        f"{format_size(results.small_size)})",
        small_ratio,
        f"{small_ratio or 0:.2f}x",
        lambda r: r >= 2.0,
    )
    rss = results.rss.get("ferry")
    rss_note = "" if results.rss_size in (None, 4 * GIB) else " (target is for 4 GiB)"
    rss_size = format_size(results.rss_size) if results.rss_size else "4 GiB"
    add(
        f"Ferry server peak RSS <= 150 MB during {rss_size}{rss_note}",
        rss.server_peak_rss if rss else None,
        _mb(rss.server_peak_rss) if rss else "",
        lambda v: v <= 150 * MB,
    )
    add(
        f"Ferry client peak RSS <= 100 MB during {rss_size}{rss_note}",
        rss.client_peak_rss if rss else None,
        _mb(rss.client_peak_rss) if rss else "",
        lambda v: v <= 100 * MB,
    )
    merge = _spread(results.merge, lambda m: m.details["instrumented"]["last_ack_to_merge_reply"])
    merge_note = "" if results.merge_size == GIB else " (target is for 1 GiB)"
    add(
        f"Merge <= 50 ms for {format_size(results.merge_size)}{merge_note} "
        "(last ack -> Merge reply, median)",
        merge.median if merge else None,
        f"{merge.median * 1000:.0f} ms" if merge else "",
        lambda v: v <= 0.050,
    )
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _large_table(results: Results, names: Sequence[str]) -> list[str]:
    rows = []
    for name in names:
        runs = results.large.get(name, [])
        if not runs:
            why = results.skipped.get(name) or results.failures.get(f"large/{name}", "not run")
            rows.append([name, "not measured", "", "", "", why.splitlines()[0]])
            continue
        tput = _spread(runs, _mb_s)
        secs = _spread(runs, lambda m: m.seconds)
        scpu = _spread(runs, lambda m: _per_gib(m.server_cpu, m.bytes))
        ssys = _spread(runs, lambda m: _per_gib(m.server_cpu_system, m.bytes))
        ccpu = _spread(runs, lambda m: _per_gib(m.client_cpu, m.bytes))
        assert tput and secs and scpu and ssys and ccpu
        rows.append(
            [
                name,
                tput.show(),
                secs.show("{:.2f}"),
                f"{scpu.show('{:.2f}')}, of which kernel {ssys.median:.2f}",
                ccpu.show("{:.2f}"),
                str(tput.n),
            ]
        )
    lines = _table(
        [
            "contender",
            "MB/s median (min-max)",
            "seconds",
            "server CPU s/GiB",
            "client CPU s/GiB",
            "runs",
        ],
        rows,
    )
    ratios = []
    for other in ("ceiling", "tus"):
        ratio = _ratio(results, "ferry", other)
        if ratio is not None:
            ratios.append(f"Ferry / {other}: **{ratio:.2f}x**")
    if ratios:
        lines += ["", "Ratios of medians: " + "; ".join(ratios) + "."]
    blocks = sorted({int(m.details["block_size"]) for m in results.large.get("ferry", [])})
    if blocks:
        sizes = ", ".join(format_size(b) for b in blocks)
        lines += ["", f"Ferry's server assigned blocks of {sizes}."]
    return lines


def _large_runs(results: Results, names: Sequence[str]) -> list[str]:
    raw = []
    for name in names:
        for i, m in enumerate(results.large.get(name, []), 1):
            raw.append(
                [
                    name,
                    str(i),
                    f"{m.seconds:.3f}",
                    f"{_mb_s(m):.0f}",
                    f"{m.server_cpu_user:.2f} + {m.server_cpu_system:.2f}",
                    f"{m.client_cpu:.2f}",
                    f"{m.other_load:.2f}",
                ]
            )
    return _table(
        [
            "contender",
            "run",
            "seconds",
            "MB/s",
            "server CPU user + kernel s",
            "client CPU s",
            "rest of machine, cores",
        ],
        raw,
    )


def _small_section(results: Results) -> list[str]:
    rows = []
    for name in ("ferry", "tus"):
        runs = results.small.get(name, [])
        if not runs:
            why = results.skipped.get(name) or results.failures.get(f"small/{name}", "not run")
            rows.append([name, "not measured", "", "", why.splitlines()[0]])
            continue
        fps = _spread(runs, lambda m: m.files_per_second)
        scpu = _spread(runs, lambda m: m.server_cpu / m.files * 1000)
        ccpu = _spread(runs, lambda m: m.client_cpu / m.files * 1000)
        assert fps and scpu and ccpu
        rows.append([name, fps.show(), scpu.show("{:.1f}"), ccpu.show("{:.1f}"), str(fps.n)])
    lines = _table(
        [
            "contender",
            "files/s median (min-max)",
            "server CPU ms/file",
            "client CPU ms/file",
            "runs",
        ],
        rows,
    )
    f = _spread(results.small.get("ferry", []), lambda m: m.files_per_second)
    t = _spread(results.small.get("tus", []), lambda m: m.files_per_second)
    if f and t:
        lines += ["", f"Ferry / tus: **{f.median / t.median:.2f}x** files/s (medians)."]
    return lines


def _merge_section(results: Results) -> list[str]:
    if not results.merge:
        why = results.phases_skipped.get("merge") or results.failures.get("merge/ferry", "")
        return [f"Not measured: {why or results.skipped.get('ferry', 'not run')}."]

    def figure(key: str) -> Spread:
        spread = _spread(results.merge, lambda m: float(m.details["instrumented"][key]))
        assert spread is not None
        return spread

    rows: list[tuple[str, Spread]] = [
        ("last block acknowledgement -> Merge reply", figure("last_ack_to_merge_reply")),
        ("Merge RPC alone (sent -> answered)", figure("merge_rpc_seconds")),
        ("SHA-256 of the file done, from the call's start", figure("hash_seconds")),
    ]
    total = _spread(results.merge, lambda m: m.seconds)
    assert total is not None
    return _table(
        ["interval (client side)", "ms median (min-max)"],
        [[label, s.show("{:.0f}", 1000)] for label, s in rows]
        + [["whole upload() call", total.show("{:.0f}", 1000)]],
    )


def _rss_section(results: Results, names: Sequence[str]) -> list[str]:
    if results.rss_size is None:
        return [f"Not measured: {results.phases_skipped.get('rss', 'skipped')}."]
    rows = []
    for name in names:
        m = results.rss.get(name)
        if m is None:
            why = results.skipped.get(name) or results.failures.get(f"rss/{name}", "not run")
            rows.append([name, "not measured", "", why.splitlines()[0]])
            continue
        rows.append([name, _mb(m.server_peak_rss), _mb(m.client_peak_rss), f"{_mb_s(m):.0f}"])
    return _table(["contender", "server peak RSS", "client peak RSS", "MB/s of that run"], rows)


def _many_uploads_section(results: Results) -> list[str]:
    runs = results.many_uploads
    if not runs:
        why = results.phases_skipped.get("many-uploads") or results.failures.get(
            "many-uploads/ferry", results.skipped.get("ferry", "not run")
        )
        return [f"Not measured: {why.splitlines()[0]}."]
    tput = _spread(runs, _mb_s)
    secs = _spread(runs, lambda m: m.seconds)
    scpu = _spread(runs, lambda m: _per_gib(m.server_cpu, m.bytes))
    rss = _spread(runs, lambda m: m.server_peak_rss / MB)
    ccpu = _spread(runs, lambda m: _per_gib(m.client_cpu, m.bytes))
    assert tput and secs and scpu and rss and ccpu
    return _table(
        [
            "aggregate MB/s",
            "s to the last Merge reply",
            "server CPU s/GiB",
            "server peak RSS MB",
            "client CPU s/GiB",
            "runs",
        ],
        [
            [
                tput.show(),
                secs.show("{:.1f}"),
                scpu.show("{:.2f}"),
                rss.show(),
                ccpu.show("{:.2f}"),
                str(tput.n),
            ]
        ],
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "0"


def _open_streams_section(results: Results) -> list[str]:
    runs = results.open_streams
    if not runs:
        why = results.phases_skipped.get("open-streams") or results.failures.get(
            "open-streams/ferry", results.skipped.get("ferry", "not run")
        )
        return [f"Not measured: {why.splitlines()[0]}."]
    timeout = runs[0].probe_timeout

    def ms(values: Sequence[float]) -> str:
        spread = Spread.of(values)
        med, low, high = (
            f"> {timeout * 1000:.0f}" if v == float("inf") else f"{v * 1000:.0f}"
            for v in (spread.median, spread.low, spread.high)
        )
        return f"{med} ({low}-{high})"

    first = runs[0]
    lines = [
        f"{first.streams} streams ({first.active} sending 1 MiB messages of real blocks, the "
        f"rest idle) from {first.generators} grpc.aio processes; {len(first.latencies)} "
        f"GetTask calls on a channel of their own, {timeout:.0f} s deadline each (a call that "
        "failed counts as slower than the deadline). Medians (min-max) of "
        f"{len(runs)} runs, each on a fresh server.",
        "",
    ]
    lines += _table(
        ["figure", "value"],
        [
            ["GetTask p50 ms", ms([r.percentile(0.5) for r in runs])],
            ["GetTask p99 ms", ms([r.percentile(0.99) for r in runs])],
            ["GetTask max ms", ms([max(r.latencies) for r in runs])],
            [
                "GetTask calls failed",
                " / ".join(_counts(r.probe_failures) for r in runs),
            ],
            [
                "server peak RSS MB (VmHWM)",
                Spread.of([r.server_peak_rss / MB for r in runs]).show(),
            ],
            ["server CPU s (window)", Spread.of([r.server_cpu for r in runs]).show("{:.1f}")],
            [
                "committed MB/s by the active streams",
                Spread.of([r.acked_mb_s for r in runs]).show(),
            ],
            ["active streams acknowledged", " / ".join(str(r.active_served) for r in runs)],
            ["streams opened (headers sent)", " / ".join(str(r.opened) for r in runs)],
            ["seconds to open them all", " / ".join(f"{r.open_seconds:.1f}" for r in runs)],
            ["still open at the end", " / ".join(str(r.still_open) for r in runs)],
            [
                f"refused (ended within {1:.0f} s)",
                " / ".join(_counts(r.refused_by) for r in runs),
            ],
            ["ended later by the server", " / ".join(_counts(r.ended_later) for r in runs)],
            [
                "busiest load generator, cores",
                " / ".join(
                    f"{max(c / w for c, w in r.generator_cpu):.2f}" for r in runs if r.generator_cpu
                ),
            ],
        ],
    )
    return lines


def render(results: Results) -> str:
    names = list(results.descriptions)
    size = format_size(results.size)
    lines = [
        "# Ferry benchmark results",
        "",
        f"Written by `{results.command}` on {results.started} "
        f"({results.elapsed_seconds / 60:.1f} min). Every figure below was measured in that "
        "run; nothing is carried over from elsewhere.",
        "",
    ]
    missing = results.missing()
    if missing:
        lines += ["**Incomplete run.** Figures are missing for:", ""]
        lines += [f"- {note}" for note in missing]
        lines += [""]
    if results.warnings:
        lines += ["**Caution:**", ""]
        lines += [f"- {note}" for note in results.warnings]
        lines += [""]
    lines += ["## Machine", ""]
    lines += _table(["", ""], [[k, v] for k, v in {**results.machine, **results.versions}.items()])
    lines += ["", "## Settings", ""]
    lines += _table(["", ""], [[k, v] for k, v in results.settings.items()])
    lines += ["", "## Targets", ""]
    lines += _table(
        ["target", "measured", "verdict"],
        [[v.target, v.measured, f"**{v.outcome}**"] for v in verdicts(results)],
    )
    lines += ["", f"## One {size} file over loopback", ""]
    lines += [f"- **{name}**: {results.descriptions[name]}" for name in names]
    lines += [""]
    lines += _large_table(results, names)
    lines += ["", "Every measured run, in the order each contender ran them:", ""]
    lines += _large_runs(results, names)
    lines += [
        "",
        f"## Small files: {results.small_count} x {format_size(results.small_size)}, "
        f"{results.concurrency} uploads at a time",
        "",
        "Ferry: one `FerryClient` shared by a thread pool of that many `upload()` calls (default "
        "settings, state file on). tus: that many tus-js-client uploads in flight in one Node "
        "process. Each from the first upload's start to the last one's end.",
        "",
    ]
    lines += _small_section(results)
    lines += ["", f"## Merge latency, {format_size(results.merge_size)} (Ferry)", ""]
    lines += _merge_section(results)
    if results.merge:
        lines += [
            "",
            "The first interval includes the QueryMissingBlocks round trip the client makes "
            "after its last acknowledgement, before it sends Merge.",
        ]
    rss_title = format_size(results.rss_size) if results.rss_size else "large"
    lines += ["", f"## Peak memory during one {rss_title} upload", ""]
    lines += _rss_section(results, names)
    lines += [
        "",
        f"## Many uploads at once (Ferry): {results.many_count} x "
        f"{format_size(results.many_size)}, distinct files",
        "",
        "One `FerryClient` (default settings) with a thread an upload, all in flight at once; "
        "from the first call to the last upload's return (its Merge answered).",
        "",
    ]
    lines += _many_uploads_section(results)
    lines += ["", "## Unary latency with many streams open (Ferry)", ""]
    lines += _open_streams_section(results)
    lines += ["", "## Method", ""]
    lines += [f"- {note}" for note in METHOD_NOTES]
    return "\n".join(lines) + "\n"


METHOD_NOTES = (
    "All traffic is on 127.0.0.1. Every server and every client is its own child process of "
    "the harness. Each contender gets one server per phase, started on a fresh, empty "
    "directory (Ferry: fresh data dir and SQLite database), as a service would run; its "
    "warm-up run is untimed, and every run sends to a fresh destination (Ferry: a new "
    "store_path and a new client state file; ceiling: a new file; tus: a new upload), whose "
    "bytes are deleted once checked. The peak-memory runs use a server started for that one "
    "upload instead, so VmHWM covers its whole life.",
    "Each contender's runs follow each other on its server (all of the ceiling's, then "
    "Ferry's, then tus's), as a busy service's uploads would. This VM's balloon device "
    "reports free memory back to the host (virtio-balloon free page reporting), so memory "
    "freed a few seconds earlier costs page faults when touched again: with rounds "
    "interleaving the contenders (`--interleave`), every run pays that for its whole "
    "destination, and the two-stream writers (ceiling, Ferry) pay most, their threads "
    "queueing on the file's lock while each copy faults; a new server for every run "
    "(`--fresh-servers`) likewise pays for its first GiB. Both orders remain available; "
    "the settings above say which one this run used.",
    "The page cache is not dropped: the harness reads the source file(s) just before every "
    "run, so each contender reads warm data, and calls sync() before every run, so no run "
    "pays for the previous one's writeback.",
    "Durability differs: Ferry fsyncs every block and commits it to SQLite before "
    "acknowledging it, and checks CRC32C per block and SHA-256 per file; the ceiling and tus "
    "do none of that. The comparison is as the issue sets it.",
    "After every run (untimed), the published file is hashed and compared with the source; a "
    "run whose bytes differ is an error, not a figure.",
    "The rest of the machine's load during each run (other processes and kernel threads, "
    "from /proc/stat minus the server's and the client's CPU) is shown per run and flagged "
    "above a quarter of a core: this machine may be shared with other work. Kernel threads "
    "writing back a contender's own data (e.g. after Ferry's fsyncs) count there too.",
    "Server CPU comes from /proc/PID/stat (utime+stime) around the client's run; server peak "
    "RSS from /proc/PID/status VmHWM of a server started for that upload; client peak RSS "
    "from wait4() of the client process. Client CPU is what the client process reports for "
    "its timed window (Python time.process_time, Node process.cpuUsage).",
    "Merge latency is measured in the Ferry client process through gRPC client interceptors "
    "passed to `FerryClient(interceptors=...)`: the time of the last UploadParts "
    "acknowledgement received, and the Merge call's start and reply. Those runs are separate "
    "from the throughput runs, which use no interceptor.",
)


def console_summary(results: Results) -> str:
    """The parts of the report worth seeing at the end of a run, as plain text."""
    names = list(results.descriptions)
    lines = ["", f"== One {format_size(results.size)} file =="]
    lines += _large_table(results, names)
    lines += ["", "== Small files =="]
    lines += _small_section(results)
    lines += ["", "== Merge latency =="]
    lines += _merge_section(results)
    lines += ["", "== Peak memory =="]
    lines += _rss_section(results, names)
    lines += ["", "== Many uploads at once =="]
    lines += _many_uploads_section(results)
    lines += ["", "== Unary latency with many streams open =="]
    lines += _open_streams_section(results)
    lines += ["", "== Targets =="]
    lines += [f"{v.outcome:>12}  {v.target}: {v.measured}" for v in verdicts(results)]
    missing = results.missing()
    if missing:
        lines += ["", "INCOMPLETE:"] + [f"  - {note}" for note in missing]
    if results.warnings:
        lines += ["", "CAUTION:"] + [f"  - {note}" for note in results.warnings]
    return "\n".join(lines)


#: Where bench.longlink's section of RESULTS.md starts: this module keeps it, that one writes it.
LONGLINK_MARKER = "<!-- long-link section: written by python -m bench.longlink -->"


def write(results: Results, path: Path) -> None:
    """Rewrite ``path``, keeping the long-link benchmark's section (bench.longlink) as it is."""
    kept = ""
    if path.exists() and LONGLINK_MARKER in (text := path.read_text()):
        kept = "\n" + LONGLINK_MARKER + text.split(LONGLINK_MARKER, 1)[1]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(results) + kept)
    tmp.replace(path)
