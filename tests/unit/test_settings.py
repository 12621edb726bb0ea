"""Settings validation and the CLI's flag and environment parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_server.cli import build_parser, parse_size, settings_from_args
from ferry_server.config import KiB, MiB, Settings, SettingsError


def test_defaults_are_valid_and_documented_values() -> None:
    settings = Settings()
    assert settings.listen == "127.0.0.1:50051"
    assert settings.default_block_size == 8 * MiB
    assert settings.resolved_storage_root == Path("ferry-data/files")
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.fsync


@pytest.mark.parametrize(
    "changes",
    [
        {"default_block_size": 100 * KiB},
        {"min_block_size": 16 * MiB},
        {"max_block_size": 4 * MiB},
        {"listen": "nohost"},
        {"listen": "127.0.0.1:99999"},
        {"log_level": "LOUD"},
        {"blocking_threads": 1},
        {"max_streams": 0},
        {"stream_idle_timeout_seconds": 0},
        {"task_ttl_seconds": 0},
        {"shutdown_grace_seconds": -1},
        {"db_connect_timeout_seconds": 0},
        {"db_keepalive_seconds": -1},
        {"db_statement_timeout_seconds": 20, "db_call_timeout_seconds": 15},
        {"metrics_listen": "9100"},
        {"health_interval_seconds": 0},
        {"log_format": "xml"},
        {"db_pool_size": 0},
        {"db_pool_size": 8, "db_max_overflow": 4},  # 12 < blocking_threads 64 + 2
        {"blocking_threads": 8, "db_pool_size": 6, "db_max_overflow": 3},
        {"db_max_overflow": -1},
        {"db_pool_timeout_seconds": 0},
        {"stream_lookahead_bytes": -1},
    ],
)
def test_bad_settings_are_refused_with_a_reason(changes: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        Settings().replace(**changes)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8M", 8 * MiB),
        ("256KiB", 256 * KiB),
        ("1048576", MiB),
        ("1t", 1 << 40),
        ("64 kb", 64 * KiB),
    ],
)
def test_sizes_parse_in_binary_units(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_environment_variables_set_defaults_and_flags_win() -> None:
    env = {"FERRY_LISTEN": "0.0.0.0:6000", "FERRY_BLOCK_SIZE": "4M", "FERRY_NO_FSYNC": "1"}
    args = build_parser(env).parse_args(["--block-size", "2M"])
    settings = settings_from_args(args)
    assert settings.listen == "0.0.0.0:6000"
    assert settings.default_block_size == 2 * MiB
    assert not settings.fsync


def test_shutdown_grace_and_database_timeouts_come_from_flags_and_environment() -> None:
    env = {"FERRY_SHUTDOWN_GRACE": "3", "FERRY_DB_CALL_TIMEOUT": "30", "FERRY_DB_KEEPALIVE": "2"}
    args = build_parser(env).parse_args(
        ["--db-statement-timeout", "20", "--db-connect-timeout", "4", "--db-tcp-user-timeout", "6"]
    )
    settings = settings_from_args(args)
    assert settings.shutdown_grace_seconds == 3
    assert settings.db_call_timeout_seconds == 30
    assert settings.db_keepalive_seconds == 2
    assert settings.db_statement_timeout_seconds == 20
    assert settings.db_connect_timeout_seconds == 4
    assert settings.db_tcp_user_timeout_seconds == 6


def test_stream_lookahead_comes_from_flag_and_environment() -> None:
    assert settings_from_args(build_parser({}).parse_args([])).stream_lookahead_bytes == 0
    env = {"FERRY_STREAM_LOOKAHEAD": "64K"}
    assert settings_from_args(build_parser(env).parse_args([])).stream_lookahead_bytes == 64 * KiB
    args = build_parser(env).parse_args(["--stream-lookahead", "1M"])
    assert settings_from_args(args).stream_lookahead_bytes == MiB


def test_operations_settings_come_from_flags_and_environment() -> None:
    defaults = settings_from_args(build_parser({}).parse_args([]))
    assert defaults.reflection
    assert defaults.metrics_listen == ""
    assert defaults.log_format == "text"
    env = {"FERRY_REFLECTION": "0", "FERRY_METRICS_LISTEN": "127.0.0.1:9100"}
    settings = settings_from_args(
        build_parser(env).parse_args(["--log-format", "json", "--health-interval", "2"])
    )
    assert not settings.reflection
    assert settings.metrics_listen == "127.0.0.1:9100"
    assert settings.log_format == "json"
    assert settings.health_interval_seconds == 2
    flagged = settings_from_args(build_parser({}).parse_args(["--no-reflection"]))
    assert not flagged.reflection


def test_a_pool_smaller_than_the_blocking_threads_is_refused_with_the_flags_to_change() -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings(blocking_threads=16, db_pool_size=10, db_max_overflow=4)
    message = str(excinfo.value)
    assert "blocking_threads 16 + 2" in message
    assert "--db-pool-size" in message and "--blocking-threads" in message
    assert Settings(blocking_threads=16, db_pool_size=10, db_max_overflow=8).db_pool_size == 10


def test_database_pool_settings_come_from_flags_and_environment() -> None:
    defaults = settings_from_args(build_parser({}).parse_args([]))
    assert (defaults.db_pool_size, defaults.db_max_overflow) == (None, 4)
    assert defaults.effective_db_pool_size == defaults.blocking_threads + 2 == 66
    assert not defaults.db_transaction_pooling
    env = {"FERRY_DB_POOL_SIZE": "3", "FERRY_DB_TRANSACTION_POOLING": "1"}
    args = build_parser(env).parse_args(
        ["--blocking-threads", "2", "--db-max-overflow", "1", "--db-pool-timeout", "2.5"]
    )
    settings = settings_from_args(args)
    assert settings.db_pool_size == settings.effective_db_pool_size == 3
    assert settings.db_max_overflow == 1
    assert settings.db_pool_timeout_seconds == 2.5
    assert settings.db_transaction_pooling


def test_tls_and_quota_settings_come_from_flags_and_environment(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / name for name in ("c.pem", "k.pem", "ca.pem"))
    for path in (cert, key, ca):
        path.write_text("x")
    env = {"FERRY_TLS_CERT": str(cert), "FERRY_TLS_KEY": str(key), "FERRY_ALLOW_INSECURE": "1",
           "FERRY_QUOTA_STAGED_BYTES": "2G", "FERRY_DISK_RESERVE": "1G"}  # fmt: skip
    settings = settings_from_args(
        build_parser(env).parse_args(
            [
                "--tls-client-ca",
                str(ca),
                "--quota-active-tasks",
                "5",
                "--quota-streams",
                "8",
                "--disk-overcommit",
                "1.5",
                "--stream-heartbeat",
                "2",
            ]
        )
    )
    assert (settings.tls_cert, settings.tls_key, settings.tls_client_ca) == (cert, key, ca)
    assert settings.tls_configured and settings.authentication_configured
    assert settings.allow_insecure
    assert (settings.quota_active_tasks, settings.quota_staged_bytes, settings.quota_streams) == (
        5, 2 << 30, 8
    )  # fmt: skip
    assert (settings.disk_reserve_bytes, settings.disk_overcommit) == (1 << 30, 1.5)
    assert settings.stream_heartbeat_seconds == 2
    defaults = Settings()
    assert not defaults.tls_configured and not defaults.authentication_configured
    assert not defaults.allow_insecure
    assert (defaults.quota_active_tasks, defaults.quota_staged_bytes, defaults.quota_streams,
            defaults.disk_reserve_bytes, defaults.disk_overcommit) == (0, 0, 0, 0, 1.0)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"tls_cert": "c.pem"}, "tls_cert and tls_key go together"),
        ({"tls_key": "k.pem"}, "tls_cert and tls_key go together"),
        ({"tls_client_ca": "ca.pem"}, "needs tls_cert and tls_key"),
        ({"tls_cert": "missing.pem", "tls_key": "k.pem"}, "no such file"),
        ({"quota_streams": -1}, "quota_streams must not be negative"),
        ({"disk_overcommit": 0.5}, "disk_overcommit must be at least 1"),
        ({"stream_heartbeat_seconds": 0}, "stream_heartbeat_seconds must be positive"),
    ],
)
def test_bad_tls_and_quota_settings_are_refused(
    tmp_path: Path, changes: dict[str, object], named: str
) -> None:
    for name in ("c.pem", "k.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    resolved = {k: tmp_path / v if isinstance(v, str) else v for k, v in changes.items()}
    with pytest.raises(SettingsError, match=named):
        Settings(**resolved)  # type: ignore[arg-type]
