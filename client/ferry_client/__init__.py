"""Ferry's Python client: resumable, verified uploads of large files to a Ferry service (and
small ones, up to 1 MiB, in a single request).

from ferry_client import FerryClient

with FerryClient("ferry.example:50051") as client:
    result = client.upload("big.bin", "incoming/big.bin", progress=print)
    print(result.task_id, result.sha256)
"""

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
    ServerError,
    ServerUnreachable,
    SourceChanged,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.events import UploadEvent
from ferry_client.models import Grant, TaskInfo, TaskState, UploadResult
from ferry_client.retry import RetryPolicy
from ferry_client.state import default_state_path

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
    "RetryPolicy",
    "ServerError",
    "ServerUnreachable",
    "SourceChanged",
    "TaskEnded",
    "TaskInfo",
    "TaskPaused",
    "TaskState",
    "TokenRefused",
    "TransientError",
    "UploadEvent",
    "UploadItem",
    "UploadResult",
    "default_state_path",
    "plan_sources",
]
