"""The sliding window on real servers: a stream with several blocks unacknowledged uploads
intact, never has more unacknowledged than its window, and a cut connection costs at most the
window per stream to send again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry_client import FerryClient
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    QUICK_RETRY,
    KiB,
    MiB,
    make_file,
    published,
    sha256_of,
)
from tests.support.proxy import FaultyProxy

BLOCK = 64 * KiB


class Outstanding(grpc.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    """Counts, per UploadParts stream, blocks whose last message went out and whose
    acknowledgement has not come back; keeps the highest count any stream reached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.most = 0

    def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Iterator[bytes]
    ) -> Any:
        unacked = [0]

        def requests() -> Iterator[bytes]:
            for raw in request_iterator:
                if pb.UploadPartsRequest.FromString(raw).HasField("crc32c"):
                    with self._lock:
                        unacked[0] += 1
                        self.most = max(self.most, unacked[0])
                yield raw

        call = continuation(client_call_details, requests())
        return _Acks(call, lambda: self._acked(unacked))

    def _acked(self, unacked: list[int]) -> None:
        with self._lock:
            unacked[0] -= 1


class _Acks:
    """The call, noting each acknowledgement as it is read."""

    def __init__(self, call: Any, on_ack: Any) -> None:
        self._call = call
        self._on_ack = on_ack

    def __iter__(self) -> _Acks:
        return self

    def __next__(self) -> Any:
        ack = next(self._call)
        self._on_ack()
        return ack

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


def test_a_fixed_window_of_several_blocks_uploads_intact_within_it(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 40 * BLOCK + 5)
    outstanding = Outstanding()
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        blocks_in_flight=4,
        interceptors=[outstanding],
    ) as client:
        result = client.upload(source, "window.bin", block_size=BLOCK, parallelism=1)

    assert sha256_of(published(server.settings.data_dir, "window.bin")) == sha256_of(source)
    assert result.bytes_resent == 0
    # Whatever the timing, one stream never had more than its 4 blocks unacknowledged.
    assert 1 <= outstanding.most <= 4


def test_the_measured_window_stays_within_its_bound(server: FerryServer, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", 64 * BLOCK)
    outstanding = Outstanding()
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        max_window=3 * BLOCK,
        interceptors=[outstanding],
    ) as client:
        client.upload(source, "bounded.bin", block_size=BLOCK, parallelism=2)

    assert sha256_of(published(server.settings.data_dir, "bounded.bin")) == sha256_of(source)
    assert 1 <= outstanding.most <= 3


def test_cut_connections_cost_at_most_the_window_per_stream(
    server: FerryServer, tmp_path: Path
) -> None:
    """Several blocks in flight on each of 2 streams when the link is cut, three times: the
    upload completes intact, and each cut costs at most each stream's window again."""
    source = make_file(tmp_path / "src.bin", 6 * MiB + 7)
    window = 4 * BLOCK
    with (
        FaultyProxy(server.address, cut_after=1536 * KiB, cuts=3) as proxy,
        FerryClient(
            proxy.address,
            state_file=tmp_path / "state.json",
            retry=QUICK_RETRY,
            max_window=window,
        ) as client,
    ):
        result = client.upload(source, "cut.bin", block_size=BLOCK, parallelism=2)

    assert proxy.cuts_done == 3
    assert result.retries >= 3
    assert result.bytes_resent <= result.retries * 2 * window
    assert sha256_of(published(server.settings.data_dir, "cut.bin")) == sha256_of(source)


def test_a_window_below_one_block_still_sends_whole_blocks(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 24 * BLOCK + 1)  # beyond UploadFile: blocks
    outstanding = Outstanding()
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        max_window=1,
        interceptors=[outstanding],
    ) as client:
        client.upload(source, "tiny.bin", block_size=BLOCK, parallelism=1)

    assert sha256_of(published(server.settings.data_dir, "tiny.bin")) == sha256_of(source)
    assert outstanding.most == 1


@pytest.mark.parametrize(("connections", "expected"), [(1, 1), (2, 2), (3, 3)])
def test_upload_streams_take_their_own_tcp_connections(
    server: FerryServer, tmp_path: Path, connections: int, expected: int
) -> None:
    source = make_file(tmp_path / "src.bin", 32 * BLOCK)
    with FaultyProxy(server.address) as proxy:
        with FerryClient(proxy.address, state_file=tmp_path / "state.json",
                         connections=connections) as client:  # fmt: skip
            client.upload(source, "spread.bin", block_size=BLOCK, parallelism=3)
        assert proxy.connections == expected
    assert sha256_of(published(server.settings.data_dir, "spread.bin")) == sha256_of(source)
