"""store_path validation: what is accepted is relative, normalised and printable."""

from __future__ import annotations

import posixpath

import pytest
from ferry_server.domain.errors import InvalidArgument
from ferry_server.domain.paths import validate_store_path
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    "path", ["a", "a/b/c.bin", "videos/2026/11/clip.mp4", "名前/ファイル.txt", "a..b", ".hidden"]
)
def test_normal_relative_paths_are_accepted(path: str) -> None:
    assert validate_store_path(path) == path


@given(st.text(min_size=1, max_size=300))
def test_accepted_paths_are_normalised_relative_and_printable(path: str) -> None:
    try:
        accepted = validate_store_path(path)
    except InvalidArgument:
        return
    assert not accepted.startswith("/")
    assert posixpath.normpath(accepted) == accepted
    assert ".." not in accepted.split("/")
    assert all(ord(c) >= 0x20 and ord(c) != 0x7F for c in accepted)
    assert len(accepted.encode("utf-8", "surrogatepass")) <= 1024
