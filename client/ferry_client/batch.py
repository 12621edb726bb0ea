"""Many files in one call: the plan (which local file goes to which store_path, from sources,
directories walked recursively and a destination prefix), each file's outcome, and the summary.

The store_paths are planned without I/O (:func:`store_path_under`); only listing a directory
and checking what a source is touch the disk (:func:`plan_sources`). Running the plan is
:meth:`FerryClient.upload_many`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ferry_client.models import UploadResult


@dataclass(frozen=True, slots=True)
class UploadItem:
    """One file of a batch: the local ``path`` and where it goes."""

    path: str
    store_path: str


class Outcome(enum.StrEnum):
    """What became of one file of a batch."""

    #: Sent (in whole or in part: a resumed upload) and published.
    UPLOADED = "uploaded"
    #: The same bytes were already published there: nothing was sent.
    ALREADY_THERE = "already there"
    FAILED = "failed"
    #: Its task was cancelled (by this client giving up on it, or by someone else), or the
    #: batch was interrupted before the file was done.
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class FileResult:
    """The outcome of one item: its result when published, else the error's message."""

    item: UploadItem
    outcome: Outcome
    result: UploadResult | None = None
    error: str | None = None
    #: The exception behind FAILED or CANCELLED, for callers that branch on it.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        document: dict[str, object] = {
            "path": self.item.path,
            "store_path": self.item.store_path,
            "outcome": self.outcome.value,
        }
        if self.result is not None:
            document["result"] = self.result.to_json()
        if self.error is not None:
            document["error"] = self.error
        return document


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Every file's outcome, and the totals."""

    files: tuple[FileResult, ...]
    elapsed_seconds: float

    def count(self, outcome: Outcome) -> int:
        return sum(1 for f in self.files if f.outcome is outcome)

    @property
    def uploaded(self) -> int:
        return self.count(Outcome.UPLOADED)

    @property
    def already_there(self) -> int:
        return self.count(Outcome.ALREADY_THERE)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def cancelled(self) -> int:
        return self.count(Outcome.CANCELLED)

    @property
    def ok(self) -> bool:
        """Every file is published (uploaded now or already there)."""
        return self.failed == 0 and self.cancelled == 0

    @property
    def bytes_sent(self) -> int:
        return sum(f.result.bytes_sent for f in self.files if f.result is not None)

    @property
    def bytes_published(self) -> int:
        return sum(f.result.size for f in self.files if f.result is not None)

    @property
    def rate(self) -> float:
        """Bytes sent per second over the whole batch."""
        return self.bytes_sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "uploaded": self.uploaded,
            "already_there": self.already_there,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "bytes_sent": self.bytes_sent,
            "bytes_published": self.bytes_published,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "rate": round(self.rate, 1),
            "files": [f.to_json() for f in self.files],
        }


def outcome_of(result: UploadResult, *, sent_whole: bool) -> Outcome:
    """ALREADY_THERE when the file was found published: a file sent whole in one request that
    the server answered ``resumed`` (the same bytes were there; the request carries them
    anyway), or a call that continued a task and had nothing to send. Else UPLOADED."""
    if result.resumed and (sent_whole or result.bytes_sent == 0):
        return Outcome.ALREADY_THERE
    return Outcome.UPLOADED


def store_path_under(prefix: str, relative: Sequence[str]) -> str:
    """The store_path of a file at ``relative`` (path components) under the destination
    ``prefix`` (``""``, or ending with ``/``)."""
    return prefix + "/".join(relative)


def is_prefix(destination: str) -> bool:
    """Whether ``destination`` names a directory-like prefix (ends with ``/``) or nothing."""
    return destination == "" or destination.endswith("/")


class PlanError(ValueError):
    """The sources cannot be planned as given (e.g. a directory without ``recursive``)."""


def plan_sources(
    sources: Iterable[str | os.PathLike[str]], destination: str, *, recursive: bool
) -> list[UploadItem]:
    """The items for ``sources`` going under ``destination``.

    ``destination`` ending with ``/`` is a prefix: a file keeps its name under it, a directory
    (with ``recursive``) keeps its own name and the relative paths of its files, as ``cp -r``
    does. Otherwise it is the store_path of the one source, which must be a file. Files
    inside a directory that are not regular (FIFOs, sockets, devices, broken symbolic links)
    are planned too, so that each fails on its own with its path; symbolic links to
    directories are not followed.
    """
    paths = [os.fspath(s) for s in sources]
    if not is_prefix(destination):
        if len(paths) != 1:
            raise PlanError(
                f"several sources need a destination ending with '/' (not {destination!r})"
            )
        if Path(paths[0]).is_dir():
            raise PlanError(_directory_hint(paths[0], recursive, destination))
        return [UploadItem(paths[0], destination)]
    items: list[UploadItem] = []
    for source in paths:
        if not Path(source).is_dir():
            items.append(UploadItem(source, store_path_under(destination, [Path(source).name])))
            continue
        if not recursive:
            raise PlanError(_directory_hint(source, recursive, destination))
        root = Path(source)
        top = root.resolve().name if root.name in ("", ".", "..") else root.name
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            relative = Path(folder).relative_to(root).parts
            for name in sorted(files):
                parts = [top, *relative, name]
                items.append(
                    UploadItem(str(Path(folder) / name), store_path_under(destination, parts))
                )
    return items


def _directory_hint(source: str, recursive: bool, destination: str) -> str:
    if not recursive:
        return f"{source} is a directory: use -r/--recursive to upload the files in it"
    return f"{source} is a directory: its destination must end with '/' (not {destination!r})"
