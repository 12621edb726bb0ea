"""Parsing ``ferry.v1.UploadPartsRequest`` straight from its wire bytes.

UploadParts is registered without a protobuf deserializer: decoding the data messages with
protobuf costs about a third of the server's time (DESIGN.md), and the message has five scalar
fields. This parser follows the protobuf wire format: fields in any order, the last occurrence
wins, unknown fields are skipped.
"""

from __future__ import annotations

from ferry_server.domain.errors import InvalidArgument, Reason
from ferry_server.domain.service import Part

_TASK_ID, _BLOCK_INDEX, _OFFSET, _CRC32C, _DATA = 1, 2, 3, 4, 5
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_EXPECTED_WIRE_TYPE = {
    _TASK_ID: _LEN,
    _BLOCK_INDEX: _VARINT,
    _OFFSET: _VARINT,
    _CRC32C: _I32,
    _DATA: _LEN,
}


class _Malformed(InvalidArgument):
    reason = Reason.MALFORMED_MESSAGE

    def __init__(self, why: str, *, field: str = "") -> None:
        super().__init__(
            f"UploadParts message is not a valid UploadPartsRequest: {why}", field=field
        )


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise _Malformed("varint longer than 10 bytes")


def parse_part(buf: bytes) -> Part:
    """Decode one request; raise InvalidArgument if it is not a valid UploadPartsRequest."""
    task_id = b""
    block_index = 0
    offset = 0
    crc32c: int | None = None
    data = b""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire_type = key >> 3, key & 7
        if field == 0:
            raise _Malformed("field number 0")
        expected = _EXPECTED_WIRE_TYPE.get(field)
        if expected is not None and wire_type != expected:
            raise _Malformed(f"field {field} has wire type {wire_type}, expected {expected}")
        if wire_type == _VARINT:
            value, pos = _varint(buf, pos)
            if field == _BLOCK_INDEX:
                block_index = value & 0xFFFFFFFF
            elif field == _OFFSET:
                offset = value
        elif wire_type == _LEN:
            length, pos = _varint(buf, pos)
            stop = pos + length
            if stop > end:
                raise _Malformed("length-delimited field runs past the end")
            if field == _DATA:
                data = buf[pos:stop]
            elif field == _TASK_ID:
                task_id = buf[pos:stop]
            pos = stop
        elif wire_type == _I32:
            if pos + 4 > end:
                raise _Malformed("truncated fixed32")
            if field == _CRC32C:
                crc32c = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        elif wire_type == _I64:
            if pos + 8 > end:
                raise _Malformed("truncated fixed64")
            pos += 8
        else:
            raise _Malformed(f"unsupported wire type {wire_type}")
    try:
        task = task_id.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed("task_id is not UTF-8", field="task_id") from exc
    if not task:
        raise InvalidArgument("UploadParts message without task_id", field="task_id")
    return Part(task, block_index, offset, data, crc32c)
