"""The server's TLS credentials, read from PEM files and reloaded without a restart.

gRPC asks :meth:`ReloadingCertificates.fetch` before each TLS handshake
(``grpc.dynamic_ssl_server_credentials``); it answers with new certificates when the files
changed (their size, time or inode) or a reload was asked for (SIGHUP), else with ``None``
(keep the current ones). A half-written or mismatched pair is not taken: the certificates in
use stay, and a warning says why, so a renewal written file by file never breaks the server.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from pathlib import Path

import grpc

log = logging.getLogger("ferry.tls")


class TlsFilesInvalid(ValueError):
    """The certificate, key or client CA files cannot be used; the message says which."""


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        # A file being replaced may be missing for an instant: that is a change too.
        return (0, 0, 0)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class ReloadingCertificates:
    """Server credentials over ``cert``/``key`` (and ``client_ca`` for mutual TLS)."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None) -> None:
        self._cert = cert
        self._key = key
        self._client_ca = client_ca
        self._lock = threading.Lock()
        self._forced = False
        self._stamps = self._current_stamps()
        self._initial = self._load()

    def credentials(self) -> grpc.ServerCredentials:
        """Credentials for ``add_secure_port``; with a client CA, clients must present a
        certificate it signed."""
        return grpc.dynamic_ssl_server_credentials(
            self._initial,
            # gRPC's C core takes None as "keep the current certificates" (the stubs say
            # otherwise).
            self.fetch,  # type: ignore[arg-type]
            require_client_authentication=self._client_ca is not None,
        )

    def reload(self) -> None:
        """Read the files again before the next handshake even if they look unchanged."""
        with self._lock:
            self._forced = True

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """New certificates when the files changed (or a reload was asked for), else None."""
        stamps = self._current_stamps()
        with self._lock:
            if not self._forced and stamps == self._stamps:
                return None
            self._forced = False
            self._stamps = stamps
        try:
            configuration = self._load()
        except TlsFilesInvalid as exc:
            log.warning("TLS certificates not reloaded, the previous ones stay in use: %s", exc)
            return None
        log.info("TLS certificates reloaded from %s", self._cert)
        return configuration

    def _current_stamps(self) -> tuple[tuple[int, int, int], ...]:
        paths = (self._cert, self._key) + ((self._client_ca,) if self._client_ca else ())
        return tuple(_stamp(path) for path in paths)

    def _load(self) -> grpc.ServerCertificateConfiguration:
        """The files as a configuration, checked first with OpenSSL: the key must match the
        certificate, and the client CA must parse."""
        try:
            cert, key = self._cert.read_bytes(), self._key.read_bytes()
            ca = self._client_ca.read_bytes() if self._client_ca is not None else None
        except OSError as exc:
            raise TlsFilesInvalid(f"cannot read {exc.filename}: {exc.strerror}") from exc
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(os.fspath(self._cert), os.fspath(self._key))
        except ssl.SSLError as exc:
            raise TlsFilesInvalid(
                f"{self._cert} and {self._key} are not a PEM certificate and its key "
                f"({exc.reason or exc})"
            ) from exc
        if ca is not None:
            try:
                context.load_verify_locations(cadata=ca.decode("ascii"))
            except (ssl.SSLError, UnicodeDecodeError) as exc:
                raise TlsFilesInvalid(
                    f"{self._client_ca} is not a PEM bundle of CA certificates ({exc})"
                ) from exc
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)
