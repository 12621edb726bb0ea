"""Ferry's Python client: resumable, verified uploads of large files to a Ferry service (and
small ones, up to 1 MiB, in a single request).

from ferry_client import FerryClient

with FerryClient("ferry.example:50051") as client:
    result = client.upload("big.bin", "incoming/big.bin", progress=print)
    print(result.task_id, result.sha256)
"""

from ferry_client.client import DEFAULT_TARGET, FerryClient
from ferry_client.errors import (
    AlreadyExists,
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
    SourceChanged,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.models import TaskInfo, TaskState, UploadResult
from ferry_client.retry import RetryPolicy
from ferry_client.state import default_state_path

__all__ = [
    "DEFAULT_TARGET",
    "AlreadyExists",
    "ChecksumMismatch",
    "ErrorDetails",
    "FerryClient",
    "FerryError",
    "FieldViolation",
    "IntegrityError",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RetryPolicy",
    "ServerError",
    "SourceChanged",
    "TaskEnded",
    "TaskInfo",
    "TaskPaused",
    "TaskState",
    "TransientError",
    "UploadResult",
    "default_state_path",
]
