"""Uploads of data of unknown length: the library from a file object and from an iterator of
bytes, the ``ferry upload - DEST`` command fed by a real pipe, and a connection cut mid-stream
recovered within the process (the unacknowledged blocks sent again)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferry_client import FerryClient, InvalidRequest
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    QUICK_RETRY,
    KiB,
    MiB,
    ferry_command,
    published,
)
from tests.support.proxy import FaultyProxy


def pieces(data: bytes, seed: int) -> Iterator[bytes]:
    """``data`` in irregular pieces (1 byte to 300 KiB), as a pipe or a generator gives it."""
    rng = random.Random(seed)
    at = 0
    while at < len(data):
        step = rng.randint(1, 300 * KiB)
        yield data[at : at + step]
        at += step


def check_published(server: FerryServer, store_path: str, data: bytes, result) -> None:
    assert published(server.settings.data_dir, store_path).read_bytes() == data
    assert (result.size, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_file_object_and_an_iterator_upload(server: FerryServer, tmp_path: Path):
    data = os.urandom(3 * MiB + 12345)
    with FerryClient(server.address, state_file=tmp_path / "state.json") as client:
        from_file = client.upload_stream(io.BytesIO(data), "streams/file-object.bin")
        from_iterator = client.upload_stream(pieces(data, 1), "streams/iterator.bin")
    for result, store_path in ((from_file, "streams/file-object.bin"),
                               (from_iterator, "streams/iterator.bin")):  # fmt: skip
        check_published(server, store_path, data, result)
        assert result.block_count == -(-len(data) // result.block_size)
        assert not result.resumed
    # Nothing to resume later: the state file is not written for a stream.
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("size", [0, 1000, 1 * MiB])
def test_small_streams_go_whole(server: FerryServer, tmp_path: Path, size: int):
    data = os.urandom(size)
    with FerryClient(server.address, remember_uploads=False) as client:
        result = client.upload_stream(iter([data]), f"small-{size}.bin")
    check_published(server, f"small-{size}.bin", data, result)
    assert result.blocks_sent == (1 if size else 0)


def test_a_stream_longer_than_its_max_size_fails_and_cancels_its_task(
    server: FerryServer, tmp_path: Path
):
    data = os.urandom(2 * MiB)
    with FerryClient(server.address, remember_uploads=False) as client:
        with pytest.raises(Exception, match="max_size") as excinfo:
            client.upload_stream(io.BytesIO(data), "too-long.bin", max_size=1 * MiB + 100)
        assert "cancelled" in str(excinfo.value)
        # The store_path is free again: the task was cancelled.
        result = client.upload_stream(io.BytesIO(data), "too-long.bin")
    check_published(server, "too-long.bin", data, result)
    with FerryClient(server.address, remember_uploads=False) as client:
        with pytest.raises(TypeError):
            client.upload_stream(b"bytes are not a stream", "x.bin")  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest):
            client.upload_stream(io.BytesIO(data), "../escape.bin")


def test_a_cut_connection_is_recovered_within_the_process(server: FerryServer):
    """Connections cut after 1.5 MiB, three times: only unacknowledged blocks go again."""
    data = os.urandom(6 * MiB + 7)
    with (
        FaultyProxy(server.address, cut_after=3 * MiB // 2, cuts=3) as proxy,
        FerryClient(proxy.address, remember_uploads=False, retry=QUICK_RETRY) as client,
    ):
        result = client.upload_stream(pieces(data, 2), "cut/stream.bin")
    check_published(server, "cut/stream.bin", data, result)
    assert proxy.cuts_done == 3
    assert result.retries >= 1
    assert result.bytes_sent > len(data)


def test_ferry_upload_from_a_pipe(server: FerryServer, tmp_path: Path):
    """``head -c N /dev/urandom | ferry upload - DEST``, with the data kept by ``tee``."""
    copy = tmp_path / "copy.bin"
    ferry = " ".join(ferry_command(["upload", "-", "pipes/db.dump", "--server", server.address,
                                    "--json", "--quiet"]))  # fmt: skip
    completed = subprocess.run(
        f"head -c {5 * MiB + 3} /dev/urandom | tee {copy} | {ferry}",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | {"FERRY_STATE_FILE": str(tmp_path / "state.json")},
    )
    assert completed.returncode == 0, completed.stderr
    data = copy.read_bytes()
    assert published(server.settings.data_dir, "pipes/db.dump").read_bytes() == data
    assert hashlib.sha256(data).hexdigest() in completed.stdout


def test_ferry_upload_from_a_pipe_through_a_cutting_proxy(server: FerryServer, tmp_path: Path):
    copy = tmp_path / "copy.bin"
    with FaultyProxy(server.address, cut_after=2 * MiB, cuts=2) as proxy:
        ferry = " ".join(ferry_command(["upload", "-", "pipes/cut.dump", "--server",
                                        proxy.address, "--quiet"]))  # fmt: skip
        completed = subprocess.run(
            f"head -c {6 * MiB} /dev/urandom | tee {copy} | {ferry}",
            shell=True,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=os.environ | {"FERRY_STATE_FILE": str(tmp_path / "state.json")},
        )
    assert completed.returncode == 0, completed.stderr
    assert proxy.cuts_done == 2
    assert "retrying" in completed.stderr or "again" in completed.stderr
    data = copy.read_bytes()
    assert published(server.settings.data_dir, "pipes/cut.dump").read_bytes() == data
