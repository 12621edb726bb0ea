"""A flaky link: the connection is reset after a random 1-8 MB (per connection), so no 8 MiB
block (the server's default) ever gets through. An upload with default client settings still
completes: the client starts its own task, which has nothing committed, over with smaller blocks
(``planning.smaller_block_size``)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferry_client import FerryClient
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings

from tests.support.client_tools import MiB, make_file, published, sha256_of
from tests.support.proxy import FaultyProxy

MB = 1_000_000


@pytest.fixture
def default_blocks(settings: Settings) -> Iterator[FerryServer]:
    """A server with the default block sizes (8 MiB blocks, 256 KiB..64 MiB)."""
    defaults = Settings()
    ferry = create_server(
        dataclasses.replace(
            settings,
            default_block_size=defaults.default_block_size,
            min_block_size=defaults.min_block_size,
            max_block_size=defaults.max_block_size,
            max_file_size=defaults.max_file_size,
        )
    )
    ferry.start()
    try:
        yield ferry
    finally:
        ferry.stop(grace=0)


def test_an_upload_completes_over_a_link_reset_every_1_to_8_mb(
    default_blocks: FerryServer, tmp_path: Path
):
    source = make_file(tmp_path / "flaky.bin", 20 * MiB + 5)
    with (
        FaultyProxy(default_blocks.address, cut_between=(1 * MB, 8 * MB), seed=13) as proxy,
        FerryClient(proxy.address, state_file=tmp_path / "state.json") as client,
    ):
        result = client.upload(source, "flaky/file.bin")
    assert published(default_blocks.settings.data_dir, "flaky/file.bin").read_bytes() == (
        source.read_bytes()
    )
    assert result.sha256 == sha256_of(source)
    assert result.block_size < 8 * MiB
    assert proxy.cuts_done >= 3


def test_a_stream_completes_over_a_link_reset_every_1_to_8_mb(
    default_blocks: FerryServer, tmp_path: Path
):
    data = os.urandom(20 * MiB + 5)
    with (
        FaultyProxy(default_blocks.address, cut_between=(1 * MB, 8 * MB), seed=14) as proxy,
        FerryClient(proxy.address, remember_uploads=False) as client,
    ):
        result = client.upload_stream(iter([data[i : i + MiB] for i in range(0, len(data), MiB)]),
                                      "flaky/stream.bin")  # fmt: skip
    stored = published(default_blocks.settings.data_dir, "flaky/stream.bin").read_bytes()
    assert stored == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.block_size < 8 * MiB
    assert proxy.cuts_done >= 3
