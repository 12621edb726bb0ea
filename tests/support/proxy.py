"""A loopback TCP proxy for fault tests: cuts connections after a number of bytes, throttles,
stalls (holds everything, as a link that drops packets while both ends stay up).

Threads and blocking sockets; bounded: at most ``max_connections`` connections at once, one
64 KiB buffer per direction, every thread joined by ``close()``.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from types import TracebackType

_CHUNK = 64 * 1024


class FaultyProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target`` ("HOST:PORT").

    Args:
        cut_after: cut a connection (both directions, with a TCP reset) once it has carried
            this many bytes from the client to the server...
        cuts: ...for the first ``cuts`` connections that get that far; later ones pass.
        cut_down_after: the same, counting bytes from the server to the client (downloads).
        cut_between: a flaky link: cut every connection after a number of client-to-server
            bytes drawn for it uniformly from this range (inclusive), from ``seed``.
        rate: if set, client-to-server bytes per second, per connection (a slow link).
    """

    def __init__(
        self,
        target: str,
        *,
        cut_after: int | None = None,
        cuts: int = 0,
        cut_down_after: int | None = None,
        rate: float | None = None,
        cut_between: tuple[int, int] | None = None,
        seed: int = 0,
        max_connections: int = 16,
    ) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._cut_after = cut_after
        self._cut_down_after = cut_down_after
        self._cuts_left = cuts
        self._cut_between = cut_between
        self._random = random.Random(seed)
        self._rate = rate
        self._max_connections = max_connections
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        #: How many connections were cut, and bytes carried client -> server in all.
        self.cuts_done = 0
        self.bytes_up = 0
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="proxy-accept")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_rate(self, rate: float | None) -> None:
        """Change the throttle for data forwarded from now on (``None``: full speed)."""
        with self._lock:
            self._rate = rate

    def stall(self) -> None:
        """Stop forwarding in both directions (connections stay open, data is held)."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forward again, held data first."""
        self._flowing.set()

    def _wait_flowing(self) -> bool:
        """Block while stalled; False once the proxy is closing."""
        while not self._flowing.wait(0.1):
            if self._closed.is_set():
                return False
        return True

    def start(self) -> FaultyProxy:
        self._acceptor.start()
        return self

    def close(self) -> None:
        self._closed.set()
        self._acceptor.join(timeout=10)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            _hard_close(sock)
        for thread in threads:
            thread.join(timeout=10)

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                too_many = len(self._sockets) >= 2 * self._max_connections
                self._threads = [t for t in self._threads if t.is_alive()]
            if too_many:
                _hard_close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _hard_close(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            limit = None
            if self._cut_between is not None:
                with self._lock:
                    limit = self._random.randint(*self._cut_between)
            connection = _Connection(self, client, upstream, limit)
            with self._lock:
                self.connections += 1
                self._sockets.update((client, upstream))
                up = threading.Thread(target=connection.pump_up, name="proxy-up", daemon=True)
                down = threading.Thread(target=connection.pump_down, name="proxy-down", daemon=True)
                self._threads += [up, down]
            up.start()
            down.start()

    def _take_cut(self) -> bool:
        with self._lock:
            if self._cuts_left <= 0:
                return False
            self._cuts_left -= 1
            self.cuts_done += 1
            return True

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._sockets.discard(sock)


class _Connection:
    def __init__(
        self,
        proxy: FaultyProxy,
        client: socket.socket,
        upstream: socket.socket,
        limit: int | None = None,
    ) -> None:
        self._proxy = proxy
        self._client = client
        self._upstream = upstream
        self._carried = 0
        self._carried_down = 0
        #: This connection's own cut (a flaky link); None: the proxy's ``cut_after``.
        self._limit = limit

    def _cut_here(self, nbytes: int) -> int | None:
        """Where to cut if these ``nbytes`` reach the limit: the limit, else None."""
        proxy = self._proxy
        if self._limit is not None:
            if self._carried + nbytes < self._limit:
                return None
            with proxy._lock:
                proxy.cuts_done += 1
            return self._limit
        limit = proxy._cut_after
        if limit is not None and self._carried + nbytes >= limit and proxy._take_cut():
            return limit
        return None

    def pump_up(self) -> None:
        proxy = self._proxy
        try:
            while True:
                data = self._client.recv(_CHUNK)
                if not data or not proxy._wait_flowing():
                    break
                limit = self._cut_here(len(data))
                if limit is not None:
                    self._upstream.sendall(data[: max(0, limit - self._carried)])
                    break
                self._upstream.sendall(data)
                self._carried += len(data)
                with proxy._lock:
                    proxy.bytes_up += len(data)
                    rate = proxy._rate
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass  # the other direction closed the sockets: this connection is over
        finally:
            self._close()

    def pump_down(self) -> None:
        try:
            while True:
                data = self._upstream.recv(_CHUNK)
                if not data or not self._proxy._wait_flowing():
                    break
                limit = self._proxy._cut_down_after
                reached = limit is not None and self._carried_down + len(data) >= limit
                if reached and self._proxy._take_cut():
                    assert limit is not None
                    self._client.sendall(data[: max(0, limit - self._carried_down)])
                    break
                self._client.sendall(data)
                self._carried_down += len(data)
        except OSError:
            pass  # the other direction closed the sockets: this connection is over
        finally:
            self._close()

    def _close(self) -> None:
        _hard_close(self._client)
        _hard_close(self._upstream)
        self._proxy._forget(self._client, self._upstream)


def _hard_close(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0): the peer sees the connection die, not a clean end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
