"""The syntactic rules for a task's destination ``store_path``.

Filesystem checks (symlinks, existing files) live in storage.
"""

from __future__ import annotations

import unicodedata

from ferry_server.domain.errors import InvalidStorePath
from ferry_server.domain.inputs import printable_problem, shown

MAX_STORE_PATH_BYTES = 1024
MAX_COMPONENT_BYTES = 255


def validate_store_path(raw: str) -> str:
    """Return ``raw`` if it is a normalised relative path, else raise InvalidStorePath.

    Normalised means: "/"-separated, no empty, "." or ".." components, no leading or trailing
    slash. Unprintable characters (see ``inputs.printable_problem``) and backslashes are refused
    so that the same path means the same file on every platform and in every log line; and the
    path must be in Unicode NFC, so that one visible name is one task and one file (macOS, for
    one, hands out names in NFD).
    """
    if not raw:
        raise InvalidStorePath("store_path is empty: give a path relative to the storage root")
    problem = printable_problem("store_path", raw)
    if problem is not None:
        raise InvalidStorePath(problem)
    if not unicodedata.is_normalized("NFC", raw):
        raise InvalidStorePath(
            f"store_path {shown(raw)} is not in Unicode normal form NFC (its accents are "
            "separate characters, as macOS writes names); normalise it to NFC and send it again"
        )
    if "\\" in raw:
        raise InvalidStorePath("store_path contains a backslash; separate directories with '/'")
    if raw.startswith("/"):
        raise InvalidStorePath(
            f"store_path {shown(raw)} is absolute; give a path relative to the storage root"
        )
    encoded = raw.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_STORE_PATH_BYTES:
        raise InvalidStorePath(
            f"store_path is {len(encoded)} bytes long; the limit is {MAX_STORE_PATH_BYTES}"
        )
    for part in raw.split("/"):
        if part in ("", ".", ".."):
            raise InvalidStorePath(
                f"store_path {shown(raw)} is not normalised: no empty, '.' or '..' components, "
                "no leading or trailing '/'"
            )
        if len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES:
            raise InvalidStorePath(
                f"store_path component {part[:40]!r}... is longer than {MAX_COMPONENT_BYTES} bytes"
            )
    return raw
