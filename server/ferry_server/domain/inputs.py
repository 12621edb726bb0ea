"""Text a client sends: which characters a name may hold, the shape of a task id, and how a
client's value is shown in messages and log lines (escaped and bounded, so that it cannot forge
a log line, reorder one on screen, or swell a status message past gRPC's header limits)."""

from __future__ import annotations

import re
import unicodedata

#: Task ids as CreateTask issues them (``secrets.token_hex(16)``).
_TASK_ID = re.compile(r"[0-9a-f]{32}")
#: Categories that break a line or carry no glyph: controls, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
#: Invisible characters that reorder or hide text: the bidi embeddings and overrides
#: (U+202A-U+202E), the bidi isolates (U+2066-U+2069), ZERO WIDTH SPACE and the byte-order
#: mark. ZERO WIDTH (NON-)JOINER stay allowed: real names in several scripts need them.
_REFUSED_CHARACTERS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200b", "\ufeff"]
)
#: Characters of a client's value shown in a message or a log line before it is cut short.
SHOWN_CHARACTERS = 120


def is_task_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id this server issues."""
    return _TASK_ID.fullmatch(value) is not None


def unprintable(text: str) -> tuple[int, str] | None:
    """The position and the first character of ``text`` that a name must not hold, if any."""
    for position, char in enumerate(text):
        if char in _REFUSED_CHARACTERS or unicodedata.category(char) in _REFUSED_CATEGORIES:
            return position, char
    return None


def printable_problem(field: str, text: str) -> str | None:
    """Why ``text`` cannot be the name ``field`` (naming the first character it must not
    hold, and where), or ``None`` if it can."""
    found = unprintable(text)
    if found is None:
        return None
    position, char = found
    name = unicodedata.name(char, "a control character")
    return (
        f"{field} contains U+{ord(char):04X} ({name}) at character {position + 1}; "
        "use printable characters only (no control, line-breaking or invisible "
        "direction-changing characters)"
    )


def shown(value: str) -> str:
    """``value`` as a message or a log line shows it: quoted, every non-printable character
    escaped (``repr``), and cut after :data:`SHOWN_CHARACTERS` characters."""
    if len(value) <= SHOWN_CHARACTERS:
        return repr(value)
    return f"{value[:SHOWN_CHARACTERS]!r}... ({len(value)} characters)"
