"""``ferry serve``: settings from flags and ``FERRY_*`` environment variables, then run until a
signal; and ``ferry fsck``: check (and repair) SQL against storage."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from ferry_server.app import StartupError, create_server, run_fsck
from ferry_server.config import Settings, SettingsError
from ferry_server.domain.errors import Unavailable
from ferry_server.domain.identity import Permission
from ferry_server.identity.principals import (
    SERVICE_TOKEN_PREFIX,
    parse_principals,
    token_sha256,
)
from ferry_server.operations.logs import log_handler
from ferry_server.tuning import tune_malloc

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse ``8M``, ``256KiB``, ``1T`` or a plain byte count (binary units)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 8M, 256KiB or 1048576")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def _octal(value: str) -> int:
    """A umask-like octal number, e.g. ``022`` or ``0o027``."""
    try:
        return int(value.removeprefix("0o"), 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an octal number such as 022") from None


def _optional_int(value: object) -> int | None:
    """An integer setting whose unset value (None) means "derived from others"."""
    return None if value is None or value == "" else int(str(value))


def _env_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _add_pool_flags(
    add: Callable[..., object], default: Callable[[str, object], object], defaults: Settings
) -> None:
    """The database pool's flags (issue 12)."""
    add(
        "--db-pool-size",
        type=int,
        default=_optional_int(default("DB_POOL_SIZE", defaults.db_pool_size)),
        help="database connections a replica keeps open; size + overflow must be at least "
        "--blocking-threads + 2 [FERRY_DB_POOL_SIZE, --blocking-threads + 2]",
    )
    add(
        "--db-max-overflow",
        type=int,
        default=int(str(default("DB_MAX_OVERFLOW", defaults.db_max_overflow))),
        help="database connections opened beyond the pool under load [FERRY_DB_MAX_OVERFLOW, 4]",
    )
    add(
        "--db-pool-timeout",
        type=float,
        default=float(str(default("DB_POOL_TIMEOUT", defaults.db_pool_timeout_seconds))),
        help="seconds a call waits for a free database connection before it is refused "
        "(RESOURCE_EXHAUSTED, OVERLOADED) [FERRY_DB_POOL_TIMEOUT, 5]",
    )
    add(
        "--db-transaction-pooling",
        action="store_true",
        default=_env_bool(str(default("DB_TRANSACTION_POOLING", "false"))),
        help="PostgreSQL is reached through a transaction-mode pooler (PgBouncer): no "
        "server-side prepared statements, per-transaction settings "
        "[FERRY_DB_TRANSACTION_POOLING]",
    )


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    defaults = Settings()

    def default(name: str, fallback: object) -> object:
        return env.get(f"FERRY_{name}", fallback)

    parser = argparse.ArgumentParser(
        prog="ferry serve",
        description="Run a Ferry replica. Every flag has a FERRY_* environment variable.",
    )
    add = parser.add_argument
    add(
        "--listen",
        default=default("LISTEN", defaults.listen),
        help="HOST:PORT to listen on; port 0 picks a free one [FERRY_LISTEN, %(default)s]",
    )
    add(
        "--data-dir",
        type=Path,
        default=Path(str(default("DATA_DIR", defaults.data_dir))),
        help="staging files and the SQLite database [FERRY_DATA_DIR, %(default)s]",
    )
    add(
        "--storage-root",
        type=Path,
        default=default("STORAGE_ROOT", None),
        help="where published files go [FERRY_STORAGE_ROOT, <data dir>/files]",
    )
    add(
        "--database-url",
        default=default("DATABASE_URL", None),
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        "[FERRY_DATABASE_URL, SQLite in the data dir]",
    )
    add(
        "--block-size",
        type=parse_size,
        default=parse_size(str(default("BLOCK_SIZE", defaults.default_block_size))),
        help="default block size [FERRY_BLOCK_SIZE, 8M]",
    )
    add(
        "--min-block-size",
        type=parse_size,
        default=parse_size(str(default("MIN_BLOCK_SIZE", defaults.min_block_size))),
        help="smallest block size a client may ask for [FERRY_MIN_BLOCK_SIZE, 256K]",
    )
    add(
        "--max-block-size",
        type=parse_size,
        default=parse_size(str(default("MAX_BLOCK_SIZE", defaults.max_block_size))),
        help="largest block size a client may ask for [FERRY_MAX_BLOCK_SIZE, 64M]",
    )
    add(
        "--max-file-size",
        type=parse_size,
        default=parse_size(str(default("MAX_FILE_SIZE", defaults.max_file_size))),
        help="largest file a task may declare [FERRY_MAX_FILE_SIZE, 1T]",
    )
    add(
        "--no-fsync",
        action="store_true",
        default=_env_bool(str(default("NO_FSYNC", "false"))),
        help="skip fsync before acknowledging blocks: only for throw-away data [FERRY_NO_FSYNC]",
    )
    add(
        "--task-ttl",
        type=float,
        default=float(str(default("TASK_TTL", defaults.task_ttl_seconds))),
        help="seconds an idle task lives before it expires [FERRY_TASK_TTL, 604800]",
    )
    add(
        "--merge-lease",
        type=float,
        default=float(str(default("MERGE_LEASE", defaults.merge_lease_seconds))),
        help="seconds a merge lease lasts unrenewed; a crashed merger's task is taken over "
        "after it [FERRY_MERGE_LEASE, 30]",
    )
    add(
        "--orphan-age",
        type=float,
        default=float(str(default("ORPHAN_AGE", defaults.orphan_age_seconds))),
        help="seconds after its last write an uncommitted block attempt is swept "
        "[FERRY_ORPHAN_AGE, 3600]",
    )
    add(
        "--retention",
        type=float,
        default=float(str(default("RETENTION", defaults.retention_seconds))),
        help="seconds an ended task's row is kept for GetTask; its per-block rows go when it "
        "ends [FERRY_RETENTION, 2592000 = 30 days]",
    )
    add(
        "--published-umask",
        type=_octal,
        default=_octal(str(default("PUBLISHED_UMASK", f"{defaults.published_umask:03o}"))),
        help="permission bits cleared from 0666 on published files, like a umask "
        "[FERRY_PUBLISHED_UMASK, 022: files are 0644]",
    )
    add(
        "--webhook-url",
        default=default("WEBHOOK_URL", ""),
        help="POST a signed JSON notice here when a task ends, for principals without a "
        "webhook_url of their own in the principals file [FERRY_WEBHOOK_URL, none]",
    )
    add(
        "--webhook-secret-file",
        type=Path,
        default=default("WEBHOOK_SECRET_FILE", None),
        help="file with the signing secret, whsec_ + base64 (Standard Webhooks) "
        "[FERRY_WEBHOOK_SECRET_FILE]",
    )
    add(
        "--webhook-allow-private",
        action="store_true",
        default=_env_bool(str(default("WEBHOOK_ALLOW_PRIVATE", "false"))),
        help="allow webhooks to loopback, private and link-local addresses "
        "[FERRY_WEBHOOK_ALLOW_PRIVATE]",
    )
    add(
        "--webhook-timeout",
        type=float,
        default=float(str(default("WEBHOOK_TIMEOUT", defaults.webhook_timeout_seconds))),
        help="seconds one POST may take [FERRY_WEBHOOK_TIMEOUT, 10]",
    )
    add(
        "--webhook-retry-for",
        type=float,
        default=float(str(default("WEBHOOK_RETRY_FOR", defaults.webhook_retry_seconds))),
        help="seconds a notice is retried before it is recorded undeliverable "
        "[FERRY_WEBHOOK_RETRY_FOR, 86400]",
    )
    add(
        "--webhook-poll",
        type=float,
        default=float(str(default("WEBHOOK_POLL", defaults.webhook_poll_seconds))),
        help="seconds between looks at the notices due for delivery [FERRY_WEBHOOK_POLL, 1]",
    )
    add(
        "--watch-interval",
        type=float,
        default=float(str(default("WATCH_INTERVAL", defaults.watch_interval_seconds))),
        help="seconds between looks at the tasks watched through this replica (WatchTask) "
        "[FERRY_WATCH_INTERVAL, 0.5]",
    )
    add(
        "--test-fault",
        default=default("TEST_FAULT", ""),
        help="test only: POINT:kill|stop|sleep=S at a named point [FERRY_TEST_FAULT]",
    )
    add(
        "--blocking-threads",
        type=int,
        default=int(str(default("BLOCKING_THREADS", defaults.blocking_threads))),
        help="threads for blocking disk and SQL work (the SQL pool's default size is this "
        "+ 2); an idle stream holds none [FERRY_BLOCKING_THREADS, 64]",
    )
    add(
        "--max-streams",
        type=int,
        default=int(str(default("MAX_STREAMS", defaults.max_streams))),
        help="most upload streams open at once; more are refused RESOURCE_EXHAUSTED "
        "(OVERLOADED) with a retry delay [FERRY_MAX_STREAMS, 4096]",
    )
    add(
        "--stream-idle-timeout",
        type=float,
        default=float(str(default("STREAM_IDLE_TIMEOUT", defaults.stream_idle_timeout_seconds))),
        help="seconds an upload stream may send nothing while owed no acknowledgement before "
        "it is ended with UNAVAILABLE (STREAM_IDLE) [FERRY_STREAM_IDLE_TIMEOUT, 60]",
    )
    add(
        "--stream-lookahead",
        type=parse_size,
        default=parse_size(str(default("STREAM_LOOKAHEAD", defaults.stream_lookahead_bytes))),
        help="bytes gRPC reads ahead on each upload stream; 0: gRPC's own flow control, which "
        "grows a busy stream's window to several MiB (long links need it); e.g. 64K caps the "
        "memory thousands of busy streams take [FERRY_STREAM_LOOKAHEAD, 0]",
    )
    add(
        "--shutdown-grace",
        type=float,
        default=float(str(default("SHUTDOWN_GRACE", defaults.shutdown_grace_seconds))),
        help="on SIGTERM/SIGINT, seconds unary RPCs in flight may take to finish; upload "
        "streams are ended at once with UNAVAILABLE [FERRY_SHUTDOWN_GRACE, 10]",
    )
    add(
        "--db-connect-timeout",
        type=float,
        default=float(str(default("DB_CONNECT_TIMEOUT", defaults.db_connect_timeout_seconds))),
        help="PostgreSQL: seconds to open a connection [FERRY_DB_CONNECT_TIMEOUT, 5]",
    )
    add(
        "--db-statement-timeout",
        type=float,
        default=float(str(default("DB_STATEMENT_TIMEOUT", defaults.db_statement_timeout_seconds))),
        help="PostgreSQL: seconds one statement may run [FERRY_DB_STATEMENT_TIMEOUT, 10]",
    )
    add(
        "--db-call-timeout",
        type=float,
        default=float(str(default("DB_CALL_TIMEOUT", defaults.db_call_timeout_seconds))),
        help="PostgreSQL: seconds one use of a connection may take before it is cut and "
        "discarded [FERRY_DB_CALL_TIMEOUT, 15]",
    )
    add(
        "--db-tcp-user-timeout",
        type=float,
        default=float(str(default("DB_TCP_USER_TIMEOUT", defaults.db_tcp_user_timeout_seconds))),
        help="PostgreSQL: seconds sent data may stay unacknowledged "
        "[FERRY_DB_TCP_USER_TIMEOUT, 10]",
    )
    add(
        "--db-keepalive",
        type=float,
        default=float(str(default("DB_KEEPALIVE", defaults.db_keepalive_seconds))),
        help="PostgreSQL: seconds of silence before TCP keepalive probes [FERRY_DB_KEEPALIVE, 5]",
    )
    _add_pool_flags(add, default, defaults)
    add(
        "--log-level",
        default=default("LOG_LEVEL", defaults.log_level),
        help="DEBUG, INFO, WARNING or ERROR [FERRY_LOG_LEVEL, %(default)s]",
    )
    add(
        "--port-file",
        type=Path,
        default=default("PORT_FILE", None),
        help="write the bound port to this file once listening [FERRY_PORT_FILE]",
    )
    # The object-store backend (coming: these are validated, not yet used).
    add(
        "--storage",
        default=default("STORAGE", defaults.storage),
        help="s3://BUCKET/PREFIX for an S3-compatible object store (coming; refused for now) "
        "[FERRY_STORAGE, the filesystem]",
    )
    add(
        "--s3-endpoint-url",
        default=default("S3_ENDPOINT_URL", None),
        help="the object store's URL for stores other than AWS [FERRY_S3_ENDPOINT_URL]",
    )
    add(
        "--s3-region",
        default=default("S3_REGION", None),
        help="the object store's region [FERRY_S3_REGION, from the AWS chain]",
    )
    add(
        "--spool-dir",
        type=Path,
        default=default("SPOOL_DIR", None),
        help="local spool of blocks in object-store mode [FERRY_SPOOL_DIR, <data dir>/spool]",
    )
    add(
        "--spool-size",
        type=parse_size,
        default=parse_size(str(default("SPOOL_SIZE", defaults.spool_bytes))),
        help="most bytes the spool may hold [FERRY_SPOOL_SIZE, 4G]",
    )
    add(
        "--health-interval",
        type=float,
        default=float(str(default("HEALTH_INTERVAL", defaults.health_interval_seconds))),
        help="seconds between the health probe's checks of the database [FERRY_HEALTH_INTERVAL, 5]",
    )
    add(
        "--no-reflection",
        action="store_true",
        default=not _env_bool(str(default("REFLECTION", "true"))),
        help="turn gRPC server reflection off [FERRY_REFLECTION=0]",
    )
    add(
        "--metrics-listen",
        default=default("METRICS_LISTEN", defaults.metrics_listen),
        help="HOST:PORT for the Prometheus endpoint /metrics [FERRY_METRICS_LISTEN, off]",
    )
    add(
        "--log-format",
        choices=("text", "json"),
        default=default("LOG_FORMAT", defaults.log_format),
        help="text, or json: one object per line [FERRY_LOG_FORMAT, %(default)s]",
    )
    _add_identity_flags(add, default, defaults)
    _add_security_flags(add, default)
    return parser  # fmt: skip


