"""Ferry's Python client: resumable, verified uploads of large files to a Ferry service (and
small ones, up to 1 MiB, in a single request).

from ferry_client import FerryClient

with FerryClient("ferry.example:50051") as client:
    result = client.upload("big.bin", "incoming/big.bin", progress=print)
    print(result.task_id, result.sha256)
"""

import os

# gRPC's documented default verbosity is ERROR, but its current releases write every failed
# TLS handshake to stderr at INFO; a TLS mismatch is reported by the client itself, in one line.
# Read once, when grpc is first imported: an explicit GRPC_VERBOSITY still wins.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from ferry_client.batch import BatchSummary, FileResult, Outcome, UploadItem, plan_sources
from ferry_client.client import DEFAULT_TARGET, FerryClient
from ferry_client.credentials import TokenRefused
from ferry_client.errors import (
    AlreadyExists,
    CannotConnect,
    ChecksumMismatch,
    ErrorDetails,
    FerryError,
    FieldViolation,
    IntegrityError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    QuotaExceeded,
    ServerError,
    ServerUnreachable,
    SourceChanged,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.events import UploadEvent
from ferry_client.models import Grant, StateStats, TaskInfo, TaskState, TaskStats, UploadResult
from ferry_client.retry import RetryPolicy
from ferry_client.state import default_state_path
from ferry_client.tls import TlsOptions

__all__ = [
    "DEFAULT_TARGET",
    "AlreadyExists",
    "BatchSummary",
    "CannotConnect",
    "ChecksumMismatch",
    "ErrorDetails",
    "FerryClient",
    "FerryError",
    "FieldViolation",
    "FileResult",
    "Grant",
    "IntegrityError",
    "InvalidRequest",
    "NotFound",
    "Outcome",
    "PermissionDenied",
    "PreconditionFailed",
    "QuotaExceeded",
    "RetryPolicy",
    "ServerError",
    "ServerUnreachable",
    "SourceChanged",
    "StateStats",
    "TaskEnded",
    "TaskInfo",
    "TaskPaused",
    "TaskState",
    "TaskStats",
    "TlsOptions",
    "TokenRefused",
    "TransientError",
    "UploadEvent",
    "UploadItem",
    "UploadResult",
    "default_state_path",
    "plan_sources",
]
