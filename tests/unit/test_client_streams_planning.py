"""Pure parts of stream uploads and flaky links: the reader that hashes each byte once (even
when a task starts over and bytes are handed out again), and the block size a flaky link gets."""

from __future__ import annotations

import hashlib
import io

import pytest
from ferry_client.pipe_upload import StreamReader
from ferry_client.planning import SMALLEST_ADAPTED_BLOCK, smaller_block_size
from hypothesis import given
from hypothesis import strategies as st

MiB = 1024 * 1024
MB = 1_000_000


@given(
    data=st.binary(max_size=5000),
    pieces=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30),
    unread_at=st.integers(min_value=0, max_value=29),
)
def test_the_reader_hashes_every_byte_once(data: bytes, pieces: list[int], unread_at: int):
    def chunks():
        at = 0
        for size in pieces * 20:
            if at >= len(data):
                return
            yield data[at : at + size]
            at += size
        yield data[at:]

    for source in (io.BytesIO(data), chunks()):
        reader = StreamReader(source)
        out = b""
        for n, size in enumerate(pieces):
            got = reader.read(size)
            if n == unread_at:
                # A task started over: what was read is handed out again, not hashed twice.
                reader.unread(got)
                continue
            out += got
        while not reader.eof:
            out += reader.read(999)
        assert out == data
        assert reader.consumed == len(data)
        assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_the_reader_refuses_what_is_not_bytes():
    with pytest.raises(TypeError):
        StreamReader(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        StreamReader(iter(["text"])).read(10)  # type: ignore[list-item]


def test_a_flaky_link_gets_blocks_that_fit_what_one_stream_carries():
    # Connections dying after 2-6 MB with two streams: ~2 MB a stream, 1 MiB blocks.
    carried = [6 * MB, 2 * MB, 4 * MB]
    assert smaller_block_size(8 * MiB, carried=carried, committed=0, streams=2) == 1 * MiB
    # One stream carrying 12 MB before each cut: half of 8 MiB at most.
    assert smaller_block_size(8 * MiB, carried=[12 * MB] * 3, committed=0, streams=1) == 4 * MiB
    # Never below the floor, never for a task with committed blocks, nor before 3 failures.
    assert smaller_block_size(8 * MiB, carried=[10_000] * 3, committed=0, streams=2) == (
        SMALLEST_ADAPTED_BLOCK
    )
    assert smaller_block_size(8 * MiB, carried=carried, committed=1, streams=2) is None
    assert smaller_block_size(8 * MiB, carried=carried[:2], committed=0, streams=2) is None
    assert smaller_block_size(SMALLEST_ADAPTED_BLOCK, carried=carried, committed=0,
                              streams=2) is None  # fmt: skip
    # Aligned to 64 KiB.
    odd = smaller_block_size(64 * MiB, carried=[7_777_777] * 3, committed=0, streams=1)
    assert odd is not None and odd % (64 * 1024) == 0
