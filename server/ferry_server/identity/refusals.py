"""The refusal log: every refused call (UNAUTHENTICATED, PERMISSION_DENIED) logged at WARNING
with its peer, principal and reason (never a token), at most one line per peer per interval
with a count of the refusals left out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("ferry.auth")

#: Seconds between two lines about one peer's refusals.
INTERVAL_SECONDS = 10.0
#: Peers remembered at most (a flood from many addresses must not grow memory unbounded).
MAX_PEERS = 10_000


def peer_host(peer: str) -> str:
    """gRPC's peer string (``ipv4:10.0.0.7:51234``, ``ipv6:[::1]:5``) without the port, so one
    client's many connections count as one peer."""
    head, sep, port = peer.rpartition(":")
    return head if sep and port.isdigit() and ":" in head else peer


class RefusalLog:
    def __init__(
        self,
        *,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        #: peer -> (when its last line was written, refusals left out since)
        self._peers: dict[str, tuple[float, int]] = {}

    def refused(self, *, peer: str, principal: str, method: str, reason: str, message: str) -> None:
        host = peer_host(peer)
        now = self._clock()
        with self._lock:
            last, left_out = self._peers.get(host, (float("-inf"), 0))
            if now - last < self._interval:
                self._peers[host] = (last, left_out + 1)
                return
            if len(self._peers) >= MAX_PEERS:
                self._peers.clear()
            self._peers[host] = (now, 0)
        more = f" ({left_out} more refusal(s) from this peer not logged)" if left_out else ""
        self._log.warning(
            "refused %s from %s, principal %s: %s: %s%s",
            method, host, principal, reason, message, more,
            extra={"principal": principal},
        )  # fmt: skip
