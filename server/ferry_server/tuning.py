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
_M_ARENA_MAX = -8
#: Above any message (1 MiB of data plus its header); blocks are never held whole in memory.
MMAP_THRESHOLD = 4 * 1024 * 1024
#: Freed heap each arena keeps for reuse before returning it to the OS.
TRIM_THRESHOLD = 16 * 1024 * 1024
#: glibc gives busy threads arenas of their own (up to 8 per core), each keeping its freed
#: memory: a few shared arenas bound the RSS that reuse costs.
ARENA_MAX = 2


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
    ok = all(
        mallopt(option, value)
        for option, value in (
            (_M_ARENA_MAX, ARENA_MAX),
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        )
    )
    if not ok:
        log.warning("mallopt refused the thresholds; running with glibc's defaults")
    return ok
