"""Quotas and reservations: whether a principal may declare one more task (active tasks,
declared bytes, the staging disk's free space less its reserve) or open one more UploadParts
stream, counted in SQL so that every replica sees the same totals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ferry_server.domain.errors import QuotaExceeded, StorageFull, Unavailable
from ferry_server.domain.inputs import shown
from ferry_server.domain.ports import TaskRepository, Usage

log = logging.getLogger("ferry.quotas")

#: Disk a declared byte may need while its task is active: its block attempt, then its place
#: in the assembled file (block files go at Merge).
STAGING_COPIES = 2
#: A replica's stream counts outlive its last heartbeat by this many heartbeats.
HEARTBEATS_TO_EXPIRY = 3


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits; 0 means no limit for the per-principal ones."""

    active_tasks: int = 0
    staged_bytes: int = 0
    streams: int = 0
    disk_reserve: int = 0
    disk_overcommit: float = 1.0
    stream_heartbeat: timedelta = timedelta(seconds=10)


def admit_task(
    quotas: Quotas,
    principal: str,
    size: int,
    usage: Usage,
    *,
    free: int,
    committed: Mapping[str, int],
) -> None:
    """Raise unless ``principal`` may declare a task of ``size`` bytes, given the ``usage``
    already accounted, ``free`` bytes on the staging filesystem and what active tasks had
    ``committed`` (possibly a little stale: see :class:`CommittedBytes`).

    Only what has not arrived yet is reserved on the disk: blocks already written take their
    space from ``free`` themselves.
    """
    who = shown(principal)
    if quotas.active_tasks and usage.principal_tasks >= quotas.active_tasks:
        raise QuotaExceeded(
            f"principal {who} already has {usage.principal_tasks} active tasks, its limit "
            "(--quota-active-tasks): complete or cancel some first",
            facts={"limit": "active_tasks", "limitValue": quotas.active_tasks},
        )
    if quotas.staged_bytes and usage.principal_bytes + size > quotas.staged_bytes:
        raise QuotaExceeded(
            f"principal {who}'s active tasks declare {usage.principal_bytes} bytes; "
            f"{size} more would pass its limit of {quotas.staged_bytes} "
            "(--quota-staged-bytes): complete or cancel some first",
            facts={"limit": "staged_bytes", "limitValue": quotas.staged_bytes},
        )
    room = int(max(0, free - quotas.disk_reserve) * quotas.disk_overcommit)
    needed = STAGING_COPIES * size
    if needed > room:
        raise QuotaExceeded(
            f"a task of {size} bytes needs {needed} bytes of staging; the staging filesystem "
            f"has {free} bytes free, {quotas.disk_reserve} of them reserved (--disk-reserve), "
            f"overcommit {quotas.disk_overcommit:g} (--disk-overcommit)",
            facts={"limit": "disk", "limitValue": room, "requestedBytes": needed},
        )
    outstanding = sum(
        max(0, total - committed.get(task_id, 0)) for task_id, total in usage.active_sizes
    )
    reserved = STAGING_COPIES * outstanding
    if needed + reserved > room:
        raise StorageFull(
            f"active tasks have reserved {reserved} of the {room} bytes of staging available; "
            f"a task of {size} bytes needs {needed} more: retry once some complete",
            facts={"requestedBytes": needed},
        )


class CommittedBytes:
    """Active tasks' committed bytes, read from SQL at most every ``max_age`` and kept.

    Summing every committed block row on each declaration would cost a scan of all of them
    under the admission lock (1 s with a million rows). A task's committed bytes only grow
    while it is active, so an older figure overstates what it still needs: admissions err on
    the safe side, and a task that ended drops out with its size.
    """

    def __init__(
        self,
        repository: TaskRepository,
        clock: Callable[[], datetime],
        max_age: timedelta = timedelta(seconds=30),
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at: datetime | None = None
        self._committed: Mapping[str, int] = {}

    def get(self) -> Mapping[str, int]:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._max_age:
                self._committed = self._repo.committed_bytes_of_active()
                self._read_at = now
            return self._committed


class StreamSlots:
    """This replica's open UploadParts streams per principal, mirrored in SQL (a row per
    replica and principal, refreshed by :meth:`heartbeat`, expiring when the replica dies) so
    that ``quotas.streams`` bounds a principal's streams on all replicas together."""

    def __init__(
        self,
        repository: TaskRepository,
        replica: str,
        quotas: Quotas,
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = repository
        self._replica = replica
        self._limit = quotas.streams
        self._expiry = quotas.stream_heartbeat * HEARTBEATS_TO_EXPIRY
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self._limit > 0

    def acquire(self, principal: str) -> None:
        """Count one more stream of ``principal``; raise QuotaExceeded at the limit."""
        if not self.enabled:
            return
        limit = self._limit

        def admit(total: int) -> None:
            if total > limit:
                raise QuotaExceeded(
                    f"principal {shown(principal)} already has {total - 1} UploadParts "
                    f"streams open, its limit (--quota-streams): send on fewer streams",
                    facts={"limit": "streams", "limitValue": limit},
                )

        # One claim at a time on this replica: its row's count is this dict's.
        with self._lock:
            count = self._open.get(principal, 0) + 1
            now = self._clock()
            self._repo.claim_stream(
                self._replica, principal, count, admit, now=now, until=now + self._expiry
            )
            self._open[principal] = count

    def release(self, principal: str) -> None:
        """One stream of ``principal`` ended."""
        if not self.enabled:
            return
        with self._lock:
            left = self._open.get(principal, 0) - 1
            if left > 0:
                self._open[principal] = left
            else:
                self._open.pop(principal, None)
            try:
                self._write()
            except Unavailable as exc:
                # The count in SQL stays one high until the next heartbeat writes it.
                log.warning("stream count not updated, the next heartbeat will: %s", exc.message)

    def heartbeat(self) -> None:
        """Write this replica's counts again with a new expiry (and drop expired rows)."""
        if not self.enabled:
            return
        with self._lock:
            self._write()

    def _write(self) -> None:
        now = self._clock()
        self._repo.replace_stream_counts(
            self._replica, dict(self._open), now=now, until=now + self._expiry
        )
