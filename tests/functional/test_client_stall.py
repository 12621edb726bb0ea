"""Stall detection: a link that stops forwarding without closing (the proxy holds every byte)
is noticed within the stall timeout, not after TCP's or keepalive's minutes: the stream is cut,
a ``stalled`` event says so, and its blocks go again on a new stream."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from ferry_client import FerryClient
from ferry_client.events import UploadEvent
from ferry_server.app import FerryServer

from tests.support.client_tools import QUICK_RETRY, MiB, make_file, published
from tests.support.proxy import FaultyProxy


class StallOnce:
    """Stalls the proxy once the upload has sent ``after`` bytes; resumes it at the first
    ``stalled`` event (so a test that passed saw one)."""

    def __init__(self, proxy: FaultyProxy, after: int) -> None:
        self.proxy = proxy
        self.after = after
        self.stalled_events: list[UploadEvent] = []
        self._lock = threading.Lock()
        self._stalled = False

    def progress(self, done: int, total: int) -> None:
        with self._lock:
            if done >= self.after and not self._stalled:
                self._stalled = True
                self.proxy.stall()

    def event(self, event: UploadEvent) -> None:
        if event.kind == "stalled":
            self.stalled_events.append(event)
            self.proxy.resume()


@pytest.mark.parametrize("source", ["file", "stream"])
def test_a_stalled_stream_is_cut_and_its_blocks_sent_again(
    server: FerryServer, tmp_path: Path, source: str
):
    data = os.urandom(4 * MiB + 17)
    path = make_file(tmp_path / "src.bin", 0)
    path.write_bytes(data)
    with FaultyProxy(server.address) as proxy:
        watcher = StallOnce(proxy, after=1 * MiB)
        with FerryClient(
            proxy.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY,
            stall_timeout=1.0,
        ) as client:  # fmt: skip
            watch = {"progress": watcher.progress, "on_event": watcher.event}
            if source == "file":
                result = client.upload(path, "stall/file.bin", **watch)  # type: ignore[arg-type]
            else:
                result = client.upload_stream(io.BytesIO(data), "stall/file.bin", **watch)  # type: ignore[arg-type]
    assert published(server.settings.data_dir, "stall/file.bin").read_bytes() == data
    assert len(watcher.stalled_events) >= 1
    assert "no progress" in (watcher.stalled_events[0].message or "")
    assert result.retries >= 1


def test_a_slow_link_completes(server: FerryServer):
    """A 4 MiB block at 2 MiB/s takes 2 s to cross, longer than the 1 s stall timeout (gRPC takes
    the messages ahead of the link, so it looks stalled): each cut doubles the timeout, and the
    upload completes after at most two cuts."""
    data = os.urandom(4 * MiB + 1)
    events: list[str] = []
    with (
        FaultyProxy(server.address, rate=2 * MiB) as proxy,
        FerryClient(
            proxy.address, remember_uploads=False, stall_timeout=1.0, retry=QUICK_RETRY,
        ) as client,
    ):  # fmt: skip
        result = client.upload_stream(
            io.BytesIO(data), "slow.bin", block_size=4 * MiB,
            on_event=lambda e: events.append(e.kind),
        )  # fmt: skip
    assert result.block_size == 4 * MiB
    assert events.count("stalled") <= 2
    assert published(server.settings.data_dir, "slow.bin").read_bytes() == data
