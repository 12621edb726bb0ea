"""Who is calling and what they may do: the caller's principal, permissions, store_path
prefixes and task scope, and the authorization rules every use case applies to them.

Authentication (turning a token or a certificate into a :class:`Caller`) lives in
``ferry_server.identity``; the rules here decide, given a caller, whether a request is allowed.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from ferry_server.domain.errors import PermissionDenied
from ferry_server.domain.inputs import shown
from ferry_server.domain.model import Task


class Permission(enum.StrEnum):
    """What a principal may do; a credential lists its permissions by these names."""

    #: Declare tasks (CreateTask, UploadFile) under the caller's prefixes, and issue upload
    #: tokens for its own tasks (IssueUploadToken).
    CREATE = "create"
    #: Send blocks to, query and merge the caller's own tasks.
    UPLOAD = "upload"
    #: Read the caller's own tasks (GetTask, QueryMissingBlocks).
    READ = "read"
    #: Pause, resume and cancel the caller's own tasks (SetState).
    CONTROL = "control"
    #: Replace a published file (``overwrite`` on CreateTask and UploadFile).
    OVERWRITE = "overwrite"
    #: Read, pause, resume and cancel any principal's tasks.
    OPERATOR = "operator"

    @classmethod
    def parse(cls, names: Iterable[str], *, source: str) -> frozenset[Permission]:
        """``names`` as permissions; an unknown name is a ValueError naming ``source``."""
        found = set()
        for name in names:
            try:
                found.add(cls(name))
            except ValueError:
                known = ", ".join(p.value for p in cls)
                raise ValueError(
                    f"{source}: unknown permission {name!r} (known: {known})"
                ) from None
        return frozenset(found)


ALL_PERMISSIONS = frozenset(Permission)
#: What an upload token allows, on its one task.
UPLOAD_TOKEN_PERMISSIONS = frozenset({Permission.UPLOAD, Permission.READ})
ANONYMOUS = "anonymous"


class CredentialKind(enum.StrEnum):
    """How a caller proved who it is (for logs and for the rules on upload tokens)."""

    ANONYMOUS = "anonymous"
    SERVICE_TOKEN = "service token"
    JWT = "JWT"
    UPLOAD_TOKEN = "upload token"
    CERTIFICATE = "client certificate"


def normalize_prefix(prefix: str) -> str:
    """A store_path prefix as a directory, without slashes at its ends; "" is the whole
    storage root."""
    return prefix.strip("/")


def within(store_path: str, prefix: str) -> bool:
    """Whether ``store_path`` lies in the directory ``prefix`` (normalized): ``a/b`` holds
    ``a/b/c`` and is no prefix of ``a/bc``."""
    return not prefix or store_path == prefix or store_path.startswith(prefix + "/")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one RPC.

    Attributes:
        principal: who it is; tasks belong to the principal that declared them.
        permissions: what it may do.
        prefixes: the store_path directories it may write under ("" for all of them).
        task_id: for an upload token, the one task it may touch; None otherwise.
        kind: how it authenticated.
    """

    principal: str
    permissions: frozenset[Permission]
    prefixes: tuple[str, ...] = ("",)
    task_id: str | None = None
    kind: CredentialKind = CredentialKind.ANONYMOUS
    #: Prefixes normalized once.
    _dirs: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dirs", tuple(normalize_prefix(p) for p in self.prefixes))

    @property
    def is_operator(self) -> bool:
        return Permission.OPERATOR in self.permissions

    def require(self, permission: Permission, action: str) -> None:
        """Raise PermissionDenied unless the caller has ``permission`` (``action`` says what
        was refused, for the message)."""
        if permission not in self.permissions:
            raise PermissionDenied(
                f"principal {shown(self.principal)} may not {action}: its {self.kind} lacks "
                f"the {permission.value!r} permission",
                facts={"permission": permission.value},
            )

    def require_any(self, permissions: Iterable[Permission], action: str) -> None:
        wanted = tuple(permissions)
        if not self.permissions.intersection(wanted):
            names = " or ".join(repr(p.value) for p in wanted)
            raise PermissionDenied(
                f"principal {shown(self.principal)} may not {action}: its {self.kind} lacks "
                f"the {names} permission",
                facts={"permission": wanted[0].value},
            )

    def require_path(self, store_path: str, action: str = "write to") -> None:
        """Raise PermissionDenied unless ``store_path`` lies under one of the caller's
        prefixes (``action``: what the caller wants to do there, for the message). Checked
        before anything is looked up, so nothing outside them is revealed."""
        if self.task_id is not None:
            raise PermissionDenied(
                "an upload token reaches only its own task, by its id: it cannot "
                f"{action} a store_path (principal {shown(self.principal)})"
            )
        if not any(within(store_path, prefix) for prefix in self._dirs):
            allowed = ", ".join(repr(p + "/") for p in self._dirs) or "nowhere"
            raise PermissionDenied(
                f"principal {shown(self.principal)} may not {action} store_path "
                f"{shown(store_path)}: only under {allowed}"
            )

    def owns(self, task: Task) -> bool:
        """Whether ``task`` is the caller's own (and, for an upload token, its task)."""
        if self.task_id is not None and task.task_id != self.task_id:
            return False
        return task.principal == self.principal

    def sees(self, task: Task, *, as_operator: bool) -> bool:
        """Whether the caller may see ``task`` at all: its own, or any when ``as_operator``
        and the caller is an operator. Any other task reads as unknown (NOT_FOUND)."""
        return self.owns(task) or (as_operator and self.is_operator and self.task_id is None)


#: The caller of a server without any credential configured: one principal that may do
#: everything (the server then listens on loopback only unless told otherwise).
ANONYMOUS_CALLER = Caller(ANONYMOUS, ALL_PERMISSIONS)


#: Upload tokens start with this: the server tells them from other bearer tokens by it, and
#: people and secret scanners recognise them.
UPLOAD_TOKEN_PREFIX = "fut_"


def new_upload_token() -> tuple[str, str]:
    """A fresh upload token (256 random bits) and its SHA-256, the only form stored."""
    token = UPLOAD_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, upload_token_sha256(token)


def upload_token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
