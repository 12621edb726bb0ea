"""The principals file: service tokens (stored as their SHA-256) and client-certificate
identities, each mapped to a principal, its permissions and its store_path prefixes, and each
principal's webhook settings; re-read when the file changes.

The file is TOML::

    [[token]]
    principal = "billing-backend"
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    permissions = ["create", "upload", "read", "control"]
    prefixes = ["billing"]

    [[certificate]]
    identity = "spiffe://example.org/ingest"   # a SAN URI, a SAN DNS name or the subject CN
    principal = "ingest"
    permissions = ["create", "upload", "read"]
    prefixes = ["ingest/incoming"]

    [[principal]]                # settings of a principal, however it authenticates (JWT too)
    name = "billing-backend"
    webhook_url = "https://billing.example.com/ferry/done"      # its tasks' notices go here
    webhook_allow = ["https://billing.example.com/ferry/"]     # URLs CreateTask may give
    webhook_secret_file = "billing-webhook.secret"   # signs its notices (relative: to this file)

``ferry token`` prints a new ``[[token]]`` entry with a fresh token's hash.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry_server.domain.identity import Caller, CredentialKind, Permission
from ferry_server.domain.webhook_targets import WebhookRoute, WebhookUrlInvalid, parse_webhook_url
from ferry_server.operations.webhooks import check_secret

log = logging.getLogger("ferry.auth")

#: Seconds between two looks at the file's modification time.
POLL_SECONDS = 1.0
#: Service tokens start with this, so that people and secret scanners recognise them.
SERVICE_TOKEN_PREFIX = "fst_"


class PrincipalsFileError(ValueError):
    """The principals file cannot be read or is malformed; the message says where."""


def token_sha256(token: str) -> str:
    """The stored form of a token: its SHA-256 as 64 lowercase hex digits. A token is 256
    random bits, so an unsalted fast hash is enough: nothing can be guessed from it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principals:
    """One reading of the file."""

    tokens: Mapping[str, Caller]
    certificates: Mapping[str, Caller]
    #: ``[[principal]]`` entries' webhook settings, by principal.
    webhooks: Mapping[str, WebhookRoute]
    #: The secrets of the ``[[principal]]`` entries with a ``webhook_secret_file``.
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)


