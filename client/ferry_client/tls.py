"""TLS for the client: which certificates to trust and present (:class:`TlsOptions`), and the
``grpcs://`` / ``https://`` target prefixes that ask for TLS."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

#: Target prefixes that mean TLS (with the system's trusted roots unless a CA is given).
TLS_SCHEMES = ("grpcs://", "https://")
#: Target prefixes that mean plaintext (the default for a bare HOST:PORT).
PLAINTEXT_SCHEMES = ("grpc://", "http://")


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How the client speaks TLS to the server.

    Args:
        ca_file: PEM bundle of the CAs that may sign the server's certificate; ``None`` for
            the system's trusted roots.
        cert_file: PEM certificate chain to present (mutual TLS), with ``key_file``.
        key_file: PEM private key of ``cert_file``.
    """

    ca_file: str | os.PathLike[str] | None = None
    cert_file: str | os.PathLike[str] | None = None
    key_file: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both or neither")

    def credentials(self) -> grpc.ChannelCredentials:
        """gRPC channel credentials; the files are read now (an unreadable one raises
        ``OSError`` naming it)."""
        root = Path(self.ca_file).read_bytes() if self.ca_file is not None else None
        chain = Path(self.cert_file).read_bytes() if self.cert_file is not None else None
        key = Path(self.key_file).read_bytes() if self.key_file is not None else None
        return grpc.ssl_channel_credentials(
            root_certificates=root, private_key=key, certificate_chain=chain
        )


def split_scheme(target: str) -> tuple[str, bool | None]:
    """``target`` without a ``grpcs://``-style prefix, and whether the prefix asked for TLS
    (``True``), plaintext (``False``) or neither was given (``None``)."""
    lowered = target.lower()
    for scheme in TLS_SCHEMES:
        if lowered.startswith(scheme):
            return target[len(scheme) :].rstrip("/"), True
    for scheme in PLAINTEXT_SCHEMES:
        if lowered.startswith(scheme):
            return target[len(scheme) :].rstrip("/"), False
    return target, None
