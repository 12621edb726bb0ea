"""Checksums: the streamed SHA-256 equals hashlib's over the whole file, and incremental CRC32C
equals the CRC32C of the whole block."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import google_crc32c
import pytest
from ferry_client.hashing import crc32c_extend, sha256_file


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
