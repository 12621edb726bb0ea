"""The hand-written UploadPartsRequest parser agrees with protobuf on every message."""

from __future__ import annotations

import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry_server.domain.errors import InvalidArgument
from ferry_server.transport.wire import parse_part
from hypothesis import given
from hypothesis import strategies as st

requests = st.builds(
    pb.UploadPartsRequest,
    task_id=st.text(min_size=1, max_size=40),
    block_index=st.integers(0, 2**32 - 1),
    offset=st.integers(0, 2**64 - 1),
    data=st.binary(max_size=2000),
)


@given(requests, st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_parse_matches_protobuf(message: pb.UploadPartsRequest, crc: int | None) -> None:
    if crc is not None:
        message.crc32c = crc
    part = parse_part(message.SerializeToString())
    assert part.task_id == message.task_id
    assert part.block_index == message.block_index
    assert part.offset == message.offset
    assert part.data == message.data
    assert part.crc32c == (message.crc32c if message.HasField("crc32c") else None)


@given(requests, st.binary(max_size=50))
def test_unknown_fields_are_skipped_and_the_last_value_wins(
    message: pb.UploadPartsRequest, extra: bytes
) -> None:
    unknown = b"\x32" + bytes([len(extra)]) + extra + b"\x38\x96\x01" + b"\x41" + b"\0" * 8
    later = pb.UploadPartsRequest(block_index=7, data=b"last").SerializeToString()
    raw = message.SerializeToString() + unknown + later
    reference = pb.UploadPartsRequest.FromString(raw)
    part = parse_part(raw)
    assert (part.task_id, part.block_index, part.offset, part.data) == (
        reference.task_id,
        reference.block_index,
        reference.offset,
        reference.data,
    )


@given(st.binary(max_size=64))
def test_garbage_is_invalid_argument_or_a_faithful_parse(raw: bytes) -> None:
    try:
        reference = pb.UploadPartsRequest.FromString(raw)
    except Exception:
        reference = None
    try:
        part = parse_part(raw)
    except InvalidArgument:
        return
    assert reference is not None
    assert (part.task_id, part.block_index, part.data) == (
        reference.task_id,
        reference.block_index,
        reference.data,
    )


def test_a_missing_task_id_is_named() -> None:
    with pytest.raises(InvalidArgument, match="without task_id"):
        parse_part(pb.UploadPartsRequest(data=b"x").SerializeToString())
