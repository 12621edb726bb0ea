"""grpc.health.v1 for a replica: SERVING while its database answers, NOT_SERVING while it does
not, checked by a background probe on an interval.

The probe is a thread (the check is blocking SQL); the health servicer is grpc.health's asyncio
one, living on the server's event loop, so the probe publishes through that loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from grpc_health.v1 import health, health_pb2

from ferry_server.domain.errors import Unavailable

log = logging.getLogger("ferry.health")

#: grpc.health's asyncio servicer, ``grpc_health.v1.health.aio.HealthServicer`` (its stubs do
#: not describe the aio module).
HealthServicer: Any = health.aio.HealthServicer  # type: ignore[attr-defined]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DatabaseHealth(threading.Thread):
    """Sets ``services`` (and the server as a whole, "") SERVING or NOT_SERVING each
    ``interval`` seconds from ``check``, which raises Unavailable when the database is out of
    reach. Logs each change once."""

    def __init__(
        self,
        servicer: Any,
        loop: asyncio.AbstractEventLoop,
        services: Sequence[str],
        check: Callable[[], None],
        interval: float,
    ) -> None:
        super().__init__(name="ferry-health", daemon=True)
        self._servicer = servicer
        self._loop = loop
        self._services = ("", *services)
        self._check = check
        self._interval = interval
        self._stopping = threading.Event()
        self._status: int | None = None

    def probe(self) -> None:
        """Check once and publish the outcome."""
        try:
            self._check()
        except Unavailable as exc:
            self._set(NOT_SERVING, exc.message)
        else:
            self._set(SERVING, "the database answers")

    def _set(self, status: int, why: str) -> None:
        # Only a change is published: HealthServicer.set() sends every call to each Watch
        # stream, so repeating the same status every probe would queue stale copies that a
        # watcher reads after the status has changed.
        if status == self._status:
            return
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        level = logging.INFO if status == SERVING else logging.WARNING
        log.log(level, "health: %s (%s)", name, why)
        self._status = status
        for service in self._services:
            self._on_loop(self._servicer.set(service, status))

    def _on_loop(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.probe()
            except Exception:
                log.exception("health probe failed")

    def stop(self) -> None:
        self._stopping.set()
        # Clients watching health learn that this replica is going away.
        self._on_loop(self._servicer.enter_graceful_shutdown())