def parse_principals(text: str, source: str, *, base: Path | None = None) -> Principals:
    """The entries of a principals file's ``text``; PrincipalsFileError if malformed.
    Relative secret file names are taken from ``base`` (the file's directory)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PrincipalsFileError(f"{source}: not valid TOML: {exc}") from exc
    unknown = set(document) - {"token", "certificate", "principal"}
    if unknown:
        raise PrincipalsFileError(
            f"{source}: unknown table(s) {sorted(unknown)}; expected [[token]], [[certificate]] "
            "and [[principal]]"
        )
    tokens: dict[str, Caller] = {}
    for number, entry in enumerate(_entries(document, "token", source), 1):
        where = f"{source}: [[token]] #{number}"
        digest = _string(entry, "sha256", where).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise PrincipalsFileError(f"{where}: sha256 must be 64 hexadecimal digits")
        if digest in tokens:
            raise PrincipalsFileError(f"{where}: the same sha256 appears twice")
        tokens[digest] = _caller(entry, where, CredentialKind.SERVICE_TOKEN, {"sha256"})
    certificates: dict[str, Caller] = {}
    for number, entry in enumerate(_entries(document, "certificate", source), 1):
        where = f"{source}: [[certificate]] #{number}"
        identity = _string(entry, "identity", where)
        if identity in certificates:
            raise PrincipalsFileError(f"{where}: identity {identity!r} appears twice")
        certificates[identity] = _caller(entry, where, CredentialKind.CERTIFICATE, {"identity"})
    webhooks: dict[str, WebhookRoute] = {}
    secrets: dict[str, str] = {}
    for number, entry in enumerate(_entries(document, "principal", source), 1):
        where = f"{source}: [[principal]] #{number}"
        name, route = _webhook_route(entry, where)
        if name in webhooks:
            raise PrincipalsFileError(f"{where}: principal {name!r} appears twice")
        webhooks[name] = route
        if "webhook_secret_file" in entry:
            secrets[name] = _webhook_secret(entry, where, base or Path.cwd())
    return Principals(tokens, certificates, webhooks, secrets)


def _webhook_secret(entry: Mapping[str, Any], where: str, base: Path) -> str:
    """The secret in the entry's ``webhook_secret_file`` (kept out of the principals file, which
    holds no secret, only hashes)."""
    path = base / _string(entry, "webhook_secret_file", where)
    try:
        secret = path.read_text(encoding="utf-8").strip()
        check_secret(secret)
    except (OSError, ValueError) as exc:
        raise PrincipalsFileError(
            f"{where}: cannot use the webhook secret in {path}: {exc} (expected whsec_ "
            "followed by base64)"
        ) from None
    return secret


def _webhook_route(entry: Mapping[str, Any], where: str) -> tuple[str, WebhookRoute]:
    """A ``[[principal]]`` entry: its name and webhook settings."""
    unknown = set(entry) - {"name", "webhook_url", "webhook_allow", "webhook_secret_file"}
    if unknown:
        raise PrincipalsFileError(f"{where}: unknown key(s) {sorted(unknown)}")
    name = _string(entry, "name", where)
    try:
        url = (
            parse_webhook_url(_string(entry, "webhook_url", where)).text
            if "webhook_url" in entry
            else None
        )
        allow = tuple(
            parse_webhook_url(prefix, prefix=True)
            for prefix in _strings(entry, "webhook_allow", where)
        )
    except WebhookUrlInvalid as exc:
        raise PrincipalsFileError(f"{where}: a webhook URL or prefix {exc}") from None
    return name, WebhookRoute(url, allow)


def _entries(document: Mapping[str, Any], name: str, source: str) -> list[Mapping[str, Any]]:
    entries = document.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PrincipalsFileError(f"{source}: {name} must be an array of tables ([[{name}]])")
    return entries


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise PrincipalsFileError(f"{where}: {key} must be a non-empty string")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PrincipalsFileError(f"{where}: {key} must be an array of strings")
    return value


def _caller(entry: Mapping[str, Any], where: str, kind: CredentialKind, own: set[str]) -> Caller:
    unknown = set(entry) - own - {"principal", "permissions", "prefixes"}
    if unknown:
        raise PrincipalsFileError(f"{where}: unknown key(s) {sorted(unknown)}")
    principal = _string(entry, "principal", where)
    if len(principal) > 255:
        raise PrincipalsFileError(f"{where}: principal is longer than 255 characters")
    try:
        permissions = Permission.parse(_strings(entry, "permissions", where), source=where)
    except ValueError as exc:
        raise PrincipalsFileError(str(exc)) from exc
    return Caller(principal, permissions, tuple(_strings(entry, "prefixes", where)), kind=kind)


class PrincipalsFile:
    """The principals file, re-read when its modification time, size or inode changes
    (looked at at most once a second, on use) or on :meth:`reload` (SIGHUP).

    A file that became malformed is refused with an ERROR and the last good reading stays in
    force, as a configuration reload does elsewhere; fixing the file takes effect at once.
    """

    def __init__(self, path: Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._path = path
        self._poll = poll_seconds
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._current = self._read()

    @property
    def path(self) -> Path:
        return self._path

    def _read(self) -> Principals:
        """Read and parse the file now (PrincipalsFileError if it cannot be)."""
        try:
            stat = self._path.stat()
            text = self._path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PrincipalsFileError(
                f"cannot read the principals file {self._path}: {exc}"
            ) from exc
        principals = parse_principals(text, str(self._path), base=self._path.parent)
        self._stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        self._checked = time.monotonic()
        return principals

    def reload(self) -> None:
        """Read the file again now, keeping the last good reading if it is malformed."""
        with self._lock:
            self._reload_locked()

    def _reload_locked(self) -> None:
        problem = self._try_read()
        if problem is not None:
            log.error("principals file not reloaded, the previous one stays in force: %s", problem)
            return
        log.info(
            "principals file %s loaded: %d token(s), %d certificate identity(ies), "
            "%d principal setting(s)", self._path, len(self._current.tokens),
            len(self._current.certificates), len(self._current.webhooks),
        )  # fmt: skip

    def _try_read(self) -> str | None:
        """Read the file into the entries in force; what went wrong, or None."""
        try:
            self._current = self._read()
        except PrincipalsFileError as exc:
            # Looked at again only once it changes: one ERROR per bad edit, not per call.
            self._checked = time.monotonic()
            return str(exc)
        return None

    def current(self) -> Principals:
        """The entries in force, re-read first if the file changed."""
        if time.monotonic() - self._checked < self._poll:
            return self._current
        with self._lock:
            if time.monotonic() - self._checked >= self._poll:
                self._checked = time.monotonic()
                if self._changed():
                    self._reload_locked()
            return self._current

    def _changed(self) -> bool:
        try:
            stat = self._path.stat()
        except OSError:
            # Removed or unreadable for a moment (an editor's rename): keep what is in force.
            return False
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True

    def by_token(self, token: str) -> Caller | None:
        return self.current().tokens.get(token_sha256(token))

    def webhook_route(self, principal: str) -> WebhookRoute | None:
        """The webhook settings of ``principal``'s ``[[principal]]`` entry, None without one."""
        return self.current().webhooks.get(principal)

    def webhook_secret(self, principal: str) -> str | None:
        """The secret that signs ``principal``'s notices, None for the server's."""
        return self.current().webhook_secrets.get(principal)

    def by_certificate(self, identities: tuple[str, ...]) -> Caller | None:
        """The entry of the first of a certificate's ``identities`` the file names."""
        certificates = self.current().certificates
        for identity in identities:
            found = certificates.get(identity)
            if found is not None:
                return found
        return None
