"""The syntactic rules for a task's destination ``store_path``.

Filesystem checks (symlinks, existing files) live in storage.
"""

from __future__ import annotations

from ferry_server.domain.errors import InvalidStorePath

MAX_STORE_PATH_BYTES = 1024
MAX_COMPONENT_BYTES = 255


def control_character(text: str) -> str | None:
    """The first control character (NUL included) in ``text``, if any."""
    return next((c for c in text if ord(c) < 0x20 or ord(c) == 0x7F), None)


def validate_store_path(raw: str) -> str:
    """Return ``raw`` if it is a normalised relative path, else raise InvalidStorePath.

    Normalised means: "/"-separated, no empty, "." or ".." components, no leading or trailing
    slash. Control characters (NUL included) and backslashes are refused so that the same path
    means the same file on every platform and in every log line.
    """
    if not raw:
        raise InvalidStorePath("store_path is empty: give a path relative to the storage root")
    bad = control_character(raw)
    if bad is not None:
        raise InvalidStorePath(
            f"store_path contains the control character U+{ord(bad):04X}; "
            "use printable characters only"
        )
    if "\\" in raw:
        raise InvalidStorePath("store_path contains a backslash; separate directories with '/'")
    if raw.startswith("/"):
        raise InvalidStorePath(
            f"store_path {raw!r} is absolute; give a path relative to the storage root"
        )
    encoded = raw.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_STORE_PATH_BYTES:
        raise InvalidStorePath(
            f"store_path is {len(encoded)} bytes long; the limit is {MAX_STORE_PATH_BYTES}"
        )
    for part in raw.split("/"):
        if part in ("", ".", ".."):
            raise InvalidStorePath(
                f"store_path {raw!r} is not normalised: no empty, '.' or '..' components, "
                "no leading or trailing '/'"
            )
        if len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES:
            raise InvalidStorePath(
                f"store_path component {part[:40]!r}... is longer than {MAX_COMPONENT_BYTES} bytes"
            )
    return raw
