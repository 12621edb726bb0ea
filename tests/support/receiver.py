"""A real HTTP webhook receiver on a loopback port, for the notification tests: it records every
POST and answers with scripted statuses (then 200), optionally redirecting, stalling or
flooding its answer, as hostile or broken receivers do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    #: The request's path and query.
    path: str = ""


@dataclass
class Receiver:
    url: str = ""
    #: ``http://127.0.0.1:PORT``: the receiver answers every path under it.
    origin: str = ""
    #: Statuses to answer, in order; 200 once they run out.
    script: list[int] = field(default_factory=list)
    #: Seconds to wait before answering (a receiver slower than the sender's timeout).
    delay: float = 0.0
    #: Bytes of body to answer with (a receiver flooding its sender).
    answer_bytes: int = 0
    posts: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self._lock:
            return self.script.pop(0) if self.script else 200

    def record(self, received: Received) -> None:
        with self._lock:
            self.posts.append(received)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The first ``count`` POSTs, once they have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.posts) >= count:
                    return list(self.posts)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.posts)} POSTs arrived within {timeout} s, not {count}")


@contextmanager
def webhook_receiver(path: str = "/hooks/ferry") -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.record(Received(headers, body, self.path))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.next_status()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", f"{receiver.url}/elsewhere")
            self.send_header("content-length", str(receiver.answer_bytes))
            self.end_headers()
            self.wfile.write(b"x" * receiver.answer_bytes)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests assert on what arrived, not on access logs

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.origin = f"http://127.0.0.1:{server.server_port}"
    receiver.url = receiver.origin + path
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
