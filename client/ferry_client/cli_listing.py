"""``ferry ls`` and ``ferry stats``: the command-line side of ListTasks and GetStats (what the
commands take and how they print; the connection comes from the CLI's common options)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime

from ferry_client.client import FerryClient
from ferry_client.models import TaskInfo, TaskState
from ferry_client.progress import format_bytes

#: Runs a listing command with a client made from the common options; returns the exit code.
Runner = Callable[[FerryClient, argparse.Namespace], int]


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    server: argparse.ArgumentParser,
    handler: Callable[[argparse.Namespace, object], int],
) -> None:
    """Add ``ls`` and ``stats``; ``handler`` opens the client and calls ``ns.run_listing``."""
    ls = commands.add_parser(
        "ls",
        parents=[server],
        help="list your tasks, newest first",
        description="List your tasks (every principal's with --all, for an operator), newest "
        "first, one line each (one JSON object per line with --json). Filters combine: "
        "all must hold.",
    )
    ls.add_argument("prefix", nargs="?", default="", metavar="PREFIX",
                    help="only store paths starting with PREFIX")  # fmt: skip
    ls.add_argument(
        "--state", action="append", default=[], type=_state, metavar="STATE",
        help="only tasks in STATE (uploading, paused, completed, canceled, expired, failed); "
        "repeat for several",
    )  # fmt: skip
    ls.add_argument("--meta", action="append", default=[], type=_entry, metavar="KEY=VALUE",
                    help="only tasks whose metadata has KEY=VALUE; repeat for several")  # fmt: skip
    ls.add_argument("--since", type=_time, metavar="TIME",
                    help="only tasks created at or after TIME (ISO 8601)")  # fmt: skip
    ls.add_argument("--until", type=_time, metavar="TIME",
                    help="only tasks created before TIME")  # fmt: skip
    ls.add_argument("--oldest-first", action="store_true", help="oldest first")
    ls.add_argument("--limit", type=int, default=0, metavar="N", help="at most N tasks")
    ls.add_argument("--all", action="store_true", help="every principal's tasks (operator)")
    ls.set_defaults(handler=handler, run_listing=_ls)

    stats = commands.add_parser(
        "stats",
        parents=[server],
        help="count your tasks by state, with the bytes staged and published",
    )
    stats.add_argument("--all", action="store_true", help="every principal's tasks (operator)")
    stats.set_defaults(handler=handler, run_listing=_stats)


def _ls(client: FerryClient, ns: argparse.Namespace) -> int:
    tasks = client.list_tasks(
        states=ns.state,
        store_path_prefix=ns.prefix,
        metadata=dict(ns.meta),
        created_after=ns.since,
        created_before=ns.until,
        oldest_first=ns.oldest_first,
        all_principals=ns.all,
        page_size=min(ns.limit, 1000) if ns.limit > 0 else 0,
    )
    for shown, task in enumerate(tasks, start=1):
        print(json.dumps(task.to_json(), sort_keys=True) if ns.json else _line(task), flush=True)
        if shown == ns.limit:
            break
    return 0


def _stats(client: FerryClient, ns: argparse.Namespace) -> int:
    stats = client.stats(all_principals=ns.all)
    if ns.json:
        print(json.dumps(stats.to_json(), sort_keys=True))
        return 0
    for entry in stats.states:
        print(
            f"{entry.state.value:<10} {entry.tasks:>8} tasks  {format_bytes(entry.declared_bytes)}"
        )
    print(f"staged     {format_bytes(stats.staged_bytes)}")
    print(f"published  {format_bytes(stats.published_bytes)}")
    return 0


def _line(task: TaskInfo) -> str:
    created = task.create_time.strftime("%Y-%m-%d %H:%M:%S") if task.create_time else "-"
    done = f"{format_bytes(task.committed_bytes)}/{format_bytes(task.size)}"
    return f"{task.task_id}  {created}  {task.state.value:<9}  {done:>21}  {task.store_path}"


def _state(text: str) -> TaskState:
    try:
        state = TaskState(text.upper())
    except ValueError:
        state = TaskState.UNSPECIFIED
    if state is TaskState.UNSPECIFIED:
        names = ", ".join(s.value.lower() for s in TaskState if s is not TaskState.UNSPECIFIED)
        raise argparse.ArgumentTypeError(f"{text!r} is not a task state ({names})")
    return state


def _entry(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time: {exc}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
