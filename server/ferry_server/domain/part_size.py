"""Block sizes for the object-store backend, where every block is one multipart part: S3's
bounds (5 MiB to 5 GiB a part, at most 10,000 parts) intersected with the server's, and the
block size a file of a given size (or a pipe of a declared maximum size) gets.

Pure functions: no I/O, no settings object; the service passes its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry_server.domain.errors import InvalidArgument, OutOfRange, Reason

#: Smallest part S3 accepts, except the last one of an upload.
MIN_PART_SIZE = 5 * 1024 * 1024
#: Largest part S3 accepts.
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
#: Most parts one multipart upload may have; part numbers run 1..MAX_PARTS.
MAX_PARTS = 10_000


@dataclass(frozen=True, slots=True)
class PartBounds:
    """The block sizes allowed for one backend: ``minimum <= size <= maximum``, multiples of
    ``alignment``, at most ``max_parts`` blocks a file."""

    minimum: int
    maximum: int
    alignment: int
    max_parts: int

    @property
    def largest_file(self) -> int:
        """The largest file that fits in ``max_parts`` blocks of the largest size."""
        return self.maximum * self.max_parts


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _round_down(value: int, step: int) -> int:
    return value // step * step


def s3_bounds(*, min_block_size: int, max_block_size: int, alignment: int) -> PartBounds:
    """S3's part bounds within the server's block bounds; ValueError when the two do not
    overlap (a settings error, found at start-up)."""
    minimum = _round_up(max(min_block_size, MIN_PART_SIZE), alignment)
    maximum = _round_down(min(max_block_size, MAX_PART_SIZE), alignment)
    if minimum > maximum:
        raise ValueError(
            f"no block size fits both this server's bounds [{min_block_size}, "
            f"{max_block_size}] and S3's part sizes [{MIN_PART_SIZE}, {MAX_PART_SIZE}]: "
            f"raise --max-block-size to at least {MIN_PART_SIZE}"
        )
    return PartBounds(minimum=minimum, maximum=maximum, alignment=alignment, max_parts=MAX_PARTS)


def choose_block_size(
    size: int, bounds: PartBounds, *, default: int, requested: int | None = None
) -> int:
    """The block size of a file of ``size`` bytes in the object store.

    ``size`` is the file's size, or for a pipe of unknown length the maximum size it declared:
    every length up to it then fits in ``max_parts`` blocks. Without ``requested``: the
    server's ``default`` raised into the bounds, or the smallest aligned size that keeps the
    file within ``max_parts`` blocks if that is larger. With it: ``requested`` if it is within
    the bounds and keeps the file within ``max_parts`` blocks, else InvalidArgument
    (INVALID_BLOCK_SIZE). A file larger than ``bounds.largest_file`` is OutOfRange
    (FILE_TOO_LARGE).
    """
    if size < 0:
        raise InvalidArgument("size must not be negative", field="size")
    facts = {
        "minBlockSizeBytes": bounds.minimum,
        "maxBlockSizeBytes": bounds.maximum,
        "blockAlignmentBytes": bounds.alignment,
        "maxBlocks": bounds.max_parts,
    }
    if size > bounds.largest_file:
        raise OutOfRange(
            f"size {size} needs more than {bounds.max_parts} parts of the largest block size "
            f"({bounds.maximum}) this object store allows; its limit is "
            f"{bounds.largest_file} bytes",
            reason=Reason.FILE_TOO_LARGE,
            field="size",
            facts={"limitBytes": bounds.largest_file, **facts},
        )
    needed = _round_up(max(-(-size // bounds.max_parts), 1), bounds.alignment)
    if requested is None:
        return min(max(default, bounds.minimum, needed), bounds.maximum)
    if not bounds.minimum <= requested <= bounds.maximum or requested % bounds.alignment:
        raise InvalidArgument(
            f"block_size {requested} is not allowed for the object store: it must be a "
            f"multiple of {bounds.alignment} in [{bounds.minimum}, {bounds.maximum}]",
            reason=Reason.INVALID_BLOCK_SIZE,
            field="block_size",
            facts=facts,
        )
    if requested < needed:
        raise InvalidArgument(
            f"block_size {requested} would split {size} bytes into more than "
            f"{bounds.max_parts} parts; use at least {needed}",
            reason=Reason.INVALID_BLOCK_SIZE,
            field="block_size",
            facts=facts,
        )
    return requested
