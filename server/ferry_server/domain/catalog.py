"""Listing and counting a principal's tasks (ListTasks, GetStats): who may list what, the
filters and orders a listing accepts, and the page tokens that keep a listing stable while
tasks are created (AIP-158 keyset pages)."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ferry_server.domain.errors import InvalidArgument, PermissionDenied
from ferry_server.domain.identity import Caller, Permission
from ferry_server.domain.inputs import is_task_id, printable_problem, shown
from ferry_server.domain.model import Task, TaskState

#: Tasks in a page when the caller names no page size, and the most a page holds.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Metadata entries a listing may filter on (a task holds at most 64).
MAX_METADATA_FILTERS = 16
#: Longest store_path prefix and metadata filter accepted (longer ones match no task anyway).
MAX_FILTER_CHARACTERS = 4096
_TOKEN_VERSION = 1


class TaskOrder(enum.Enum):
    """The orders a listing offers, by their ``order_by`` spelling (AIP-132)."""

    NEWEST_FIRST = "create_time desc"
    OLDEST_FIRST = "create_time"

    @classmethod
    def parse(cls, order_by: str) -> TaskOrder:
        # AIP-132: fields separated by spaces; extra spaces and case of the keyword do not
        # matter.
        spelled = " ".join(order_by.split()).lower()
        if not spelled:
            return cls.NEWEST_FIRST
        for order in cls:
            if order.value == spelled or (
                order is cls.OLDEST_FIRST and spelled == "create_time asc"
            ):
                return order
        known = ", ".join(repr(o.value) for o in cls)
        raise InvalidArgument(
            f"order_by {shown(order_by)} is not an order tasks can be listed in; use one of "
            f"{known} (empty: newest first)",
            field="order_by",
        )


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks a listing holds: every condition set must hold."""

    #: The principal whose tasks these are; None: every principal's (an operator's listing).
    principal: str | None
    states: frozenset[TaskState] = frozenset()
    store_path_prefix: str = ""
    #: (key, value) entries the task's metadata must all hold.
    metadata: tuple[tuple[str, str], ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None

    def fingerprint(self, order: TaskOrder) -> str:
        """A digest of the filter and order, carried by page tokens so that a token is only
        honoured for the listing it was issued for."""
        canonical = json.dumps(
            [
                self.principal,
                sorted(s.value for s in self.states),
                self.store_path_prefix,
                sorted(self.metadata),
                None if self.created_after is None else self.created_after.isoformat(),
                None if self.created_before is None else self.created_before.isoformat(),
                order.value,
            ],
            ensure_ascii=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the last listed task's creation time and id (ids break ties)."""

    created_at: datetime
    task_id: str


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page's worth of a listing, as persistence runs it."""

    filter: TaskFilter
    order: TaskOrder
    #: Rows to return at most.
    limit: int
    #: List only tasks after this one in ``order``; None: from the start.
    after: Cursor | None


@dataclass(frozen=True, slots=True)
class ListRequest:
    """A ListTasks request as the transport parsed it (texts unchecked)."""

    page_size: int = 0
    page_token: str = ""
    states: Sequence[TaskState] = ()
    store_path_prefix: str = ""
    metadata: Sequence[str] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    order_by: str = ""
    all_principals: bool = False


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: Sequence[Task]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class StateCount:
    state: TaskState
    tasks: int
    declared_bytes: int


@dataclass(frozen=True, slots=True)
class TaskStats:
    #: One entry per state that has tasks.
    states: Sequence[StateCount] = field(default_factory=tuple)
    #: Committed bytes of UPLOADING and PAUSED tasks.
    staged_bytes: int = 0
    #: Sizes of COMPLETED tasks.
    published_bytes: int = 0


class TaskListing(Protocol):
    """The queries a catalog runs (implemented by the SQL repository)."""

    def list_tasks(self, query: ListQuery) -> Sequence[Task]:
        """Up to ``query.limit`` tasks matching the filter, in order, after the cursor."""
        ...

    def task_stats(self, principal: str | None) -> TaskStats:
        """Counts and bytes of ``principal``'s tasks (None: everyone's)."""
        ...


class TaskCatalog:
    """ListTasks and GetStats. Thread-safe (it keeps no state of its own)."""

    def __init__(self, listing: TaskListing) -> None:
        self._listing = listing

    def list_tasks(self, request: ListRequest, caller: Caller) -> TaskPage:
        """One page of the caller's tasks (every principal's for an operator who asks)."""
        principal = _scope(caller, request.all_principals, "list tasks")
        if request.page_size < 0:
            raise InvalidArgument(
                f"page_size={request.page_size}: must not be negative (0: {DEFAULT_PAGE_SIZE})",
                field="page_size",
            )
        limit = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        task_filter = _filter(request, principal)
        order = TaskOrder.parse(request.order_by)
        fingerprint = task_filter.fingerprint(order)
        after = _cursor(request.page_token, fingerprint)
        # One more than the page: whether another page follows.
        found = self._listing.list_tasks(ListQuery(task_filter, order, limit + 1, after))
        tasks = list(found[:limit])
        token = ""
        if len(found) > limit:
            last = tasks[-1]
            token = _token(fingerprint, Cursor(last.created_at, last.task_id))
        return TaskPage(tasks, token)

    def stats(self, caller: Caller, *, all_principals: bool = False) -> TaskStats:
        """Counts by state and bytes staged and published, of the caller's tasks."""
        return self._listing.task_stats(_scope(caller, all_principals, "count tasks"))


def _scope(caller: Caller, all_principals: bool, action: str) -> str | None:
    """The principal a caller's listing is confined to (None: all), or PermissionDenied."""
    caller.require_any((Permission.READ, Permission.OPERATOR), action)
    if caller.task_id is not None:
        # An upload token is for one task; listing would show the declarer's other tasks.
        raise PermissionDenied(
            f"an upload token cannot {action}; it is for task {caller.task_id} only",
            facts={"permission": Permission.READ.value},
        )
    if all_principals:
        caller.require(Permission.OPERATOR, f"{action} of every principal")
        return None
    return caller.principal


def _filter(request: ListRequest, principal: str | None) -> TaskFilter:
    for name, text in [
        ("store_path_prefix", request.store_path_prefix),
        *(("metadata", entry) for entry in request.metadata),
    ]:
        _check_text(name, text)
    if len(request.metadata) > MAX_METADATA_FILTERS:
        raise InvalidArgument(
            f"{len(request.metadata)} metadata filters: at most {MAX_METADATA_FILTERS}",
            field="metadata",
        )
    entries: list[tuple[str, str]] = []
    for entry in request.metadata:
        key, equals, value = entry.partition("=")
        if not equals or not key:
            raise InvalidArgument(
                f'metadata filter {shown(entry)} is not KEY=VALUE (e.g. "order=1234")',
                field="metadata",
            )
        entries.append((key, value))
    after, before = request.created_after, request.created_before
    if after is not None and before is not None and after >= before:
        raise InvalidArgument(
            f"created_after ({after.isoformat()}) is not before created_before "
            f"({before.isoformat()}): no task could match",
            field="created_after",
        )
    return TaskFilter(
        principal=principal,
        states=frozenset(request.states),
        store_path_prefix=request.store_path_prefix,
        metadata=tuple(entries),
        created_after=after,
        created_before=before,
    )


def _check_text(name: str, text: str) -> None:
    if len(text) > MAX_FILTER_CHARACTERS:
        raise InvalidArgument(
            f"{name} is {len(text)} characters long: at most {MAX_FILTER_CHARACTERS}", field=name
        )
    problem = printable_problem(name, text)
    if problem is not None:
        raise InvalidArgument(problem, field=name)


def _token(fingerprint: str, cursor: Cursor) -> str:
    payload = json.dumps(
        {
            "v": _TOKEN_VERSION,
            "f": fingerprint,
            "t": cursor.created_at.isoformat(),
            "i": cursor.task_id,
        },
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _cursor(token: str, fingerprint: str) -> Cursor | None:
    """The cursor ``token`` carries; anything this server did not issue for a listing with
    ``fingerprint`` is INVALID_ARGUMENT (a token is not trusted: it only moves a keyset
    cursor, never widens what the caller may see)."""
    if not token:
        return None
    refused = InvalidArgument(
        f"page_token {shown(token)} is not one this server issued for this listing; pass the "
        "next_page_token of the previous page with the same filters and order_by, or none to "
        "start from the first page",
        field="page_token",
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
            raise refused
        task_id, created = payload.get("i"), payload.get("t")
        if not isinstance(task_id, str) or not isinstance(created, str) or not is_task_id(task_id):
            raise refused
        created_at = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refused from exc
    if created_at.tzinfo is None:
        raise refused
    if payload.get("f") != fingerprint:
        raise InvalidArgument(
            "page_token was issued for a listing with other filters or another order_by; "
            "repeat the request that returned it, or start again without page_token",
            field="page_token",
        )
    return Cursor(created_at, task_id)


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Cursor",
    "ListQuery",
    "ListRequest",
    "StateCount",
    "TaskCatalog",
    "TaskFilter",
    "TaskListing",
    "TaskOrder",
    "TaskPage",
    "TaskStats",
]
