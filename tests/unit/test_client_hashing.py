"""Checksums: the streamed SHA-256 equals hashlib's over the whole file, on the caller's thread
or a thread of its own (whose errors surface and which stops when told), and incremental CRC32C
equals the CRC32C of the whole block."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import google_crc32c
import pytest
from ferry_client.hashing import (
    HASH_CHUNK,
    BackgroundHash,
    HashStopped,
    crc32c_extend,
    sha256_file,
)


@pytest.mark.parametrize("size", [0, 1, 4096, 4096 * 3 + 5])
def test_sha256_file_matches_hashlib_and_reports_bytes_read(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    seen: list[tuple[int, int]] = []

    digest, read = sha256_file(path, chunk_size=4096, progress=lambda d, t: seen.append((d, t)))

    assert digest == hashlib.sha256(data).hexdigest()
    assert read == size
    assert all(t == size for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (seen[-1][0] if seen else 0) == size


def test_incremental_crc32c_equals_the_whole_blocks() -> None:
    data = random.Random(1).randbytes(10_000)
    crc = 0
    for start in range(0, len(data), 777):
        crc = crc32c_extend(crc, data[start : start + 777])
    assert crc == google_crc32c.value(data)


def test_sha256_file_stops_before_its_next_read_once_told(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(3 * 4096))
    stop = threading.Event()
    seen: list[int] = []

    def progress(done: int, _total: int) -> None:
        seen.append(done)
        stop.set()

    with pytest.raises(HashStopped):
        sha256_file(path, chunk_size=4096, progress=progress, stop=stop)
    assert seen == [4096]


def test_background_hash_runs_on_its_own_thread_and_reports_before_result(
    tmp_path: Path,
) -> None:
    data = random.Random(7).randbytes(3 * HASH_CHUNK + 5)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    threads: set[str] = set()
    checked: list[int] = []
    done: list[str] = []

    hashing = BackgroundHash(
        path,
        progress=lambda _d, _t: threads.add(threading.current_thread().name),
        check=checked.append,
        on_done=done.append,
    )

    assert hashing.result() == hashlib.sha256(data).hexdigest()
    assert hashing.bytes_read == len(data) and checked == [len(data)]
    assert done == [hashlib.sha256(data).hexdigest()]  # already recorded when result returns
    assert threads == {"ferry-hash"}
    hashing.raise_if_failed()  # nothing to raise
    hashing.stop()  # harmless once finished


def test_background_hash_errors_surface_from_result_and_raise_if_failed(tmp_path: Path) -> None:
    missing = BackgroundHash(tmp_path / "nope.bin")
    with pytest.raises(FileNotFoundError):
        missing.result()
    with pytest.raises(FileNotFoundError):
        missing.raise_if_failed()

    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    done: list[str] = []

    def refuse(_read: int) -> None:
        raise ValueError("changed")

    refused = BackgroundHash(path, check=refuse, on_done=done.append)
    with pytest.raises(ValueError, match="changed"):
        refused.result()
    assert done == []  # a refused hash is never reported


def test_background_hash_stops_when_told(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(4 * HASH_CHUNK))
    created = threading.Event()
    seen: list[int] = []
    holder: list[BackgroundHash] = []

    def progress(done: int, _total: int) -> None:
        created.wait(10)
        seen.append(done)
        holder[0].request_stop()

    holder.append(BackgroundHash(path, progress=progress))
    created.set()
    with pytest.raises(HashStopped):
        holder[0].result()
    holder[0].raise_if_failed()  # being stopped is not a failure
    assert seen == [HASH_CHUNK]  # one chunk, then it stopped
    assert holder[0].bytes_read == 0
