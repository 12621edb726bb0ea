"""Watching tasks: one poller per replica reads every task watched through it in one query each
interval and hands each change (state, committed bytes) to that task's subscribers, whichever
replica made the change. Polling SQL, not LISTEN/NOTIFY, so that it works through a
transaction-mode pooler (PgBouncer) and on SQLite."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from ferry_server.domain.errors import Unavailable
from ferry_server.domain.model import Task

log = logging.getLogger("ferry.tasks")

#: A subscriber: called from the poller's thread with the task after a change, or None once it
#: no longer exists. Must not block.
Subscriber = Callable[[Task | None], None]
ReadTasks = Callable[[Sequence[str]], Mapping[str, Task]]


def _snapshot(task: Task | None) -> tuple[str, int] | None:
    return None if task is None else (task.state.value, task.committed_bytes)


class TaskWatcher(threading.Thread):
    """The replica's poller of watched tasks."""

    def __init__(self, read_tasks: ReadTasks, interval: float) -> None:
        super().__init__(name="ferry-watch", daemon=True)
        self._read_tasks = read_tasks
        self._interval = interval
        self._lock = threading.Lock()
        self._subscribers: dict[str, dict[int, Subscriber]] = {}
        self._last: dict[str, tuple[str, int] | None] = {}
        self._next_key = 0
        self._stopping = threading.Event()
        self._outage = False

    def subscribe(self, task_id: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` on each change of the task from now on; returns the function
        that ends the subscription."""
        with self._lock:
            key = self._next_key
            self._next_key += 1
            self._subscribers.setdefault(task_id, {})[key] = subscriber

        def unsubscribe() -> None:
            with self._lock:
                watchers = self._subscribers.get(task_id, {})
                watchers.pop(key, None)
                if not watchers:
                    self._subscribers.pop(task_id, None)
                    self._last.pop(task_id, None)

        return unsubscribe

    @property
    def watched(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def poll(self) -> None:
        """Read the watched tasks once and tell their subscribers what changed."""
        with self._lock:
            task_ids = list(self._subscribers)
        if not task_ids:
            return
        tasks = self._read_tasks(task_ids)
        for task_id in task_ids:
            task = tasks.get(task_id)
            now = _snapshot(task)
            with self._lock:
                if task_id not in self._subscribers or self._last.get(task_id, ()) == now:
                    continue
                self._last[task_id] = now
                subscribers = list(self._subscribers[task_id].values())
            for subscriber in subscribers:
                subscriber(task)

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.poll()
            except Unavailable as exc:
                if not self._outage:
                    log.warning("watching tasks paused: %s", exc.message)
                self._outage = True
                continue
            except Exception:
                log.exception("watching tasks failed")
                continue
            if self._outage:
                log.info("watching tasks again: the database answers")
            self._outage = False

    def stop(self) -> None:
        self._stopping.set()
