"""First contact with a server: wait until the channel is connected, within the connect timeout,
and when it is not, find out why with a plain socket (the name does not resolve, the connection
is refused or times out, an HTTP/1 server answers, TLS is spoken on one side only, the server's
certificate is not trusted or does not name the host, a client certificate is missing or
refused), so that an address that was never reachable fails at once with one line that names it,
the reason and, for TLS, what to change.

Only the first contact is judged here; once the client has talked to the server, losing it is a
transient failure for the retry policy.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import ssl
import threading
import time
from typing import Any

import grpc

from ferry_client.errors import CannotConnect, ServerUnreachable
from ferry_client.tls import TlsOptions

#: The HTTP/2 client preface and an empty SETTINGS frame: what a gRPC client sends first.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS_FRAME = 0x04
#: TLS record types a TLS server sends first: an alert (it could not parse plaintext) or a
#: handshake.
_TLS_RECORDS = (0x15, 0x16)


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """Why the address cannot be reached, and whether retrying later may help."""

    why: str
    retry_later: bool

    def error(self, address: str) -> CannotConnect:
        if self.retry_later:
            return ServerUnreachable(address, self.why)
        return CannotConnect(address, self.why)


def split_target(target: str) -> tuple[str, int] | None:
    """``(host, port)`` of a gRPC target (``host:port``, ``[v6]:port``, ``dns:///host:port``,
    ``ipv4:``/``ipv6:``); ``None`` for targets a plain socket cannot judge (``unix:``, lists)."""
    address = target
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if address.startswith(prefix):
            address = address[len(prefix) :]
            break
    if address.startswith("unix:") or "," in address:
        return None
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
    elif ":" in address:
        return None
    else:
        host, port_text = address, ""
    try:
        port = int(port_text) if port_text else 443
    except ValueError:
        return None
    return host, port


#: What to do when the server speaks TLS and the client does not.
PLAINTEXT_TO_TLS = (
    "the server speaks TLS but this client connected in plaintext: connect with TLS "
    "(--tls for the system's trusted CAs, or --tls-ca FILE; a grpcs:// address; "
    "FerryClient(tls=TlsOptions(...)))"
)


def diagnose(target: str, *, tls: bool | TlsOptions, timeout: float) -> Finding | None:
    """What a plain socket finds at ``target``; ``None`` when it finds nothing wrong (or
    cannot judge the target). ``tls``: whether the client speaks TLS, with its options when
    known (then the certificates are checked as the client would)."""
    parsed = split_target(target)
    if parsed is None:
        return None
    host, port = parsed
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        temporary = exc.errno == socket.EAI_AGAIN
        return Finding(f"cannot resolve {host!r} (DNS: {exc.strerror})", retry_later=temporary)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(sockaddr)
        except ConnectionRefusedError:
            return Finding("connection refused (is the server running?)", retry_later=True)
        except TimeoutError:
            return Finding(f"connection timed out after {timeout:.0f}s", retry_later=True)
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                return Finding("no route to host", retry_later=True)
            return Finding(f"cannot connect ({exc.strerror or exc})", retry_later=True)
        if tls is not False:
            finding = _judge_tls(sock, host, timeout)
            if finding is None and isinstance(tls, TlsOptions):
                return _judge_certificates(infos[0], host, tls, timeout)
            return finding or Finding(_TLS_FAILED, False)
        finding = _judge_plaintext(sock, timeout)
    finally:
        sock.close()
    if (
        finding is not None
        and finding.why.startswith(_NO_ANSWER)
        and _speaks_tls(infos[0], timeout)
    ):
        return Finding(PLAINTEXT_TO_TLS, False)
    return finding


#: How a plaintext finding starts when the server gave no HTTP/2 answer at all: a TLS server
#: (it drops the preface) is then tried for.
_NO_ANSWER = "no HTTP/2 answer"


def _speaks_tls(info: tuple[Any, ...], timeout: float) -> bool:
    """Whether a TLS handshake succeeds at the address (the certificate is not checked)."""
    family, kind, proto, _, sockaddr = info
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            with context.wrap_socket(sock):
                return True
    except OSError:
        return False


def _judge_plaintext(sock: socket.socket, timeout: float) -> Finding | None:
    try:
        sock.sendall(HTTP2_PREFACE)
        first = sock.recv(16)
    except TimeoutError:
        return Finding(f"{_NO_ANSWER} within {timeout:.0f}s: not a gRPC server?", False)
    except OSError as exc:
        return Finding(f"{_NO_ANSWER} ({exc.strerror or exc}): not a gRPC server?", False)
    if len(first) >= 2 and first[0] in _TLS_RECORDS and first[1] == 0x03:
        return Finding(PLAINTEXT_TO_TLS, False)
    if len(first) >= 4 and first[3] == _SETTINGS_FRAME:
        return None
    if not first:
        return Finding(f"{_NO_ANSWER} (the server closed the connection): not gRPC?", False)
    if first.startswith(b"HTTP/") or first.isascii():
        return Finding(
            "not a gRPC server: it answered in HTTP/1 or text, not HTTP/2 (Failed parsing HTTP/2)",
            False,
        )
    return Finding("not a gRPC server: it answered something other than HTTP/2", False)


_TLS_FAILED = (
    "the TLS handshake with gRPC failed (is the server's certificate trusted, and does it "
    "name this host?)"
)


def _judge_tls(sock: socket.socket, host: str, timeout: float) -> Finding | None:
    """Whether TLS is spoken at all (the certificate is not checked here)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            tls.settimeout(timeout)
    except ssl.SSLError as exc:
        return Finding(
            f"the client uses TLS but the server does not speak it ({exc.reason or exc}): "
            "connect in plaintext (no --tls/--tls-ca, no grpcs:// prefix) or configure TLS "
            "on the server (ferry serve --tls-cert/--tls-key)",
            False,
        )
    except OSError as exc:
        return Finding(f"the TLS handshake failed ({exc.strerror or exc})", False)
    return None


