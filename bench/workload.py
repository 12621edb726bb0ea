"""The data the contenders move: generating the test files, keeping them warm in the page cache,
and checking that what a contender published is byte for byte what it was given."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
_CHUNK = 1 << 20


def parse_size(text: str) -> int:
    """``256M``, ``1G``, ``64KiB`` or a plain byte count; binary units."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 256M, 1G or 1048576")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def format_size(n: int) -> str:
    """``1073741824`` -> ``1 GiB``; exact binary units when they divide, else bytes."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} B"


def write_random_file(path: Path, size: int) -> None:
    """Incompressible bytes, so no layer anywhere can win by compressing or deduplicating."""
    with path.open("wb") as f:
        remaining = size
        while remaining:
            n = min(_CHUNK, remaining)
            f.write(os.urandom(n))
            remaining -= n


def write_small_files(directory: Path, count: int, size: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    width = len(str(count - 1))
    paths = []
    for i in range(count):
        path = directory / f"f{i:0{width}d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def warm(paths: Iterable[Path]) -> None:
    """Read files through the page cache so every contender starts from the same warm cache."""
    buf = bytearray(8 * _CHUNK)
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_same_file(published: Path, expected_size: int, expected_sha256: str) -> None:
    size = published.stat().st_size
    if size != expected_size:
        raise AssertionError(f"{published} has {size} bytes, expected {expected_size}")
    digest = sha256_file(published)
    if digest != expected_sha256:
        raise AssertionError(f"{published} has SHA-256 {digest}, expected {expected_sha256}")


def check_same_files(published: Iterable[Path], expected_sha256: Iterable[str]) -> None:
    """The published files are the sources, in any order and under any names."""
    got = Counter(sha256_file(p) for p in published)
    want = Counter(expected_sha256)
    if got != want:
        missing = sum((want - got).values())
        extra = sum((got - want).values())
        raise AssertionError(f"published files differ: {missing} missing, {extra} unexpected")
