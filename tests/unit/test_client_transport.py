"""The hand-written UploadPartsRequest encoding is exactly protobuf's."""

from __future__ import annotations

from ferry.v1 import ferry_pb2 as pb
from ferry_client.transport import Part, encode_part
from hypothesis import given
from hypothesis import strategies as st


@given(
    task_id=st.text(max_size=40),
    block_index=st.integers(0, 2**32 - 1),
    offset=st.integers(0, 2**64 - 1),
    data=st.binary(max_size=300),
    crc32c=st.none() | st.integers(0, 2**32 - 1),
)
def test_encoding_equals_protobufs_and_parses_back(
    task_id: str, block_index: int, offset: int, data: bytes, crc32c: int | None
) -> None:
    encoded = encode_part(Part(task_id, block_index, offset, data, crc32c))

    expected = pb.UploadPartsRequest(
        task_id=task_id, block_index=block_index, offset=offset, data=data, crc32c=crc32c
    )
    assert encoded == expected.SerializeToString()
    parsed = pb.UploadPartsRequest.FromString(encoded)
    assert (parsed.task_id, parsed.block_index, parsed.offset, parsed.data) == (
        task_id,
        block_index,
        offset,
        data,
    )
    assert parsed.HasField("crc32c") == (crc32c is not None)


def test_a_large_data_field_is_carried_whole() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    encoded = encode_part(Part("t" * 32, 7, 3 * 1024 * 1024, data, 0))
    parsed = pb.UploadPartsRequest.FromString(encoded)
    assert parsed.data == data and parsed.crc32c == 0 and parsed.HasField("crc32c")
