"""Task-scoped upload tokens: the bearer of one may upload to, query, read and merge one task,
as that task's principal, until the token expires. Tokens are random; SQL keeps only their
SHA-256 (``TaskRepository.find_upload_token``), so every replica knows every token at once and
removing a row revokes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ferry_server.domain.errors import Reason, Unauthenticated
from ferry_server.domain.identity import (
    UPLOAD_TOKEN_PERMISSIONS,
    Caller,
    CredentialKind,
    upload_token_sha256,
)
from ferry_server.domain.ports import TaskRepository


class UploadTokens:
    """Verifies upload tokens against SQL."""

    def __init__(self, repository: TaskRepository, clock: Callable[[], datetime]) -> None:
        self._repo = repository
        self._clock = clock

    def verify(self, token: str) -> Caller:
        """The caller scoped to the token's task, or Unauthenticated (TOKEN_EXPIRED once it
        expired: a client must not retry with it)."""
        grant = self._repo.find_upload_token(upload_token_sha256(token))
        if grant is None:
            raise Unauthenticated("unknown upload token (revoked, or never issued here)")
        if grant.expires_at <= self._clock():
            raise Unauthenticated(
                "the upload token has expired: ask whoever created the task for a new one "
                "(IssueUploadToken)",
                reason=Reason.TOKEN_EXPIRED,
            )
        return Caller(
            grant.principal,
            UPLOAD_TOKEN_PERMISSIONS,
            prefixes=(),
            task_id=grant.task_id,
            kind=CredentialKind.UPLOAD_TOKEN,
        )
