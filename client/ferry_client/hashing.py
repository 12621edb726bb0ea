"""Checksums: the whole-file SHA-256 read once, in order, with bounded memory (on the caller's
thread, or on a thread of its own while the blocks travel); CRC32C of blocks.

SHA-256 is the expensive one (about 1.8 GB/s here, 0.55 core-seconds per GiB), so the file is
hashed once per upload and the digest remembered in the state file (a small file sent whole is
hashed from the bytes it sends, read once). A larger file is hashed by :class:`BackgroundHash`
while its blocks are sent: hashlib releases the GIL while it digests a large buffer, so the
hash runs on the second core instead of delaying the first block. CRC32C (google-crc32c's C
extension) costs almost nothing and is computed as the block's messages are read.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import google_crc32c

from ferry_client.planning import MiB

HASH_CHUNK = 1 * MiB


class HashStopped(Exception):
    """Hashing was told to stop before it reached the end of the file."""


def sha256_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = HASH_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[str, int]:
    """The file's SHA-256 as lowercase hex, and how many bytes were read to compute it.

    Memory is one reusable ``chunk_size`` buffer whatever the file size. ``progress`` is
    called with (bytes hashed, file size at the start) after every chunk. Raises HashStopped
    once ``stop`` is set (it is checked before every read).
    """
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    done = 0
    with Path(path).open("rb", buffering=0) as f:
        total = os.fstat(f.fileno()).st_size
        while True:
            if stop is not None and stop.is_set():
                raise HashStopped(f"hashing {path} stopped after {done} bytes")
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            done += n
            if progress is not None:
                progress(done, total)
    return digest.hexdigest(), done


class BackgroundHash:
    """:func:`sha256_file` on a thread of its own.

    ``check(bytes_read)`` runs on that thread once the file is read, and may raise to reject
    the result (e.g. the file changed meanwhile); ``on_done(sha256)`` then runs there
    too, before :meth:`result` returns, so whatever it records is in place by then. Any
    exception of the thread (OSError reading the file, the check's) is kept and raised by
    :meth:`result` and :meth:`raise_if_failed`. ``progress`` is called from the thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        progress: Callable[[int, int], None] | None = None,
        check: Callable[[int], None] | None = None,
        on_done: Callable[[str], None] | None = None,
    ) -> None:
        self._path = path
        self._progress = progress
        self._check = check
        self._on_done = on_done
        self._stop = threading.Event()
        self._sha256 = ""
        self._bytes_read = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ferry-hash", daemon=True)
        self._thread.start()

    @property
    def bytes_read(self) -> int:
        """Bytes hashed, once :meth:`result` returned (0 before)."""
        return self._bytes_read

    def _run(self) -> None:
        try:
            sha256, read = sha256_file(self._path, progress=self._progress, stop=self._stop)
            if self._check is not None:
                self._check(read)
            self._sha256, self._bytes_read = sha256, read
            if self._on_done is not None:
                self._on_done(sha256)
        except BaseException as exc:  # kept for the caller: a thread's exception would vanish
            self._error = exc

    def result(self) -> str:
        """The SHA-256 as lowercase hex, waiting for the thread; raises what the thread
        raised (HashStopped after :meth:`stop`)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._sha256

    def raise_if_failed(self) -> None:
        """Raise the thread's exception now if it already failed; never waits."""
        error = self._error
        if error is not None and not isinstance(error, HashStopped):
            raise error

    def request_stop(self) -> None:
        """Make the thread stop before its next read, without waiting for it."""
        self._stop.set()

    def stop(self) -> None:
        """Make the thread stop before its next read and wait for it (a read, a digest
        update and a progress call at most). Harmless once it finished."""
        self.request_stop()
        self._thread.join()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` (a small file held in memory) as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def crc32c_extend(crc: int, data: bytes) -> int:
    """CRC32C (Castagnoli) of the bytes behind ``crc`` followed by ``data``."""
    value: int = google_crc32c.extend(crc, data)
    return value
