"""Completion notifications: what is told to the business backend when a task ends, and the
delivery loop that drains the outbox (at least once, one replica per notice at a time).

A notice is written to the outbox in the same SQL transaction as the task's terminal state
change (the repository does that when the domain passes it a :class:`NoticeRequest`), so no
state change is ever left untold. Delivery claims due notices under a short lease, commits,
and only then POSTs: no transaction is open across the network.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ferry_server.domain.model import Task, TaskState, about

log = logging.getLogger("ferry.notifications")

#: The Standard Webhooks event type per terminal state.
EVENT_TYPES = {
    TaskState.COMPLETED: "task.completed",
    TaskState.FAILED: "task.failed",
    TaskState.CANCELED: "task.canceled",
    TaskState.EXPIRED: "task.expired",
}


class DeliveryState(enum.StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    UNDELIVERABLE = "UNDELIVERABLE"


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    """A notice to record with a state change: its stable event id and where it goes."""

    event_id: str
    url: str

    @staticmethod
    def to(url: str) -> NoticeRequest:
        return NoticeRequest(event_id=f"evt_{secrets.token_hex(16)}", url=url)


@dataclass(frozen=True, slots=True)
class Notice:
    """A recorded notice, as the delivery loop claims it."""

    event_id: str
    task_id: str
    state: TaskState
    url: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class NotificationStatus:
    """What GetTask shows of a task's notice."""

    event_id: str
    state: DeliveryState
    attempts: int
    last_error: str
    delivered_at: datetime | None


class DeliveryFailed(Exception):
    """A POST did not deliver; ``permanent`` when retrying cannot help (a refused address)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class WebhookSender(Protocol):
    """Sends one notice signed with ``timestamp`` (the attempt's time) under ``secret`` (None:
    the server's); raises DeliveryFailed unless the receiver took it (2xx)."""

    def send(
        self, url: str, event_id: str, timestamp: datetime, body: bytes, secret: str | None = None
    ) -> None: ...


class Outbox(Protocol):
    """The outbox's persistence (a part of the task repository)."""

    def claim_notices(
        self, owner: str, now: datetime, until: datetime, limit: int
    ) -> list[Notice]: ...

    def notice_delivered(self, event_id: str, owner: str, now: datetime) -> bool: ...

    def notice_failed(
        self, event_id: str, owner: str, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: due again at ``retry_at``, or undeliverable when None."""

    def get(self, task_id: str) -> Task | None: ...


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long and how often a notice is retried."""

    #: After this long since the notice was recorded, a failure makes it undeliverable.
    retry_for: timedelta = timedelta(hours=24)
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=10)
    #: A claimed notice's lease: longer than one POST may take, so that no two replicas send
    #: it at once unless the first one died.
    lease: timedelta = timedelta(seconds=60)

    def retry_delay(self, attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
        """Capped exponential backoff with full jitter after ``attempts`` failed attempts."""
        first = self.first_delay.total_seconds()
        cap = min(self.max_delay.total_seconds(), first * 2.0 ** min(attempts - 1, 30))
        return timedelta(seconds=max(first / 2, cap * rng()))


def payload(task: Task, notice: Notice) -> bytes:
    """The JSON body: Standard Webhooks' envelope (type, timestamp, data) around the task."""
    data = {
        "event_id": notice.event_id,
        "task_id": task.task_id,
        "state": task.state.value,
        "store_path": task.store_path,
        "file_name": task.file_name,
        "size": task.size,
        "sha256": task.sha256 or "",
        "committed_bytes": task.committed_bytes,
        "metadata": dict(task.metadata),
        "created_at": task.created_at.isoformat(),
        "ended_at": task.updated_at.isoformat(),
        "failure_reason": task.failure_reason or "",
    }
    envelope = {
        "type": EVENT_TYPES[notice.state],
        "timestamp": notice.created_at.isoformat(),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


class Notifier:
    """Delivers due notices: claim a batch under a lease, POST each, record each outcome."""

    def __init__(
        self,
        outbox: Outbox,
        sender: WebhookSender,
        policy: DeliveryPolicy,
        *,
        owner: str,
        clock: Callable[[], datetime],
        on_outcome: Callable[[bool], None] = lambda _delivered: None,
        secret_for: Callable[[str], str | None] = lambda _principal: None,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._policy = policy
        self._owner = owner
        self._clock = clock
        self._on_outcome = on_outcome
        #: A principal's own signing secret, None for the server's: looked up at each attempt,
        #: so that a rotated secret signs the notices still pending.
        self._secret_for = secret_for

    def deliver_due(self, limit: int = 50) -> int:
        """Try to deliver what is due now, at most ``limit`` notices; return how many were
        claimed (``limit``: there may be more)."""
        now = self._clock()
        notices = self._outbox.claim_notices(self._owner, now, now + self._policy.lease, limit)
        for notice in notices:
            self._deliver(notice)
        return len(notices)

    def _deliver(self, notice: Notice) -> bool:
        task = self._outbox.get(notice.task_id)
        if task is None:
            # Retention deleted the task (the notice outlived it): nothing left to tell.
            self._outbox.notice_failed(notice.event_id, self._owner, "task deleted", None)
            return False
        try:
            # Signed with the time of this attempt: receivers reject old timestamps (replays).
            self._sender.send(
                notice.url,
                notice.event_id,
                self._clock(),
                payload(task, notice),
                self._secret_for(task.principal),
            )
        except DeliveryFailed as exc:
            self._failed(notice, exc)
            return False
        self._outbox.notice_delivered(notice.event_id, self._owner, self._clock())
        self._on_outcome(True)
        log.info("notice %s (%s) delivered after %d attempts", notice.event_id,
                 EVENT_TYPES[notice.state], notice.attempts + 1,
                 extra=about(task.task_id, task.principal))  # fmt: skip
        return True

    def _failed(self, notice: Notice, exc: DeliveryFailed) -> None:
        now = self._clock()
        attempts = notice.attempts + 1
        retry_at: datetime | None = now + self._policy.retry_delay(attempts)
        if (
            exc.permanent
            or retry_at is None
            or retry_at - notice.created_at > self._policy.retry_for
        ):
            retry_at = None
        self._outbox.notice_failed(notice.event_id, self._owner, exc.message[:500], retry_at)
        self._on_outcome(False)
        if retry_at is None:
            log.warning("notice %s undeliverable after %d attempts: %s", notice.event_id,
                        attempts, exc.message, extra=about(notice.task_id))  # fmt: skip
        else:
            log.info("notice %s attempt %d failed (%s); next at %s", notice.event_id, attempts,
                     exc.message, retry_at.isoformat(), extra=about(notice.task_id))  # fmt: skip
