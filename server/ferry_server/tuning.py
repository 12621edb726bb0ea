"""Process-wide tuning that ``ferry serve`` applies to its own process (never the library).

Every UploadParts message is a ~1 MiB buffer, above glibc's default mmap threshold, so each one
would be mmap()ed, page-faulted in and munmap()ed again: a third of the server's kernel time.
Raising the thresholds keeps those buffers in the heap for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("ferry.server")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Larger than any message; blocks are never held whole in memory.
MMAP_THRESHOLD = 16 * 1024 * 1024
#: Freed heap kept for reuse before it is returned to the OS (bounds the idle RSS cost).
TRIM_THRESHOLD = 64 * 1024 * 1024


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not ok:
        log.warning("mallopt refused the thresholds; running with glibc's defaults")
    return ok