def _add_identity_flags(
    add: Callable[..., object], default: Callable[[str, object], object], defaults: Settings
) -> None:
    """The identity flags (README, "Identity and permissions")."""
    add(
        "--principals-file",
        type=Path,
        default=default("PRINCIPALS_FILE", None),
        help="TOML file of service tokens (hashed) and client-certificate identities with "
        "their principal, permissions and prefixes; re-read on change or SIGHUP "
        "(ferry token prints an entry) [FERRY_PRINCIPALS_FILE, none]",
    )
    add(
        "--jwt-jwks",
        default=default("JWT_JWKS", defaults.jwt_jwks),
        help="JWKS file or http(s) URL verifying JWT bearer tokens [FERRY_JWT_JWKS, no JWTs]",
    )
    add(
        "--jwt-issuer",
        default=default("JWT_ISSUER", defaults.jwt_issuer),
        help="the iss a JWT must carry [FERRY_JWT_ISSUER]",
    )
    add(
        "--jwt-audience",
        default=default("JWT_AUDIENCE", defaults.jwt_audience),
        help="the aud a JWT must carry [FERRY_JWT_AUDIENCE]",
    )
    add(
        "--jwt-algorithms",
        default=default("JWT_ALGORITHMS", ",".join(defaults.jwt_algorithms)),
        help="comma-separated JWT algorithms accepted (asymmetric only) "
        "[FERRY_JWT_ALGORITHMS, %(default)s]",
    )
    add(
        "--jwt-leeway",
        type=float,
        default=float(str(default("JWT_LEEWAY", defaults.jwt_leeway_seconds))),
        help="seconds of clock skew allowed on a JWT's times [FERRY_JWT_LEEWAY, 30]",
    )
    add(
        "--jwks-refresh",
        type=float,
        default=float(str(default("JWKS_REFRESH", defaults.jwks_refresh_seconds))),
        help="least seconds between two fetches of a JWKS URL for an unknown key id "
        "[FERRY_JWKS_REFRESH, 30]",
    )
    add(
        "--upload-token-ttl",
        type=float,
        default=float(str(default("UPLOAD_TOKEN_TTL", defaults.upload_token_ttl_seconds))),
        help="longest (and default) life of an upload token, in seconds "
        "[FERRY_UPLOAD_TOKEN_TTL, 86400]",
    )


