"""Graceful shutdown: upload streams in flight are told at once, with the retryable UNAVAILABLE,
to go elsewhere, instead of being held for the grace period (a setting) that unary RPCs get;
what they had acknowledged stays, and a client continues its upload once it can reconnect.

The grace periods here are far longer than the calls' own deadlines and the tests' liveness
bounds, so a stream held for the grace shows as a failure, without timing anything.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_server.app import create_server
from ferry_server.config import Settings

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    BackgroundCall,
    Gate,
    MiB,
    make_file,
    published,
    sha256_of,
)
from tests.support.processes import ServerProcess
from tests.support.protocol import KiB, block_messages, create, missing_set

LONG_GRACE = 600.0
BLOCK = 64 * KiB


def test_open_streams_end_at_once_with_unavailable_and_keep_what_was_acknowledged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = create_server(settings)
    server.start()
    stopper: threading.Thread | None = None
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            data = os.urandom(3 * BLOCK)
            task = create(stub, data, "shutdown.bin", block_size=BLOCK)
            hold = threading.Event()

            def requests() -> Iterator[pb.UploadPartsRequest]:
                yield from block_messages(task, data, 0)
                hold.wait(LIVENESS_TIMEOUT)

            call = stub.UploadParts(requests(), timeout=LIVENESS_TIMEOUT)
            first = next(call)
            assert (first.block_index, first.status) == (0, pb.BLOCK_STATUS_COMMITTED)

            stopper = threading.Thread(target=server.stop, args=(LONG_GRACE,))
            stopper.start()
            with pytest.raises(grpc.RpcError) as caught:
                next(call)
            hold.set()
            # Before the call's deadline, which the grace period far exceeds. (The message is
            # ours, or the closed connection's when the server finished stopping first.)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
            assert "1 upload streams told to reconnect" in caplog.text
            stopper.join(LIVENESS_TIMEOUT)
            assert not stopper.is_alive()
    finally:
        if stopper is None:
            server.stop(0)

    again = create_server(settings)
    again.start()
    try:
        with grpc.insecure_channel(again.address) as channel:
            assert missing_set(rpc.FerryServiceStub(channel), task.task_id) == {1, 2}
    finally:
        again.stop(0)


def test_sigterm_sends_a_clients_streams_away_and_the_upload_continues_after_restart(
    tmp_path: Path, database_url: str | None
) -> None:
    server = ServerProcess(
        tmp_path / "data",
        database_url=database_url,
        extra_args=["--shutdown-grace", str(LONG_GRACE)],
    )
    server.start()
    try:
        source = make_file(tmp_path / "src.bin", 3 * MiB + 7)
        gate = Gate(threshold=source.stat().st_size // 3)
        with FerryClient(
            server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY
        ) as client:
            call = BackgroundCall(
                lambda: client.upload(
                    source, "sigterm.bin", block_size=BLOCK, parallelism=2, progress=gate
                )
            )
            gate.wait_reached()
            # Streams are open and held: without ending them at once, SIGTERM would wait out
            # the grace period, far past this bound.
            assert server.terminate(timeout=LIVENESS_TIMEOUT) == 0
            gate.release()
            server.start()
            result = call.result()
        assert result.retries >= 1
        assert sha256_of(published(tmp_path / "data", "sigterm.bin")) == sha256_of(source)
        assert "upload streams told to reconnect" in server.log_path.read_text()
    finally:
        server.kill()
