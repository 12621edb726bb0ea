"""Prometheus metrics of one replica: a registry of its own (two servers in one process do not
collide), the domain's :class:`~ferry_server.domain.ports.Metrics` port, RPC timings, and the
HTTP endpoint that serves them."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

#: Merge takes from milliseconds (small files) to minutes (hashing what is left of a large one).
_MERGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))


class PrometheusMetrics:
    """The replica's series (README, "Metrics"). Implements the domain's Metrics port."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._bytes = Counter(
            "ferry_received_bytes", "Data bytes received in UploadParts messages",
            registry=registry,
        )  # fmt: skip
        self._committed = Counter(
            "ferry_blocks_committed", "Blocks committed (durable and acknowledged)",
            registry=registry,
        )  # fmt: skip
        self._rejected = Counter(
            "ferry_blocks_rejected", "Completed blocks not committed, by reason",
            ["reason"], registry=registry,
        )  # fmt: skip
        self._streams = Gauge(
            "ferry_upload_streams_open", "UploadParts streams open on this replica",
            registry=registry,
        )  # fmt: skip
        self._merge = Histogram(
            "ferry_merge_duration_seconds", "Merge calls' duration, however they ended",
            buckets=_MERGE_BUCKETS, registry=registry,
        )  # fmt: skip
        self._rpc = Histogram(
            "ferry_rpc_duration_seconds", "RPC duration by method and status code",
            ["method", "code"], registry=registry,
        )  # fmt: skip
        self._notices = Counter(
            "ferry_notifications", "Completion notice POSTs by outcome (delivered, failed)",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self._outbox = Gauge(
            "ferry_outbox_depth", "Completion notices waiting for delivery (all replicas)",
            registry=registry,
        )  # fmt: skip
        for outcome in ("delivered", "failed"):
            self._notices.labels(outcome)
        for reason in ("checksum_mismatch", "committed_different", "duplicate"):
            self._rejected.labels(reason)

    def bytes_received(self, count: int) -> None:
        self._bytes.inc(count)

    def block_committed(self) -> None:
        self._committed.inc()

    def block_rejected(self, reason: str) -> None:
        self._rejected.labels(reason).inc()

    def stream_opened(self) -> None:
        self._streams.inc()

    def stream_closed(self) -> None:
        self._streams.dec()

    def merge_finished(self, seconds: float) -> None:
        self._merge.observe(seconds)

    def notice_attempted(self, delivered: bool) -> None:
        self._notices.labels("delivered" if delivered else "failed").inc()

    def outbox_depth(self, pending: int) -> None:
        self._outbox.set(pending)

    def rpc_finished(self, method: str, code: str, seconds: float) -> None:
        self._rpc.labels(method, code).observe(seconds)


class MetricsEndpoint:
    """``GET /metrics`` over HTTP on its own port, serving one registry."""

    def __init__(self, metrics: PrometheusMetrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host = host
        self._requested_port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server, self._thread = start_http_server(
            self._requested_port, addr=self._host, registry=self._metrics.registry
        )

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0); 0 before :meth:`start`."""
        return 0 if self._server is None else int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