def _judge_certificates(
    info: tuple[Any, ...], host: str, options: TlsOptions, timeout: float
) -> Finding:
    """Handshake as the client does (its CA, its certificate, the host name checked) and say
    which part fails."""
    family, kind, proto, _, sockaddr = info
    context = ssl.create_default_context(
        cafile=None if options.ca_file is None else str(options.ca_file)
    )
    context.set_alpn_protocols(["h2"])
    if options.cert_file is not None and options.key_file is not None:
        context.load_cert_chain(str(options.cert_file), str(options.key_file))
    trust = (
        "pass the CA that signed it with --tls-ca"
        if options.ca_file is None
        else f"the CA that signed it is not in {options.ca_file}; pass a --tls-ca bundle holding it"
    )
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            with context.wrap_socket(sock, server_hostname=host) as tls:
                # TLS 1.3 servers refuse a client certificate after the handshake: the refusal
                # arrives as an alert on the first read.
                tls.sendall(HTTP2_PREFACE)
                answer = tls.recv(16)
    except ssl.SSLCertVerificationError as exc:
        detail = exc.verify_message or exc.reason or str(exc)
        if exc.verify_code in _NAME_MISMATCH:
            return Finding(
                f"TLS: the server's certificate does not name {host!r} ({detail}): connect by "
                "a name or address the certificate holds",
                False,
            )
        return Finding(
            f"TLS: the server's certificate is not trusted ({detail}): {trust} "
            "(TlsOptions(ca_file=...))",
            False,
        )
    except ssl.SSLError as exc:
        return _client_certificate_refused(options, str(exc.reason or exc))
    except OSError as exc:
        return Finding(f"TLS: the handshake failed ({exc.strerror or exc})", False)
    if not answer:
        # gRPC's server closes the connection without a word when it refuses the client.
        return _client_certificate_refused(options, "the server closed the connection")
    return Finding(_TLS_FAILED, False)


def _client_certificate_refused(options: TlsOptions, detail: str) -> Finding:
    if options.cert_file is None:
        return Finding(
            f"TLS: the server requires a client certificate (mutual TLS; {detail}): pass "
            "--tls-cert and --tls-key (TlsOptions(cert_file=..., key_file=...))",
            False,
        )
    return Finding(
        f"TLS: the server refused the client certificate ({detail}): it must be signed by a "
        "CA the server trusts (its --tls-client-ca)",
        False,
    )


#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = (62, 64)


class FirstContact:
    """Waits once for the channel to connect; every call goes through :meth:`ensure`, which
    costs a flag check once the client has been connected. Thread-safe."""

    def __init__(
        self, channel: grpc.Channel, target: str, *, tls: bool | TlsOptions, timeout: float
    ) -> None:
        self._channel = channel
        self._target = target
        self._tls = tls
        self._timeout = timeout
        self._lock = threading.Lock()
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def ensure(self) -> None:
        """Return once the channel has been connected at least once; else raise
        :class:`CannotConnect` (or :class:`ServerUnreachable`) within the connect timeout."""
        if self._connected:
            return
        with self._lock:
            if not self._connected:
                self._wait()
                self._connected = True

    def _wait(self) -> None:
        deadline = time.monotonic() + self._timeout
        changed = threading.Condition()
        states: list[grpc.ChannelConnectivity] = []

        def on_change(state: grpc.ChannelConnectivity) -> None:
            with changed:
                states.append(state)
                changed.notify_all()

        self._channel.subscribe(on_change, try_to_connect=True)
        try:
            seen = 0
            while True:
                with changed:
                    left = deadline - time.monotonic()
                    changed.wait(timeout=max(0.0, left)) if len(states) == seen else None
                    new, seen = states[seen:], len(states)
                if grpc.ChannelConnectivity.READY in new:
                    return
                left = deadline - time.monotonic()
                if grpc.ChannelConnectivity.TRANSIENT_FAILURE in new and left > 0:
                    finding = diagnose(self._target, tls=self._tls, timeout=min(left, 5.0))
                    if finding is not None:
                        raise finding.error(self._target)
                if deadline - time.monotonic() <= 0:
                    break
        finally:
            self._channel.unsubscribe(on_change)
        finding = diagnose(self._target, tls=self._tls, timeout=1.0)
        if finding is None or finding.retry_later:
            detail = f" ({finding.why})" if finding is not None else ""
            finding = Finding(f"no connection within {self._timeout:g}s{detail}", True)
        raise finding.error(self._target)
