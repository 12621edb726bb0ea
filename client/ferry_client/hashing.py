"""Checksums: the whole-file SHA-256 read once, in order, with bounded memory; CRC32C of blocks.

SHA-256 is the expensive one (about 1.8 GB/s here), so the file is hashed once per upload and
the digest remembered in the state file (a small file sent whole is hashed from the bytes it
sends, read once); CRC32C (google-crc32c's C extension) costs almost
nothing and is computed as the block's messages are read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import google_crc32c

from ferry_client.planning import MiB

HASH_CHUNK = 1 * MiB


def sha256_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = HASH_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, int]:
    """The file's SHA-256 as lowercase hex, and how many bytes were read to compute it.

    Memory is one reusable ``chunk_size`` buffer whatever the file size. ``progress`` is
    called with (bytes hashed, file size at the start) after every chunk.
    """
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    done = 0
    with Path(path).open("rb", buffering=0) as f:
        total = os.fstat(f.fileno()).st_size
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            done += n
            if progress is not None:
                progress(done, total)
    return digest.hexdigest(), done


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` (a small file held in memory) as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def crc32c_extend(crc: int, data: bytes) -> int:
    """CRC32C (Castagnoli) of the bytes behind ``crc`` followed by ``data``."""
    value: int = google_crc32c.extend(crc, data)
    return value
