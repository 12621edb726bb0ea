"""docs/protocol.md cannot drift: its CRC32C test vectors are recomputed with google_crc32c
and encoded with the generated stubs, and its block-arithmetic examples recomputed."""

from __future__ import annotations

import re
from pathlib import Path

import google_crc32c
import pytest
from ferry.v1 import ferry_pb2 as pb

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def table_after(marker: str) -> list[list[str]]:
    """The cells of the Markdown table that follows the HTML comment ``marker`` in the guide."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"<!-- {marker}"))
    rows = []
    for line in lines[start + 3 :]:  # the comment, the header, the separator
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert rows, f"no table after {marker!r} in {GUIDE}"
    return rows


def parse_hex(text: str) -> bytes:
    """``31 32`` or ``00*32`` (32 bytes 00)."""
    out = bytearray()
    for token in text.split():
        value, _, count = token.partition("*")
        out += bytes.fromhex(value) * int(count or 1)
    return bytes(out)


def spans(cell: str) -> list[str]:
    """The code spans (text between backticks) of a table cell, in order."""
    return re.findall(r"`([^`]*)`", cell)


CRC_ROWS = table_after("crc32c vectors")
BLOCK_ROWS = table_after("block-arithmetic examples")


@pytest.mark.parametrize("row", CRC_ROWS, ids=[f"vector{n}" for n in range(len(CRC_ROWS))])
def test_crc32c_vector_continues_across_messages(row: list[str]) -> None:
    messages_hex, text, running, wire = row
    messages = [parse_hex(m) for m in spans(messages_hex)]
    if spans(text):  # the messages as text, where the guide shows them so
        assert [m.decode("ascii") for m in messages] == spans(text)
    crc = 0
    computed = []
    for message in messages:
        crc = google_crc32c.extend(crc, message)
        computed.append(crc)
    assert computed == [int(value, 16) for value in spans(running)]
    assert computed[-1] == google_crc32c.value(b"".join(messages))
    (encoded,) = spans(wire)
    assert pb.UploadPartsRequest(crc32c=computed[-1]).SerializeToString() == parse_hex(encoded)


@pytest.mark.parametrize("row", BLOCK_ROWS, ids=[row[0] for row in BLOCK_ROWS])
def test_block_arithmetic_example(row: list[str]) -> None:
    size, block_size, count, last = (int(cell) if cell.isdigit() else cell for cell in row)
    assert isinstance(size, int)
    assert isinstance(block_size, int)
    expected_count = -(-size // block_size)
    assert count == expected_count
    if expected_count == 0:
        assert last == "none"
    else:
        assert last == size - (expected_count - 1) * block_size
