"""Domain errors: each kind of failure a request can meet, with a message a person can act on.

The transport maps each class to one gRPC status code in a single table; the domain never
mentions gRPC.
"""

from __future__ import annotations


class FerryError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str, *, task_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The task the error is about, when there is one (sent as structured metadata).
        self.task_id = task_id


class InvalidArgument(FerryError):
    """The request is malformed: a field is missing, badly formed or not allowed."""


class OutOfRange(FerryError):
    """A number in the request lies outside its allowed range (block index, size, data end)."""


class TaskNotFound(FerryError):
    """No task has the given id."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}", task_id=task_id)


class IllegalState(FerryError):
    """The task is not in a state that allows the request (paused, terminal, blocks missing)."""


class Conflict(FerryError):
    """Something already exists in the way: another active task or a published file."""


class IntegrityFailure(FerryError):
    """The data arrived but is not the declared file (whole-file SHA-256 mismatch)."""


class StorageFull(FerryError):
    """Not enough disk space for the request; may succeed once space is freed."""


class Corrupted(FerryError):
    """Bytes arrived damaged (their CRC32C does not match); sending them again may succeed."""


class Busy(FerryError):
    """Someone else is working on the same thing right now; retrying later may succeed."""
