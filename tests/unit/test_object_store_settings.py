"""The object-store settings (``--storage s3://...`` and friends): parsed, validated, and refused
by the server until the backend is wired in."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_server.cli import build_parser, settings_from_args
from ferry_server.config import GiB, MiB, Settings, SettingsError
from ferry_server.storage.s3location import InvalidLocation, S3Location


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my.bucket-1/ferry", "my.bucket-1", "ferry/"),
        ("s3://abc/a/b/", "abc", "a/b/"),
    ],
)
def test_locations_parse(url: str, bucket: str, prefix: str) -> None:
    assert S3Location.parse(url) == S3Location(bucket, prefix)


@pytest.mark.parametrize(
    "url",
    [
        "my-bucket",
        "http://my-bucket/x",
        "s3://",
        "s3://ab",
        "s3://Upper",
        "s3://bad_name",
        "s3://a..b",
        "s3://key:secret@bucket/x",
        "s3://bucket:9000/x",
        "s3://bucket/x?versionId=1",
        "s3://bucket/../x",
        "s3://bucket/a//b",
        "s3://bucket/" + "p" * 600,
    ],
)
def test_bad_locations_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(InvalidLocation, match="s3://"):
        S3Location.parse(url)


def test_the_flags_and_environment_reach_the_settings() -> None:
    env = {
        "FERRY_STORAGE": "s3://ferry-data/prod",
        "FERRY_S3_ENDPOINT_URL": "http://127.0.0.1:8333",
        "FERRY_S3_REGION": "eu-west-1",
        "FERRY_SPOOL_SIZE": "2G",
    }
    args = build_parser(env).parse_args(["--spool-dir", "/var/spool/ferry"])
    settings = settings_from_args(args)
    assert settings.object_store == S3Location("ferry-data", "prod/")
    assert settings.s3_endpoint_url == "http://127.0.0.1:8333"
    assert settings.s3_region == "eu-west-1"
    assert settings.resolved_spool_dir == Path("/var/spool/ferry")
    assert settings.spool_bytes == 2 * GiB


def test_the_filesystem_stays_the_default() -> None:
    settings = Settings()
    assert settings.object_store is None
    assert settings.resolved_spool_dir == Path("ferry-data/spool")


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"storage": "s3://B"}, "bucket"),
        ({"storage": "file:///x"}, "s3://BUCKET"),
        ({"s3_endpoint_url": "http://x"}, "need storage"),
        ({"s3_region": "eu-west-1"}, "need storage"),
        ({"storage": "s3://bkt", "s3_endpoint_url": "ftp://x"}, "http"),
        ({"storage": "s3://bkt", "s3_endpoint_url": "http://x/path"}, "http"),
        ({"storage": "s3://bkt", "spool_bytes": 8 * MiB}, "spool_bytes"),
        (
            {"storage": "s3://bkt", "max_block_size": 4 * MiB, "default_block_size": 1 * MiB},
            "max-block-size",
        ),
    ],
)
def test_bad_object_store_settings_are_refused(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        Settings().replace(**changes)