def _add_security_flags(
    add: Callable[..., object], default: Callable[[str, object], object]
) -> None:
    """TLS, the secure-default override, quotas and reservations."""
    defaults = Settings()
    add(
        "--tls-cert",
        type=Path,
        default=default("TLS_CERT", None),
        help="PEM certificate chain to serve TLS with (needs --tls-key); reloaded when the "
        "file changes or on SIGHUP [FERRY_TLS_CERT, plaintext]",
    )
    add(
        "--tls-key",
        type=Path,
        default=default("TLS_KEY", None),
        help="PEM private key of --tls-cert [FERRY_TLS_KEY]",
    )
    add(
        "--tls-client-ca",
        type=Path,
        default=default("TLS_CLIENT_CA", None),
        help="PEM CA bundle: require client certificates signed by it (mutual TLS) "
        "[FERRY_TLS_CLIENT_CA, no client certificates]",
    )
    add(
        "--allow-insecure",
        action="store_true",
        default=_env_bool(str(default("ALLOW_INSECURE", "false"))),
        help="listen on a non-loopback address without TLS and authentication "
        "[FERRY_ALLOW_INSECURE]",
    )
    add(
        "--quota-active-tasks",
        type=int,
        default=int(str(default("QUOTA_ACTIVE_TASKS", defaults.quota_active_tasks))),
        help="per principal: most tasks uploading or paused at once; 0: no limit "
        "[FERRY_QUOTA_ACTIVE_TASKS, 0]",
    )
    add(
        "--quota-staged-bytes",
        type=parse_size,
        default=parse_size(str(default("QUOTA_STAGED_BYTES", defaults.quota_staged_bytes))),
        help="per principal: most bytes its active tasks may declare in all; 0: no limit "
        "[FERRY_QUOTA_STAGED_BYTES, 0]",
    )
    add(
        "--quota-streams",
        type=int,
        default=int(str(default("QUOTA_STREAMS", defaults.quota_streams))),
        help="per principal: most UploadParts streams open at once on all replicas; 0: no "
        "limit [FERRY_QUOTA_STREAMS, 0]",
    )
    add(
        "--disk-reserve",
        type=parse_size,
        default=parse_size(str(default("DISK_RESERVE", defaults.disk_reserve_bytes))),
        help="free space on the staging filesystem that declarations and blocks leave alone "
        "[FERRY_DISK_RESERVE, 0]",
    )
    add(
        "--disk-overcommit",
        type=float,
        default=float(str(default("DISK_OVERCOMMIT", defaults.disk_overcommit))),
        help="active tasks may reserve this many times the free space less the reserve "
        "[FERRY_DISK_OVERCOMMIT, 1]",
    )
    add(
        "--stream-heartbeat",
        type=float,
        default=float(str(default("STREAM_HEARTBEAT", defaults.stream_heartbeat_seconds))),
        help="with --quota-streams: seconds between refreshes of this replica's stream counts "
        "in SQL; a count three times older is a dead replica's [FERRY_STREAM_HEARTBEAT, 10]",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        listen=args.listen,
        data_dir=args.data_dir,
        storage_root=args.storage_root,
        database_url=args.database_url,
        default_block_size=args.block_size,
        min_block_size=args.min_block_size,
        max_block_size=args.max_block_size,
        max_file_size=args.max_file_size,
        fsync=not args.no_fsync,
        task_ttl_seconds=args.task_ttl,
        merge_lease_seconds=args.merge_lease,
        orphan_age_seconds=args.orphan_age,
        retention_seconds=args.retention,
        published_umask=args.published_umask,
        webhook_url=args.webhook_url,
        webhook_secret_file=args.webhook_secret_file,
        webhook_allow_private=args.webhook_allow_private,
        webhook_timeout_seconds=args.webhook_timeout,
        webhook_retry_seconds=args.webhook_retry_for,
        webhook_poll_seconds=args.webhook_poll,
        watch_interval_seconds=args.watch_interval,
        test_fault=args.test_fault,
        blocking_threads=args.blocking_threads,
        max_streams=args.max_streams,
        stream_idle_timeout_seconds=args.stream_idle_timeout,
        stream_lookahead_bytes=args.stream_lookahead,
        log_level=args.log_level.upper(),
        shutdown_grace_seconds=args.shutdown_grace,
        db_connect_timeout_seconds=args.db_connect_timeout,
        db_statement_timeout_seconds=args.db_statement_timeout,
        db_call_timeout_seconds=args.db_call_timeout,
        db_tcp_user_timeout_seconds=args.db_tcp_user_timeout,
        db_keepalive_seconds=args.db_keepalive,
        db_pool_size=args.db_pool_size,
        db_max_overflow=args.db_max_overflow,
        db_pool_timeout_seconds=args.db_pool_timeout,
        db_transaction_pooling=args.db_transaction_pooling,
        storage=args.storage,
        s3_endpoint_url=args.s3_endpoint_url,
        s3_region=args.s3_region,
        spool_dir=args.spool_dir,
        spool_bytes=args.spool_size,
        health_interval_seconds=args.health_interval,
        reflection=not args.no_reflection,
        metrics_listen=args.metrics_listen,
        log_format=args.log_format,
        principals_file=args.principals_file,
        jwt_jwks=args.jwt_jwks,
        jwt_issuer=args.jwt_issuer,
        jwt_audience=args.jwt_audience,
        jwt_algorithms=tuple(a.strip() for a in args.jwt_algorithms.split(",") if a.strip()),
        jwt_leeway_seconds=args.jwt_leeway,
        jwks_refresh_seconds=args.jwks_refresh,
        upload_token_ttl_seconds=args.upload_token_ttl,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        allow_insecure=args.allow_insecure,
        quota_active_tasks=args.quota_active_tasks,
        quota_staged_bytes=args.quota_staged_bytes,
        quota_streams=args.quota_streams,
        disk_reserve_bytes=args.disk_reserve,
        disk_overcommit=args.disk_overcommit,
        stream_heartbeat_seconds=args.stream_heartbeat,
    )


