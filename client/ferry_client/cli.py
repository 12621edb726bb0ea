"""The ``ferry`` command: ``ferry upload|status|pause|resume|cancel`` over the client library,
and ``ferry serve`` handed to the server's own command line.

``ferry upload FILE STORE_PATH`` uploads one file; ``ferry upload SRC... DEST/`` (a destination
ending with ``/``, ``-r`` for directories) uploads many, ``--jobs`` at a time, with an overall
progress bar, a line per file and a summary. As soon as a task exists its id is printed on
stderr with how to pause or cancel it; ``--json-events`` prints the upload's events on stdout,
one JSON object per line.

Exit status: 0 success (every file published); 1 an error (one line on stderr says what), e.g.
an address where no Ferry server can be reached because of what is there (no such host, not
gRPC, not Ferry, TLS on one side only), or some files of a batch failed; 2 bad usage; 3 the task
is paused; 75 try again later (EX_TEMPFAIL): a transient failure outlasted the retry policy, or
nothing answered at the address (refused, no route, timed out), or every failed file of a batch
failed that way; 130 interrupted (run the same ``ferry upload`` again to resume, unless
``--cancel-on-interrupt`` cancelled the task).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ferry_client import cli_listing
from ferry_client.batch import (
    BatchSummary,
    FileResult,
    Outcome,
    PlanError,
    UploadItem,
    plan_sources,
)
from ferry_client.client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_JOBS, DEFAULT_TARGET, FerryClient
from ferry_client.credentials import TokenRefused, read_token_file
from ferry_client.errors import FerryError, TaskPaused, TransientError
from ferry_client.events import CREATED, FAILED, UploadEvent
from ferry_client.models import Grant, TaskInfo, TaskState, UploadResult
from ferry_client.progress import ProgressBar, format_bytes
from ferry_client.retry import RetryPolicy
from ferry_client.stall import DEFAULT_STALL_TIMEOUT
from ferry_client.tls import TlsOptions

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_TEMPFAIL = 75
EXIT_INTERRUPTED = 130

#: Task commands are interactive: give up on an unreachable server sooner than uploads do.
COMMAND_RETRY = RetryPolicy(max_attempts=6, max_elapsed=20.0)

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``256K``, ``8MiB``, ``1G`` or a plain byte count (binary units)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 256K, 8MiB or 1048576")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def parse_meta(text: str) -> tuple[str, str]:
    """``key=value`` (the value may contain ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not key=value")
    return key, value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


class _SourcesAndDestination(argparse.Action):
    """``SRC... DEST``: every path but the last is a source, the last the destination."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,  # noqa: ARG002
    ) -> None:
        paths = list(values) if isinstance(values, list) else [str(values)]
        if len(paths) < 2:
            parser.error("give the file(s) to upload and then the destination")
        namespace.sources = paths[:-1]
        namespace.store_path = paths[-1]
        namespace.file = paths[0] if len(paths) == 2 else None


class UsageError(Exception):
    """The command line asks for something impossible (said in one line, exit 2)."""


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferry",
        description="Resumable, verified transfer of large files over gRPC.",
        epilog="Exit status: 0 ok, 1 error (or some files of a batch failed), 2 usage, 3 task "
        "paused, 75 try again later (a transient failure outlasted the retry policy, or "
        "nothing answered at the address), 130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run a Ferry server (ferry serve --help)", add_help=False)
    commands.add_parser(
        "fsck", help="check a server's SQL against its storage (ferry fsck --help)", add_help=False
    )
    commands.add_parser(
        "token",
        help="make a service token and its principals-file entry (ferry token --help)",
        add_help=False,
    )

    server = argparse.ArgumentParser(add_help=False)
    server.add_argument(
        "--server",
        default=env.get("FERRY_SERVER") or DEFAULT_TARGET,
        metavar="HOST:PORT",
        help="the Ferry service [FERRY_SERVER, %(default)s]",
    )
    server.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=_env_float(env, "FERRY_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        metavar="SECONDS",
        help="give up on an address never reached after this long "
        "[FERRY_CONNECT_TIMEOUT, %(default)g]",
    )
    server.add_argument(
        "--tls",
        action="store_true",
        default=env.get("FERRY_TLS", "").strip().lower() in ("1", "true", "yes", "on"),
        help="speak TLS, trusting the system's CAs (implied by --tls-ca, --tls-cert and a "
        "grpcs:// server address) [FERRY_TLS]",
    )
    server.add_argument(
        "--tls-ca",
        default=env.get("FERRY_TLS_CA") or None,
        metavar="FILE",
        help="speak TLS, trusting the CAs of this PEM bundle [FERRY_TLS_CA]",
    )
    server.add_argument(
        "--tls-cert",
        default=env.get("FERRY_TLS_CERT") or None,
        metavar="FILE",
        help="PEM client certificate for mutual TLS, with --tls-key [FERRY_TLS_CERT]",
    )
    server.add_argument(
        "--tls-key",
        default=env.get("FERRY_TLS_KEY") or None,
        metavar="FILE",
        help="PEM private key of --tls-cert [FERRY_TLS_KEY]",
    )
    server.add_argument("--json", action="store_true", help="print the result as JSON")
    # The token is never printed, nor echoed in an error.
    server.add_argument(
        "--token",
        default=env.get("FERRY_TOKEN") or None,
        metavar="TOKEN",
        help="bearer token: a service token, a JWT or an upload token (prefer --token-file or "
        "FERRY_TOKEN: a command line is visible to other users) [FERRY_TOKEN]",
    )
    server.add_argument(
        "--token-file",
        default=env.get("FERRY_TOKEN_FILE") or None,
        metavar="PATH",
        help="read the bearer token from this file's first line [FERRY_TOKEN_FILE]",
    )
    server.add_argument(
        "--insecure-token",
        action="store_true",
        default=env.get("FERRY_INSECURE_TOKEN", "") not in ("", "0", "false", "no"),
        help="allow sending the token in plaintext to a host other than this one "
        "[FERRY_INSECURE_TOKEN]",
    )

    upload = commands.add_parser(
        "upload",
        parents=[server],
        help="upload files (run it again to resume)",
        description="Upload FILE to STORE_PATH, or several files (and with -r directories) "
        "under DEST/, a prefix on the server. Interrupted, the same command resumes; run "
        "again after it completed, it reports the files already there.",
    )
    upload.add_argument(
        "paths",
        nargs="+",
        action=_SourcesAndDestination,
        metavar="SRC... DEST",
        help="FILE STORE_PATH, or SRC... DEST/ (DEST ending with '/' is a prefix); "
        "FILE '-' reads standard input (a pipe: its size is told at the end; it cannot be "
        "resumed by another run, so a run that gives up cancels its task)",
    )
    upload.add_argument(
        "-r", "--recursive", action="store_true", help="upload directories with their files"
    )
    upload.add_argument(
        "--jobs",
        type=positive_int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"files in flight at once (default {DEFAULT_JOBS})",
    )
    upload.add_argument(
        "--json-events",
        action="store_true",
        help="print the upload's events on stdout, one JSON object per line (created, "
        "progress, retrying, stalled, completed or failed; a batch ends with a summary)",
    )
    upload.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="on Ctrl-C, cancel the task(s) this run created instead of leaving them to resume",
    )
    upload.add_argument(
        "--parallelism", type=positive_int, default=2, metavar="N", help="streams (default 2)"
    )
    upload.add_argument(
        "--block-size",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="e.g. 8M; a multiple of 64K within the server's bounds (default: the server's)",
    )
    upload.add_argument(
        "--max-window",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="send ahead of acknowledgements in a window sized from the measured bandwidth-"
        "delay product, at most SIZE per stream (a cut connection costs at most this per stream "
        "again; default 32M)",
    )
    upload.add_argument(
        "--blocks-in-flight",
        type=int,
        default=None,
        metavar="N",
        help="a fixed window of N unacknowledged blocks per stream instead of the measured one "
        "(1: wait for each block's acknowledgement)",
    )
    upload.add_argument(
        "--connections",
        type=int,
        default=None,
        metavar="N",
        help="TCP connections the upload streams take in turn (default 2: one per stream of "
        "the default --parallelism; each has its own send buffer, which long links need)",
    )
    upload.add_argument(
        "--meta",
        type=parse_meta,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata returned with the completed task (repeatable)",
    )
    upload.add_argument(
        "--overwrite", action="store_true", help="replace a file already at STORE_PATH"
    )
    upload.add_argument(
        "--stall-timeout",
        type=non_negative_float,
        default=non_negative_float(env.get("FERRY_STALL_TIMEOUT") or str(DEFAULT_STALL_TIMEOUT)),
        metavar="SECONDS",
        help="cut a stream that makes no progress for this long and send its blocks again on "
        f"a new stream; 0 never [FERRY_STALL_TIMEOUT, {DEFAULT_STALL_TIMEOUT:g}]",
    )
    upload.add_argument(
        "--max-size",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="with '-': the most bytes standard input may bring, e.g. 200G (default: the "
        "server's maximum file size); an object-store server picks its part size from it",
    )
    upload.add_argument(
        "--state-file",
        default=env.get("FERRY_STATE_FILE") or None,
        metavar="PATH",
        help="where unfinished uploads are remembered [FERRY_STATE_FILE, "
        "~/.cache/ferry/uploads.json]",
    )
    upload.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    upload.set_defaults(handler=_upload)

    fetch = commands.add_parser(
        "download",
        parents=[server],
        help="download a published file, resumably and verified",
        description="Download the file published at STORE_PATH to DEST (a file, or a "
        "directory to put it in; default: its name, here). An interrupted download resumes "
        "from DEST.ferry-part; the SHA-256 is checked before DEST is written.",
    )
    fetch.add_argument("store_path", metavar="STORE_PATH")
    fetch.add_argument("dest", metavar="DEST", nargs="?", default=None)
    fetch.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    fetch.set_defaults(handler=_download)

    watch = commands.add_parser(
        "watch",
        parents=[server],
        help="follow a task until it ends",
        description="Print the task now and after each change of its state or committed "
        "bytes, until it is COMPLETED, FAILED, CANCELED or EXPIRED (one JSON object per line "
        "with --json). Exit status 0 if it COMPLETED, 1 otherwise.",
    )
    watch.add_argument("task_id", metavar="TASK_ID")
    watch.set_defaults(handler=_watch)

    _add_delegation_commands(commands, server, env)
    cli_listing.add_commands(commands, server, _listing)

    for name, text in (
        ("status", "show a task"),
        ("pause", "pause a task (its uploads stop)"),
        ("resume", "let a paused task take blocks again"),
        ("cancel", "cancel a task for good"),
    ):
        command = commands.add_parser(name, parents=[server], help=text, description=text)
        command.add_argument("task_id", metavar="TASK_ID")
        command.set_defaults(handler=_task_command)
    return parser


def _add_delegation_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    server: argparse.ArgumentParser,
    env: Mapping[str, str],
) -> None:
    """ferry declare, upload-token and upload-to: the business backend's and the uploader's
    sides of an upload with an upload token (README, "Identity and permissions")."""
    declare = commands.add_parser(
        "declare",
        parents=[server],
        help="create a task for someone else to upload; write its upload token to a file",
        description="The business backend's side: declare the file STORE_PATH (its size and, "
        "recommended, its SHA-256) and write an upload token for the task to --token-out; "
        "hand the uploader the task id and that token (ferry upload-to).",
    )
    declare.add_argument("store_path", metavar="STORE_PATH")
    declare.add_argument("--size", type=parse_size, required=True, help="the file's size")
    declare.add_argument("--sha256", default="", help="the file's SHA-256 (64 hex digits)")
    declare.add_argument("--overwrite", action="store_true", help="replace a published file")
    declare.add_argument(
        "--token-out", required=True, type=Path, metavar="PATH",
        help="write the upload token here (a new file, mode 0600)",
    )  # fmt: skip
    declare.add_argument(
        "--ttl", type=positive_float, default=0, metavar="SECONDS",
        help="the upload token's life (default and maximum: the server's)",
    )  # fmt: skip
    declare.set_defaults(handler=_declare)

    grant = commands.add_parser(
        "upload-token",
        parents=[server],
        help="write a new upload token for one of your tasks to a file",
    )
    grant.add_argument("task_id", metavar="TASK_ID")
    grant.add_argument("--token-out", required=True, type=Path, metavar="PATH",
                       help="write the upload token here (a new file, mode 0600)")  # fmt: skip
    grant.add_argument("--ttl", type=positive_float, default=0, metavar="SECONDS",
                       help="its life (default and maximum: the server's)")  # fmt: skip
    grant.set_defaults(handler=_grant)

    upload_to = commands.add_parser(
        "upload-to",
        parents=[server],
        help="upload FILE into an existing task (the uploader's side, with an upload token)",
        description="Upload FILE into the task TASK_ID that someone else declared (run it "
        "with the task's upload token: --token-file). Interrupted, the same command resumes.",
    )
    upload_to.add_argument("task_id", metavar="TASK_ID")
    upload_to.add_argument("file", metavar="FILE")
    upload_to.add_argument(
        "--parallelism", type=positive_int, default=2, metavar="N", help="streams (default 2)"
    )
    upload_to.add_argument(
        "--state-file",
        default=env.get("FERRY_STATE_FILE") or None,
        metavar="PATH",
        help="where unfinished uploads are remembered [FERRY_STATE_FILE]",
    )
    upload_to.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    upload_to.set_defaults(handler=_upload_to)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["serve"], ["fsck"], ["token"]):
        return _server_command(args)
    parser = build_parser(os.environ)
    ns = parser.parse_args(args)
    if ns.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    console = _Console(sys.stderr)
    handler = _ConsoleLogHandler(console)
    logger = logging.getLogger("ferry")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        code: int = ns.handler(ns, console)
        return code
    except TaskPaused as exc:
        console.error(str(exc))
        return EXIT_PAUSED
    except TransientError as exc:
        console.error(str(exc))
        return EXIT_TEMPFAIL
    except FerryError as exc:
        console.error(str(exc))
        return EXIT_ERROR
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        console.error(f"{where}{exc.strerror or exc}")
        return EXIT_ERROR
    except UsageError as exc:
        console.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        note = getattr(ns, "interrupt_note", None)
        if note is None and ns.command == "upload":
            note = "run the same command again to resume"
        console.error("interrupted" + (f"; {note}" if note else ""))
        return EXIT_INTERRUPTED
    finally:
        # As found: a program (or a test) calling main() in-process keeps its own logging.
        logger.removeHandler(handler)
        logger.setLevel(level)


#: Top-level modules of the ``server`` extra (and the server itself): missing where only the
#: client is installed.
SERVER_MODULES = frozenset(
    {"ferry_server", "sqlalchemy", "alembic", "psycopg", "grpc_health", "grpc_reflection",
     "prometheus_client", "jwt"}
)  # fmt: skip


def _server_command(argv: list[str]) -> int:
    """``ferry serve ...``, ``ferry fsck ...`` and ``ferry token ...``, handed to the server's
    command line."""
    # Imported here so the client works where only the client is installed.
    try:
        from ferry_server.cli import main as server_main  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SERVER_MODULES:
            raise
        print(
            f"ferry {argv[0]}: the server is not installed here (no module {exc.name!r}): "
            "pip install 'ferry[server]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return server_main(argv if argv[0] in ("fsck", "token") else argv[1:])


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    return positive_float(text) if text else default


def _tls_options(ns: argparse.Namespace) -> TlsOptions | None:
    """The TLS flags as options; None when none asks for TLS (a grpcs:// address still may)."""
    if (ns.tls_cert is None) != (ns.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together: give both or neither")
    if not (ns.tls or ns.tls_ca or ns.tls_cert):
        return None
    return TlsOptions(ca_file=ns.tls_ca, cert_file=ns.tls_cert, key_file=ns.tls_key)


def _client(ns: argparse.Namespace, **options: object) -> FerryClient:
    token = ns.token
    if ns.token_file is not None and token is not None:
        raise UsageError("give --token or --token-file, not both")
    try:
        if ns.token_file is not None:
            token = read_token_file(ns.token_file)
        return FerryClient(
            ns.server,
            connect_timeout=ns.connect_timeout,
            tls=_tls_options(ns),
            token=token,
            insecure_token=ns.insecure_token,
            **options,  # type: ignore[arg-type]
        )
    except TokenRefused as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _window_options(ns: argparse.Namespace) -> dict[str, object]:
    """The measured sliding window (bounded by --max-window), or --blocks-in-flight's."""
    if ns.blocks_in_flight is not None and ns.blocks_in_flight < 1:
        raise UsageError("--blocks-in-flight must be at least 1")
    options: dict[str, object] = {"blocks_in_flight": ns.blocks_in_flight}
    if ns.max_window is not None:
        options["max_window"] = ns.max_window
    connections = getattr(ns, "connections", None)
    if connections is not None:
        if connections < 1:
            raise UsageError("--connections must be at least 1")
        options["connections"] = connections
    return options


def _write_secret(path: Path, secret: str) -> None:
    """A new file readable by its owner only."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; choose a new file for the token") from None
    with os.fdopen(descriptor, "w") as out:
        out.write(secret + "\n")


def _declare(ns: argparse.Namespace, _console: _Console) -> int:
    with _client(ns, retry=COMMAND_RETRY, remember_uploads=False) as client:
        grant = client.declare(ns.store_path, ns.size, sha256=ns.sha256, overwrite=ns.overwrite,
                               upload_token_ttl=ns.ttl)  # fmt: skip
    _write_secret(ns.token_out, grant.upload_token)
    _print_grant(ns, grant)
    return EXIT_OK


def _grant(ns: argparse.Namespace, _console: _Console) -> int:
    with _client(ns, retry=COMMAND_RETRY, remember_uploads=False) as client:
        grant = client.issue_upload_token(ns.task_id, ttl=ns.ttl)
    _write_secret(ns.token_out, grant.upload_token)
    _print_grant(ns, grant)
    return EXIT_OK


def _print_grant(ns: argparse.Namespace, grant: Grant) -> None:
    expires = grant.expires_at.isoformat(timespec="seconds")
    if ns.json:
        _print_json({"task": grant.task.to_json(), "token_file": str(ns.token_out),
                     "expire_time": expires})  # fmt: skip
    else:
        print(f"task {grant.task.task_id} ({grant.task.store_path}, {grant.task.state}); "
              f"upload token in {ns.token_out}, valid until {expires}")  # fmt: skip


def _upload_to(ns: argparse.Namespace, console: _Console) -> int:
    with _client(ns, state_file=ns.state_file) as client:
        uploading = None if ns.quiet else console.bar("uploading")
        try:
            result = client.upload_to_task(
                ns.file,
                ns.task_id,
                parallelism=ns.parallelism,
                progress=uploading.update if uploading else None,
            )
        finally:
            console.end_bars()
    if ns.json:
        _print_json(result.to_json())
    else:
        print(_describe_result(result))
    return EXIT_OK


def _upload(ns: argparse.Namespace, console: _Console) -> int:
    stall = ns.stall_timeout or None
    if "-" in ns.sources:
        if len(ns.sources) != 1 or ns.store_path.endswith("/"):
            raise UsageError("'-' (standard input) uploads alone, to a STORE_PATH not ending in /")
        with _client(ns, state_file=ns.state_file, stall_timeout=stall) as client:
            return _upload_stdin(ns, console, client)
    if ns.max_size is not None:
        raise UsageError("--max-size is for '-' (standard input) only")
    try:
        items = plan_sources(ns.sources, ns.store_path, recursive=ns.recursive)
    except PlanError as exc:
        raise UsageError(str(exc)) from exc
    # One file named on the command line keeps the one-file output; anything else is a batch.
    single = len(ns.sources) == 1 and len(items) == 1 and not Path(ns.sources[0]).is_dir()
    with _client(
        ns, state_file=ns.state_file, stall_timeout=stall, **_window_options(ns)
    ) as client:
        if single:
            return _upload_one(ns, console, client, items[0])
        return _upload_batch(ns, console, client, items)


def _upload_one(
    ns: argparse.Namespace, console: _Console, client: FerryClient, item: UploadItem
) -> int:
    uploading = None if ns.quiet else console.bar("uploading")
    events = _EventPrinter(ns, console, batch=False)
    try:
        result = client.upload(
            item.path,
            item.store_path,
            metadata=dict(ns.meta),
            block_size=ns.block_size,
            parallelism=ns.parallelism,
            progress=events.once_created(uploading.update) if uploading else None,
            hash_progress=events.once_created(_hashing_in_label(uploading)) if uploading else None,
            overwrite=ns.overwrite,
            on_event=events,
            cancel_on_interrupt=ns.cancel_on_interrupt,
        )
    except KeyboardInterrupt:
        ns.interrupt_note = events.interrupt_note()
        raise
    finally:
        console.end_bars()
    if ns.json_events:
        pass  # the completed event carried the result
    elif ns.json:
        _print_json(result.to_json())
    else:
        print(_describe_result(result))
    return EXIT_OK


def _upload_stdin(ns: argparse.Namespace, console: _Console, client: FerryClient) -> int:
    uploading = None if ns.quiet else console.bar("uploading")
    events = _EventPrinter(ns, console, batch=False)
    try:
        result = client.upload_stream(
            sys.stdin.buffer,
            ns.store_path,
            max_size=ns.max_size,
            metadata=dict(ns.meta),
            block_size=ns.block_size,
            parallelism=ns.parallelism,
            progress=events.once_created(uploading.update) if uploading else None,
            overwrite=ns.overwrite,
            on_event=events,
        )
    finally:
        console.end_bars()
    if ns.json_events:
        pass  # the completed event carried the result
    elif ns.json:
        _print_json(result.to_json())
    else:
        print(_describe_result(result))
    return EXIT_OK


def _upload_batch(
    ns: argparse.Namespace, console: _Console, client: FerryClient, items: list[UploadItem]
) -> int:
    overall = None if ns.quiet else console.bar(f"{len(items)} files")
    events = _EventPrinter(ns, console, batch=True)

    def on_file(outcome: FileResult) -> None:
        if not ns.json_events:
            console.line(_describe_file(outcome))

    try:
        summary = client.upload_many(
            items,
            jobs=ns.jobs,
            metadata=dict(ns.meta),
            block_size=ns.block_size,
            parallelism=ns.parallelism,
            overwrite=ns.overwrite,
            progress=overall.update if overall else None,
            on_event=events,
            on_file=on_file,
            cancel_on_interrupt=ns.cancel_on_interrupt,
        )
    except KeyboardInterrupt:
        if ns.cancel_on_interrupt:
            ns.interrupt_note = "the tasks this run created for files in flight were cancelled"
        raise
    finally:
        console.end_bars()
    if ns.json_events:
        _print_json({"event": "summary", **summary.to_json()})
    elif ns.json:
        _print_json(summary.to_json())
    else:
        print(_describe_summary(summary))
    return _batch_exit(summary)


def _batch_exit(summary: BatchSummary) -> int:
    """0 when every file is published; 75 when every failure may go away by itself (try the
    same command later); else 1."""
    unpublished = [f for f in summary.files if f.outcome in (Outcome.FAILED, Outcome.CANCELLED)]
    if not unpublished:
        return EXIT_OK
    if all(isinstance(f.exception, TransientError) for f in unpublished):
        return EXIT_TEMPFAIL
    return EXIT_ERROR


class _EventPrinter:
    """The upload's events: the task id (and how to pause or cancel it) on stderr as soon as
    the task exists, and with ``--json-events`` every event on stdout, one JSON line each."""

    def __init__(self, ns: argparse.Namespace, console: _Console, *, batch: bool) -> None:
        self._ns = ns
        self._console = console
        self._batch = batch
        self._failed: UploadEvent | None = None
        self._created = threading.Event()

    def __call__(self, event: UploadEvent) -> None:
        if self._ns.json_events:
            _print_json(event.to_json())
        if event.kind == CREATED and event.task_id and not event.sent_whole:
            self._console.line(self._created_line(event))
        if event.kind == CREATED:
            self._created.set()
        if event.kind == FAILED:
            self._failed = event

    def once_created(self, callback: Callable[[int, int], None]) -> Callable[[int, int], None]:
        """``callback``, silent until the task exists: the file is hashed while the task is
        declared, and an address that turns out not to be a Ferry server must get one error
        line, not a progress bar first."""

        def gated(done: int, total: int) -> None:
            if self._created.is_set():
                callback(done, total)

        return gated

    def _created_line(self, event: UploadEvent) -> str:
        task, server = event.task_id, self._ns.server
        verb = "resuming" if event.resumed else "uploading"
        if self._batch:
            return f"ferry: {verb} {event.path} -> {event.store_path}: task {task}"
        return (
            f"ferry: {verb} {event.store_path}: task {task} "
            f"(pause: ferry pause {task} --server {server}; "
            f"cancel: ferry cancel {task} --server {server})"
        )

    def interrupt_note(self) -> str | None:
        """What became of the task when the upload was interrupted."""
        failed = self._failed
        if failed is not None and failed.task_cancelled:
            return f"task {failed.task_id} was cancelled, so {failed.store_path} is free again"
        return None


def _describe_file(outcome: FileResult) -> str:
    item = outcome.item
    if outcome.result is not None:
        size = format_bytes(outcome.result.size)
        return f"{outcome.outcome.value}: {item.path} -> {item.store_path} ({size})"
    return f"{outcome.outcome.value}: {item.path} -> {item.store_path}: {outcome.error}"


def _describe_summary(summary: BatchSummary) -> str:
    return (
        f"{summary.uploaded} uploaded, {summary.already_there} already there, "
        f"{summary.failed} failed, {summary.cancelled} cancelled; "
        f"{format_bytes(summary.bytes_sent)} sent in {summary.elapsed_seconds:.1f}s "
        f"({format_bytes(summary.rate)}/s)"
    )


def _hashing_in_label(bar: ProgressBar) -> Callable[[int, int], None]:
    """A ``hash_progress`` that shows hashing in the upload bar's label: the file is hashed
    while it is sent (or just before), and a bar of its own would fight the upload's for the
    terminal line."""

    def show(done: int, total: int) -> None:
        label = f"uploading (hashing {done * 100 // total}%)" if done < total else "uploading"
        bar.relabel(label, total)

    return show


def _download(ns: argparse.Namespace, console: _Console) -> int:
    name = ns.store_path.rstrip("/").rpartition("/")[2]
    dest = Path(ns.dest) if ns.dest is not None else Path(name)
    if dest.is_dir():
        dest = dest / name
    bar = None if ns.quiet else console.bar("downloading")
    try:
        with _client(ns) as client:
            result = client.download(ns.store_path, dest, progress=bar.update if bar else None)
    finally:
        console.end_bars()
    if ns.json:
        _print_json(result.to_json())
    else:
        print(
            f"downloaded {result.store_path} to {result.path} ({result.size} bytes, sha256 "
            f"{result.sha256} verified)"
        )
    return EXIT_OK


def _watch(ns: argparse.Namespace, _console: _Console) -> int:
    task = None
    with _client(ns, remember_uploads=False) as client:
        for task in client.watch(ns.task_id):
            if ns.json:
                _print_json(task.to_json())
            else:
                done = f"{task.committed_bytes}/{task.size} bytes"
                print(f"task {task.task_id} is {task.state} ({done})", flush=True)
    return EXIT_OK if task is not None and task.state == TaskState.COMPLETED else EXIT_ERROR


def _listing(ns: argparse.Namespace, _console: object) -> int:
    with _client(ns, retry=COMMAND_RETRY, remember_uploads=False) as client:
        code: int = ns.run_listing(client, ns)
        return code


def _task_command(ns: argparse.Namespace, _console: _Console) -> int:
    with _client(ns, retry=COMMAND_RETRY, remember_uploads=False) as client:
        action = {
            "status": client.status,
            "pause": client.pause,
            "resume": client.resume,
            "cancel": client.cancel,
        }[ns.command]
        task = action(ns.task_id)
    if ns.json:
        _print_json(task.to_json())
    elif ns.command == "status":
        print(_describe_task(task))
    else:
        print(f"task {task.task_id} is {task.state}")
    return EXIT_OK


def _print_json(document: object) -> None:
    print(json.dumps(document, sort_keys=True))


def _describe_result(result: UploadResult) -> str:
    rate = result.bytes_sent / result.elapsed_seconds if result.elapsed_seconds > 0 else 0.0
    resumed = ""
    if result.committed_at_start:
        resumed = f", resumed with {format_bytes(result.committed_at_start)} already there"
    return (
        f"published {result.store_path}: {result.size} bytes, sha256 {result.sha256}\n"
        f"task {result.task_id}: sent {format_bytes(result.bytes_sent)} in "
        f"{result.elapsed_seconds:.1f}s ({format_bytes(rate)}/s){resumed}"
    )


def _describe_task(task: TaskInfo) -> str:
    percent = 100.0 * task.committed_bytes / task.size if task.size else 100.0
    rows = [
        ("task", task.task_id),
        ("state", str(task.state)),
        ("file", f"{task.file_name} -> {task.store_path}"),
        (
            "progress",
            f"{percent:.1f}% ({task.committed_bytes} of {task.size} bytes; "
            f"{task.block_count} blocks of {format_bytes(task.block_size)})",
        ),
        ("sha256", task.sha256 or "-"),
        ("created", task.create_time.isoformat() if task.create_time else "-"),
        ("updated", task.update_time.isoformat() if task.update_time else "-"),
    ]
    if not task.state.is_terminal and task.expire_time is not None:
        rows.append(("expires", task.expire_time.isoformat()))
    if task.metadata:
        rows.append(("metadata", ", ".join(f"{k}={v}" for k, v in sorted(task.metadata.items()))))
    if task.failure_reason:
        rows.append(("failure", task.failure_reason))
    return "\n".join(f"{name:<9} {value}" for name, value in rows)


class _Console:
    """stderr: progress bars, warnings and the final error line, without garbling each other."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bars: list[_FinishingBar] = []

    def bar(self, label: str) -> _FinishingBar:
        bar = _FinishingBar(self, self._stream, label)
        self._bars.append(bar)
        return bar

    def active_bar(self, bar: ProgressBar) -> None:
        """``bar`` starts drawing: the ones before it are done."""
        for other in self._bars:
            if other is bar:
                break
            other.finish()

    def end_bars(self) -> None:
        for bar in self._bars:
            bar.finish()

    def line(self, text: str) -> None:
        for bar in reversed(self._bars):
            if bar.drawn:
                bar.write_line(text)
                return
        print(text, file=self._stream, flush=True)

    def error(self, message: str) -> None:
        self.end_bars()
        self.line("ferry: error: " + " ".join(message.split()))


class _FinishingBar(ProgressBar):
    """A bar that ends the bars before it when it first draws (one per phase of a command)."""

    def __init__(self, console: _Console, stream: TextIO, label: str) -> None:
        super().__init__(stream, label)
        self._console = console
        self._started = False

    @property
    def drawn(self) -> bool:
        return self._started

    def update(self, done: int, total: int) -> None:
        self._start()
        super().update(done, total)

    def relabel(self, label: str, total: int) -> None:
        self._start()
        super().relabel(label, total)

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._console.active_bar(self)


class _ConsoleLogHandler(logging.Handler):
    """Client warnings (e.g. "retrying in 2.0s") as lines that keep the bar intact."""

    def __init__(self, console: _Console) -> None:
        super().__init__(logging.WARNING)
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._console.line(f"ferry: {record.levelname.lower()}: {record.getMessage()}")
        except Exception:
            self.handleError(record)
