"""store_path and file_name validation: what is accepted is relative, normalised, NFC and
printable; what is refused is named, with where it is."""

from __future__ import annotations

import posixpath
import unicodedata

import pytest
from ferry_server.domain.errors import InvalidArgument
from ferry_server.domain.inputs import SHOWN_CHARACTERS, printable_problem, shown, unprintable
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
    assert unprintable(accepted) is None
    assert unicodedata.is_normalized("NFC", accepted)
    assert len(accepted.encode("utf-8", "surrogatepass")) <= 1024


REFUSED = [
    "\x00", "\x1b", "\x7f", "\x85", "\x9b",  # C0 and C1 controls, DEL
    "\u2028", "\u2029",  # line and paragraph separators
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # bidi isolates
    "\u200b", "\ufeff",  # zero width space, byte-order mark
]  # fmt: skip


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_unprintable_characters_are_refused_by_name_and_position(char: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_store_path(f"dir/ab{char}c.txt")
    assert f"U+{ord(char):04X}" in caught.value.message
    assert "at character 7" in caught.value.message
    assert char not in caught.value.message
    problem = printable_problem("file_name", f"x{char}")
    assert problem is not None and problem.startswith(f"file_name contains U+{ord(char):04X}")


def test_joiners_stay_allowed_because_real_names_use_them() -> None:
    for name in (
        "\u0915\u094d\u200d\u0937.txt",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    ):
        assert validate_store_path(name) == name
        assert printable_problem("file_name", name) is None


def test_a_path_in_nfd_is_refused_with_how_to_fix_it() -> None:
    nfd = unicodedata.normalize("NFD", "caf\u00e9/r\u00e9sum\u00e9.pdf")
    with pytest.raises(InvalidArgument) as caught:
        validate_store_path(nfd)
    assert "NFC" in caught.value.message
    nfc = unicodedata.normalize("NFC", nfd)
    assert validate_store_path(nfc) == nfc


@given(st.text(max_size=400))
def test_shown_values_are_one_escaped_bounded_line(value: str) -> None:
    text = shown(value)
    assert text.isprintable()
    # At most "\\U0010ffff" (ten characters) for each character shown, plus the note.
    assert len(text) <= 10 * SHOWN_CHARACTERS + 40