def fsck_main(argv: Sequence[str]) -> int:
    """``ferry fsck``: report disagreements between SQL and storage; ``--repair`` fixes them.

    Exit status: 0 when storage and SQL agree (or every disagreement was repaired), 1 when
    disagreements remain, 2 on bad usage or a database out of reach.
    """
    env = os.environ
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="ferry fsck",
        description="Compare Ferry's SQL records with its staged bytes: blocks recorded "
        "without bytes, orphaned attempt files, staging of finished tasks.",
    )
    parser.add_argument("--data-dir", type=Path,
                        default=Path(env.get("FERRY_DATA_DIR", str(defaults.data_dir))),
                        help="[FERRY_DATA_DIR, %(default)s]")  # fmt: skip
    parser.add_argument("--storage-root", type=Path, default=env.get("FERRY_STORAGE_ROOT"),
                        help="[FERRY_STORAGE_ROOT, <data dir>/files]")  # fmt: skip
    parser.add_argument("--database-url", default=env.get("FERRY_DATABASE_URL"),
                        help="[FERRY_DATABASE_URL, SQLite in the data dir]")  # fmt: skip
    parser.add_argument(
        "--min-age",
        type=float,
        default=float(env.get("FERRY_ORPHAN_AGE", defaults.orphan_age_seconds)),
        help="leave attempt files and staging younger than this many seconds alone: they may "
        "belong to a stream or merge still running [FERRY_ORPHAN_AGE, %(default)s]",
    )
    parser.add_argument("--storage", default=env.get("FERRY_STORAGE", ""),
                        help="the servers' --storage: fsck refuses object-store mode "
                        "[FERRY_STORAGE, the filesystem]")  # fmt: skip
    parser.add_argument("--repair", action="store_true", help="fix what is found")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="ferry fsck: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = Settings(
            data_dir=args.data_dir,
            storage_root=args.storage_root,
            database_url=args.database_url,
            storage=args.storage,
        )
    except SettingsError as exc:
        parser.error(str(exc))
    try:
        report = run_fsck(settings, min_age=args.min_age, repair=args.repair)
    except (StartupError, Unavailable) as exc:
        print(f"ferry fsck: {exc}", file=sys.stderr)
        return 2
    verb = "repaired" if args.repair else "found"
    print(f"ferry fsck: {len(report.findings)} disagreement(s) {verb}")
    return 0 if args.repair or not report.findings else 1


