"""Where an object-store backend keeps its bytes: ``s3://bucket/prefix`` parsed and checked,
without importing any S3 library (the settings use it at start-up)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# S3's rules for new bucket names: 3-63 of lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MAX_PREFIX = 512


class InvalidLocation(ValueError):
    """The storage URL is not ``s3://bucket[/prefix]``; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix ("" or ending in "/") under which Ferry owns every key."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise InvalidLocation(f"{url!r}: expected s3://BUCKET[/PREFIX]")
        if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
            raise InvalidLocation(
                f"{url!r}: no credentials, port, query or fragment here: give the endpoint "
                "with --s3-endpoint-url and credentials through the AWS chain"
            )
        bucket = parts.netloc
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise InvalidLocation(
                f"{url!r}: bucket {bucket!r} is not a valid S3 bucket name (3-63 lowercase "
                "letters, digits, dots and hyphens)"
            )
        prefix = parts.path.lstrip("/")
        segments = [s for s in prefix.split("/") if s]
        if any(s in {".", ".."} for s in segments) or "//" in prefix:
            raise InvalidLocation(f"{url!r}: the prefix must not hold '.', '..' or '//'")
        prefix = "/".join(segments) + "/" if segments else ""
        if len(prefix.encode()) > _MAX_PREFIX:
            raise InvalidLocation(f"{url!r}: the prefix is longer than {_MAX_PREFIX} bytes")
        return cls(bucket=bucket, prefix=prefix)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"
