"""The server's settings: one frozen, validated object built once at start-up."""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ferry_server.domain.part_size import s3_bounds
from ferry_server.domain.webhook_targets import WebhookUrlInvalid, parse_webhook_url
from ferry_server.identity.jwt_tokens import ASYMMETRIC_ALGORITHMS
from ferry_server.storage.s3location import InvalidLocation, S3Location

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

#: Block sizes must be a multiple of this, so blocks align with pages and messages.
BLOCK_ALIGNMENT = 64 * KiB
#: Most data bytes one UploadParts message may carry (DESIGN: "at most ~1 MiB a message").
MAX_MESSAGE_DATA = 1 * MiB
#: gRPC's own receive limit: room for one full data message plus its header fields.
MAX_RECEIVE_MESSAGE = 2 * MiB


_FAULT = re.compile(r"[a-z-]+:(kill|stop|sleep=\d+(\.\d+)?)")


class SettingsError(ValueError):
    """A setting is out of its allowed range; the message says which and why."""


def _check_address(name: str, value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise SettingsError(f"{name}={value!r}: expected HOST:PORT")


def split_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (a validated setting) as its host, brackets removed, and port."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with. Build once; pass down."""

    data_dir: Path = Path("ferry-data")
    listen: str = "127.0.0.1:50051"
    #: Where published files go; defaults to ``<data_dir>/files``.
    storage_root: Path | None = None
    #: Any SQLAlchemy URL; defaults to SQLite (WAL) at ``<data_dir>/ferry.db``.
    database_url: str | None = None
    default_block_size: int = 8 * MiB
    min_block_size: int = 256 * KiB
    max_block_size: int = 64 * MiB
    max_file_size: int = 1 * TiB
    fsync: bool = True
    log_level: str = "INFO"
    #: An UPLOADING or PAUSED task idle this long expires.
    task_ttl_seconds: float = 7 * 24 * 3600.0
    #: How often the expiry sweep runs.
    sweep_interval_seconds: float = 60.0
    #: How long a task's merge lease lasts unrenewed: the holder renews it every third of
    #: this while it works; a crashed or stalled holder's merge is taken over after it.
    merge_lease_seconds: float = 30.0
    #: An attempt file (a block being received) not written for this long and not committed
    #: is an orphan the sweeper deletes.
    orphan_age_seconds: float = 3600.0
    #: Seconds an ended task's row is kept (its block rows go as soon as it ends); then the
    #: task is forgotten: GetTask answers NOT_FOUND and a resend publishes again.
    retention_seconds: float = 30 * 24 * 3600.0
    #: Like a umask: published files get mode 0666 with these bits cleared (0644 by default).
    published_umask: int = 0o022
    #: Where a task's completion notice is POSTed (http or https) when its principal has no
    #: ``webhook_url`` of its own in the principals file; empty: such tasks send none.
    webhook_url: str = ""
    #: File holding the webhooks' signing secret (Standard Webhooks: ``whsec_`` + base64).
    webhook_secret_file: Path | None = None
    #: Allow webhooks to loopback, private and link-local addresses (refused otherwise).
    webhook_allow_private: bool = False
    #: Seconds one POST may take, connecting included.
    webhook_timeout_seconds: float = 10.0
    #: Seconds a notice is retried (capped backoff with jitter) before it is undeliverable.
    webhook_retry_seconds: float = 24 * 3600.0
    #: Seconds between the delivery loop's looks at the outbox.
    webhook_poll_seconds: float = 1.0
    #: Seconds between a replica's looks at the tasks watched through it (WatchTask).
    watch_interval_seconds: float = 0.5
    #: Test only: ``POINT:ACTION`` makes the server kill itself (``kill``), stop itself
    #: (``stop``, SIGSTOP) or sleep (``sleep=SECONDS``) when it reaches POINT (e.g.
    #: ``merge-before-publish``). Empty: no fault.
    test_fault: str = ""
    #: Threads for blocking work (disk, SQL); RPCs wait on the event loop and hold one only
    #: while such work runs for them. The SQL connection pool is sized to match.
    blocking_threads: int = 64
    #: Most UploadParts streams open at once; beyond it a new one is refused (OVERLOADED).
    max_streams: int = 4096
    #: An UploadParts stream that sends nothing for this long while the server owes it no
    #: acknowledgement is ended (UNAVAILABLE, STREAM_IDLE).
    stream_idle_timeout_seconds: float = 60.0
    #: Bytes gRPC reads ahead on a stream beyond the message it is reading. 0: gRPC's own
    #: flow control, whose BDP probing grows a busy stream's window to several MiB (a long
    #: link needs that); a bound (e.g. 64 KiB) turns the probing off and caps what a replica
    #: buffers for many busy streams, at the cost of one message in flight per stream.
    stream_lookahead_bytes: int = 0
    #: Seconds to let in-flight RPCs finish on SIGTERM/SIGINT.
    shutdown_grace_seconds: float = 10.0
    #: PostgreSQL: seconds to open a connection (libpq connect_timeout).
    db_connect_timeout_seconds: float = 5.0
    #: PostgreSQL: seconds one statement may run (statement_timeout, enforced by the server).
    db_statement_timeout_seconds: float = 10.0
    #: PostgreSQL: seconds one use of a connection may take before Ferry cuts and discards it.
    db_call_timeout_seconds: float = 15.0
    #: PostgreSQL: seconds sent data may stay unacknowledged (tcp_user_timeout).
    db_tcp_user_timeout_seconds: float = 10.0
    #: PostgreSQL: seconds of silence before TCP keepalive probes, and between them.
    db_keepalive_seconds: float = 5.0
    #: Connections one replica keeps open to the database (SQLAlchemy pool_size). None (the
    #: default): blocking_threads + 2, one for every blocking thread plus the background work.
    #: A set value must leave db_pool_size + db_max_overflow >= blocking_threads + 2; to bound
    #: a replica's connections lower --blocking-threads (see docs/design.md, "Scale").
    db_pool_size: int | None = None
    #: Connections opened beyond db_pool_size under load, closed again when returned.
    db_max_overflow: int = 4
    #: Seconds a call waits for a free pooled connection before it is refused as OVERLOADED.
    db_pool_timeout_seconds: float = 5.0
    #: The database is reached through a transaction-mode pooler (PgBouncer): no server-side
    #: prepared statements, and the statement timeout is set per transaction (SET LOCAL).
    db_transaction_pooling: bool = False
    #: Where bytes go: "" for the filesystem (data dir and storage root), or
    #: ``s3://bucket/prefix`` for an S3-compatible object store (coming: validated only).
    storage: str = ""
    #: The object store's endpoint for stores other than AWS S3 (e.g. http://127.0.0.1:8333).
    s3_endpoint_url: str | None = None
    #: The object store's region; None: from the AWS chain (AWS_REGION, ~/.aws/config).
    s3_region: str | None = None
    #: Local spool of block attempts in object-store mode; defaults to ``<data_dir>/spool``.
    spool_dir: Path | None = None
    #: Most bytes the spool may hold at once.
    spool_bytes: int = 4 * GiB
    #: Seconds between the health probe's checks of the database (grpc.health.v1).
    health_interval_seconds: float = 5.0
    #: gRPC server reflection (grpcurl, grpcui); on unless turned off.
    reflection: bool = True
    #: ``HOST:PORT`` of the Prometheus endpoint (``/metrics``); empty: no endpoint.
    metrics_listen: str = ""
    #: ``text`` (for people) or ``json`` (one object per line, for log collectors).
    log_format: str = "text"
    #: TOML file of service tokens (as SHA-256) and client-certificate identities, each with
    #: its principal, permissions and prefixes; re-read on change and SIGHUP. None: none.
    principals_file: Path | None = None
    #: JWKS (a file, or an http(s) URL) whose keys verify JWT bearer tokens; "": no JWTs.
    jwt_jwks: str = ""
    #: The ``iss`` a JWT must carry (required with jwt_jwks).
    jwt_issuer: str = ""
    #: The ``aud`` a JWT must carry (required with jwt_jwks).
    jwt_audience: str = ""
    #: The JWT signing algorithms accepted (asymmetric only).
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256")
    #: Seconds of clock skew allowed on a JWT's exp/nbf/iat.
    jwt_leeway_seconds: float = 30.0
    #: Least seconds between two fetches of a JWKS URL for an unknown key id.
    jwks_refresh_seconds: float = 30.0
    #: Longest (and default) life of an upload token, in seconds.
    upload_token_ttl_seconds: float = 24 * 3600.0
    #: PEM certificate chain the server presents; with ``tls_key``, the server speaks TLS only.
    tls_cert: Path | None = None
    #: PEM private key of ``tls_cert``.
    tls_key: Path | None = None
    #: PEM bundle of the CAs that sign client certificates: set, every client must present a
    #: certificate one of them signed (mutual TLS).
    tls_client_ca: Path | None = None
    #: Listen on a non-loopback address without TLS and authentication (see
    #: :func:`insecure_exposure`). Off: such a server refuses to start.
    allow_insecure: bool = False
    #: Per principal: most tasks UPLOADING or PAUSED at once; 0 for no limit.
    quota_active_tasks: int = 0
    #: Per principal: most bytes its active tasks may declare in all (reserved, whether or not
    #: they have arrived yet); 0 for no limit.
    quota_staged_bytes: int = 0
    #: Per principal: most UploadParts streams open at once across all replicas; 0 for no limit.
    quota_streams: int = 0
    #: Bytes of the staging filesystem no declaration may count on: free space less this is
    #: what active tasks may reserve; blocks that would eat into it are refused (DISK_FULL).
    disk_reserve_bytes: int = 0
    #: Active tasks may reserve this many times the free space less the reserve (1: no
    #: overcommit; more trusts that not every declared upload is completed at once).
    disk_overcommit: float = 1.0
    #: How often a replica refreshes its count of open streams in SQL when ``quota_streams``
    #: is set; a count not refreshed for three times this is a dead replica's and ignored.
    stream_heartbeat_seconds: float = 10.0

    def __post_init__(self) -> None:
        for name in ("default_block_size", "min_block_size", "max_block_size"):
            value = getattr(self, name)
            if value <= 0 or value % BLOCK_ALIGNMENT:
                raise SettingsError(
                    f"{name}={value}: must be a positive multiple of {BLOCK_ALIGNMENT} bytes"
                )
        if not self.min_block_size <= self.default_block_size <= self.max_block_size:
            raise SettingsError(
                f"block sizes must satisfy min <= default <= max, got "
                f"{self.min_block_size} <= {self.default_block_size} <= {self.max_block_size}"
            )
        if self.max_block_size > 2**31 - 1:
            raise SettingsError("max_block_size must fit in 31 bits")
        for name in ("max_file_size", "stream_lookahead_bytes"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative")
        if self.max_file_size // self.min_block_size >= 2**32:
            raise SettingsError("max_file_size / min_block_size must stay below 2**32 blocks")
        if self.task_ttl_seconds <= 0 or self.sweep_interval_seconds <= 0:
            raise SettingsError("task_ttl_seconds and sweep_interval_seconds must be positive")
        if self.merge_lease_seconds <= 0:
            raise SettingsError("merge_lease_seconds must be positive")
        if self.shutdown_grace_seconds < 0:
            raise SettingsError("shutdown_grace_seconds must not be negative")
        for name in (
            "db_connect_timeout_seconds",
            "db_statement_timeout_seconds",
            "db_call_timeout_seconds",
            "db_tcp_user_timeout_seconds",
            "db_keepalive_seconds",
        ):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be positive")
        if self.db_call_timeout_seconds <= self.db_statement_timeout_seconds:
            raise SettingsError(
                "db_call_timeout_seconds must exceed db_statement_timeout_seconds, so that a "
                "slow statement is cancelled by the server before its connection is cut"
            )
        if self.orphan_age_seconds <= 0:
            raise SettingsError("orphan_age_seconds must be positive")
        if self.retention_seconds <= 0:
            raise SettingsError("retention_seconds must be positive")
        if not 0 <= self.published_umask <= 0o777:
            raise SettingsError(
                f"published_umask={self.published_umask:o}: expected octal bits within 0777"
            )
        if self.test_fault and not _FAULT.fullmatch(self.test_fault):
            raise SettingsError(
                f"test_fault={self.test_fault!r}: expected POINT:kill, POINT:stop or "
                "POINT:sleep=SECONDS"
            )
        if self.blocking_threads < 2:
            raise SettingsError("blocking_threads must be at least 2")
        if self.max_streams < 1:
            raise SettingsError("max_streams must be at least 1")
        if not self.stream_idle_timeout_seconds > 0:
            raise SettingsError("stream_idle_timeout_seconds must be positive")
        self._check_pool()
        if logging.getLevelName(self.log_level.upper()) not in range(0, 60):
            raise SettingsError(f"unknown log level {self.log_level!r}")
        _check_address("listen", self.listen)
        if self.metrics_listen:
            _check_address("metrics_listen", self.metrics_listen)
        if not self.health_interval_seconds > 0:
            raise SettingsError("health_interval_seconds must be positive")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"log_format={self.log_format!r}: expected text or json")
        self._validate_object_store()
        self._validate_webhooks()
        self._validate_identity()
        self._validate_tls()
        self._validate_quotas()

    def _validate_webhooks(self) -> None:
        for name in (
            "webhook_timeout_seconds",
            "webhook_retry_seconds",
            "webhook_poll_seconds",
            "watch_interval_seconds",
        ):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be positive")
        if not self.webhook_url:
            if self.webhook_secret_file is not None and self.principals_file is None:
                raise SettingsError(
                    "webhook_secret_file needs webhook_url, or a principals_file naming "
                    "principals' webhook URLs"
                )
            return
        try:
            parse_webhook_url(self.webhook_url)
        except WebhookUrlInvalid as exc:
            raise SettingsError(
                f"webhook_url={self.webhook_url!r}: expected http(s)://HOST[:PORT]/PATH; it {exc}"
            ) from None
        if self.webhook_secret_file is None:
            raise SettingsError("webhook_url needs webhook_secret_file: notices are always signed")

    def _validate_identity(self) -> None:
        if self.jwt_jwks and not (self.jwt_issuer and self.jwt_audience):
            raise SettingsError(
                "jwt_jwks needs jwt_issuer and jwt_audience: a JWT is accepted only from one "
                "issuer and for this service"
            )
        refused = set(self.jwt_algorithms) - ASYMMETRIC_ALGORITHMS
        if refused or not self.jwt_algorithms:
            raise SettingsError(
                f"jwt_algorithms: {sorted(refused) or 'none given'} not allowed; choose among "
                f"{', '.join(sorted(ASYMMETRIC_ALGORITHMS))} (never HS* or none: the keys of a "
                "JWKS are public)"
            )
        if self.jwt_leeway_seconds < 0 or self.jwks_refresh_seconds < 0:
            raise SettingsError("jwt_leeway_seconds and jwks_refresh_seconds must not be negative")
        if not 60 <= self.upload_token_ttl_seconds <= 366 * 24 * 3600:
            raise SettingsError("upload_token_ttl_seconds must be between 60 and a year")

    def _validate_quotas(self) -> None:
        for name in ("quota_active_tasks", "quota_staged_bytes", "quota_streams",
                     "disk_reserve_bytes"):  # fmt: skip
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative (0: no limit)")
        if not self.disk_overcommit >= 1.0:
            raise SettingsError("disk_overcommit must be at least 1")
        if not self.stream_heartbeat_seconds > 0:
            raise SettingsError("stream_heartbeat_seconds must be positive")

    def _validate_tls(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key go together: give both or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise SettingsError("tls_client_ca (mutual TLS) needs tls_cert and tls_key")
        for name in ("tls_cert", "tls_key", "tls_client_ca"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise SettingsError(f"{name}={str(path)!r}: no such file")

    @property
    def tls_configured(self) -> bool:
        """Whether the server speaks TLS (and only TLS)."""
        return self.tls_cert is not None

    @property
    def authentication_configured(self) -> bool:
        """Whether callers must prove who they are: a principals file or a JWKS (bearer tokens,
        certificate identities), or mutual TLS (a client certificate signed by
        ``tls_client_ca``). Else every caller is anonymous; the secure-by-default check
        (:func:`ferry_server.app.insecure_exposure`) relies on this."""
        return (
            self.principals_file is not None
            or bool(self.jwt_jwks)
            or self.tls_client_ca is not None
        )

    def _validate_object_store(self) -> None:
        if not self.storage:
            if self.s3_endpoint_url or self.s3_region:
                raise SettingsError("s3_endpoint_url and s3_region need storage=s3://BUCKET/...")
            return
        try:
            S3Location.parse(self.storage)
            s3_bounds(
                min_block_size=self.min_block_size,
                max_block_size=self.max_block_size,
                alignment=BLOCK_ALIGNMENT,
            )
        except (InvalidLocation, ValueError) as exc:
            raise SettingsError(f"storage={self.storage!r}: {exc}") from exc
        if self.s3_endpoint_url is not None:
            url = urlsplit(self.s3_endpoint_url)
            if url.scheme not in ("http", "https") or not url.hostname or url.path not in "/":
                raise SettingsError(
                    f"s3_endpoint_url={self.s3_endpoint_url!r}: expected http(s)://HOST[:PORT]"
                )
        if self.spool_bytes < self.max_block_size:
            raise SettingsError(
                f"spool_bytes={self.spool_bytes} must hold at least one block of "
                f"max_block_size={self.max_block_size}"
            )

    @property
    def resolved_storage_root(self) -> Path:
        return self.storage_root if self.storage_root is not None else self.data_dir / "files"

    @property
    def published_mode(self) -> int:
        """The permission bits of a published file."""
        return 0o666 & ~self.published_umask

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def object_store(self) -> S3Location | None:
        """The object store's bucket and prefix, None for the filesystem backend."""
        return S3Location.parse(self.storage) if self.storage else None

    @property
    def resolved_spool_dir(self) -> Path:
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "spool"

    def _check_pool(self) -> None:
        """The database pool must fit every blocking thread plus the background work."""
        if (self.db_pool_size is not None and self.db_pool_size < 1) or self.db_max_overflow < 0:
            raise SettingsError(
                "db_pool_size must be at least 1 and db_max_overflow must not be negative"
            )
        if self.db_pool_size is not None and (
            self.db_pool_size + self.db_max_overflow < self.blocking_threads + 2
        ):
            raise SettingsError(
                f"db_pool_size {self.db_pool_size} + db_max_overflow {self.db_max_overflow} "
                f"is below blocking_threads {self.blocking_threads} + 2: every blocking thread "
                "and the background work must find a connection; raise --db-pool-size or "
                "--db-max-overflow, or lower --blocking-threads (which also bounds a replica's "
                "database connections)"
            )
        if not self.db_pool_timeout_seconds > 0:
            raise SettingsError("db_pool_timeout_seconds must be positive")

    @property
    def effective_db_pool_size(self) -> int:
        """The pool's size: db_pool_size, or blocking_threads + 2 when unset."""
        if self.db_pool_size is None:
            return self.blocking_threads + 2
        return self.db_pool_size

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ferry.db').resolve()}"

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