def token_main(argv: Sequence[str]) -> int:
    """``ferry token``: make a new service token; print it once (or write it to a file of
    its own), then the principals-file entry, which holds only its SHA-256."""
    parser = argparse.ArgumentParser(
        prog="ferry token",
        description="Generate a service token and the [[token]] entry for the principals file "
        "(--principals-file). The token is printed once: give it to the service; the entry "
        "holds only its SHA-256.",
    )
    parser.add_argument("principal", help="who the token identifies, e.g. billing-backend")
    parser.add_argument(
        "--permission",
        "-p",
        action="append",
        choices=[p.value for p in Permission],
        default=None,
        help="a permission (repeatable) [create, upload, read, control]",
    )
    parser.add_argument(
        "--prefix",
        action="append",
        default=None,
        help="a store_path directory the token may write under (repeatable; '' for all)",
    )
    parser.add_argument(
        "--token-out",
        type=Path,
        help="write the token to this file (mode 0600) instead of printing it",
    )
    args = parser.parse_args(argv)
    permissions = args.permission or ["create", "upload", "read", "control"]
    prefixes = args.prefix if args.prefix is not None else [args.principal]
    token = SERVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    entry = (
        "[[token]]\n"
        f"principal = {json.dumps(args.principal)}\n"
        f"sha256 = {json.dumps(token_sha256(token))}\n"
        f"permissions = {json.dumps(permissions)}\n"
        f"prefixes = {json.dumps(prefixes)}\n"
    )
    parse_principals(entry, "the new entry")  # the entry must be one the server accepts
    if args.token_out is not None:
        descriptor = os.open(args.token_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(token + "\n")
        print(f"# token written to {args.token_out}; add this entry to the principals file:")
    else:
        print(f"# token (shown once; store it as a secret): {token}")
        print("# add this entry to the principals file:")
    print(entry, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fsck"]:
        return fsck_main(argv[1:])
    if argv[:1] == ["token"]:
        return token_main(argv[1:])
    parser = build_parser(os.environ)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=settings.log_level, handlers=[log_handler(settings.log_format)])
    if settings.log_level != "DEBUG":
        # Alembic narrates every start-up at INFO; migrate() logs the one line that matters.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    tune_malloc()
    try:
        server = create_server(settings)
    except StartupError as exc:
        print(f"ferry serve: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("ferry.server").info(
            "%s received: stopping (grace %.0fs)",
            signal.Signals(signum).name,
            settings.shutdown_grace_seconds,
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("ferry.server").info(
            "SIGHUP received: reloading TLS certificates, the principals file and the JWKS"
        )
        server.reload_tls()
        server.reload_credentials()

    signal.signal(signal.SIGHUP, on_hangup)
    server.start()
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(f"{server.port}\n")
        tmp.replace(args.port_file)
    stop.wait()
    server.stop(settings.shutdown_grace_seconds)
    return 0
