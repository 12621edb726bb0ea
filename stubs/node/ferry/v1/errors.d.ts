export declare const protobufPackage = "ferry.v1";
export declare const protobufFileName = "ferry/v1/errors.proto";
/**
 * Ferry's machine-readable error reasons.
 *
 * Every non-OK status a Ferry handler returns carries a google.rpc.Status in
 * the `grpc-status-details-bin` trailer (the google.rpc error model, AIP-193)
 * whose details hold a google.rpc.ErrorInfo with
 *   - `domain` = "ferry.v1" (always this value; a reason is only meaningful
 *     together with it), and
 *   - `reason` = the name of one ErrorReason value below, e.g.
 *     "STORE_PATH_TAKEN". Programs branch on the reason, never on the
 *     message, which is for people and may change.
 * ErrorInfo.metadata holds the facts named on each reason (keys in
 * lowerCamelCase, values as decimal strings; units are in the key, e.g.
 * `limitBytes`).
 *
 * Further details, by kind:
 *   - google.rpc.BadRequest: on every INVALID_ARGUMENT and OUT_OF_RANGE, one
 *     field violation naming the request field (e.g. "store_path",
 *     "block_size"; "" for the message as a whole) and what is wrong with it.
 *   - google.rpc.PreconditionFailure: on BLOCKS_MISSING, one violation per
 *     missing range of blocks, type "BLOCKS_MISSING", subject
 *     "blocks/FIRST-LAST" (inclusive block indexes, both always present, e.g.
 *     "blocks/0-3", "blocks/7-7"); at most 32 ranges, the rest is in
 *     QueryMissingBlocks.
 *   - google.rpc.RetryInfo: where the server advises how long to wait before
 *     retrying; a client waits at least that long.
 *   - google.rpc.ResourceInfo: resource_type "ferry.v1.Task", resource_name
 *     the task id, when the error is about an existing task the caller may
 *     see. (It is never sent with TASK_NOT_FOUND: an unknown id is not
 *     repeated back.) The same id is in the trailing metadata key
 *     `ferry-task-id` and in ErrorInfo.metadata as `taskId`.
 *
 * Statuses produced by the gRPC runtime itself (DEADLINE_EXCEEDED,
 * UNAVAILABLE when a server is unreachable or shutting down, CANCELLED,
 * RESOURCE_EXHAUSTED for a message over the transport's size limit,
 * UNIMPLEMENTED from an older server) carry no details: a client decides on
 * the status code alone for those.
 *
 * "Retry" below says what a client should do with the same request:
 * "yes" (after RetryInfo's delay when given, else with backoff), or "no"
 * (the request cannot succeed as it is).
 */
/**
 * The value of google.rpc.ErrorInfo.reason in domain "ferry.v1": the value
 * names are the reason strings. New values may be added; a client treats an
 * unknown reason by its status code.
 */
export declare enum ErrorReason {
    /** ERROR_REASON_UNSPECIFIED - Never sent. */
    ERROR_REASON_UNSPECIFIED = 0,
    /**
     * TASK_NOT_FOUND - NOT_FOUND. No task has the given task_id, or it belongs to another
     * principal (indistinguishable on purpose). Any RPC taking a task_id. No ResourceInfo and
     * no `ferry-task-id` trailer: the unknown id is not echoed. Retry: no.
     */
    TASK_NOT_FOUND = 1,
    /**
     * INVALID_FIELD - INVALID_ARGUMENT. A request field is missing or malformed; the
     * BadRequest field violation names it: "task_id" (empty), "file_name"
     * (empty, over 255 bytes, control characters), "sha256" (not 64 hex
     * digits), "metadata" (over 64 entries or 16 KiB), "state" (not a settable
     * target), "crc32c" (UploadFile without it, or a block's last message
     * without it). Retry: no.
     */
    INVALID_FIELD = 2,
    /**
     * INVALID_STORE_PATH - INVALID_ARGUMENT. store_path is refused: empty, absolute, not
     * normalised (empty, "." or ".." components, leading or trailing "/"),
     * containing a control character or a backslash, over 1024 bytes or a
     * component over 255 bytes, naming the storage root or a directory, under
     * a path component that is a file, or resolving outside the storage root
     * through a symbolic link (checked again at Merge). BadRequest field
     * "store_path". Retry: no.
     */
    INVALID_STORE_PATH = 3,
    /**
     * INVALID_BLOCK_SIZE - INVALID_ARGUMENT. block_size is outside the server's bounds or not a
     * multiple of its alignment. BadRequest field "block_size"; metadata
     * `minBlockSizeBytes`, `maxBlockSizeBytes`, `blockAlignmentBytes`.
     * Retry: no (ask for a block size within the bounds, or 0 for the
     * default).
     */
    INVALID_BLOCK_SIZE = 4,
    /**
     * DATA_TOO_LARGE - INVALID_ARGUMENT. Too much data in one message: an UploadParts message
     * over 1 MiB of data, or UploadFile data over 1 MiB. BadRequest field
     * "data"; metadata `limitBytes`. Retry: no (send a large file in blocks).
     */
    DATA_TOO_LARGE = 5,
    /**
     * SHA256_CONFLICT - INVALID_ARGUMENT. Merge's sha256 differs from the one the task was
     * declared (or completed) with: this is not the same file. BadRequest
     * field "sha256"; ResourceInfo. Retry: no.
     */
    SHA256_CONFLICT = 6,
    /**
     * WRONG_OFFSET - INVALID_ARGUMENT. UploadParts: a message's offset is not where its block
     * left off on this stream (a block starts at offset 0). BadRequest field
     * "offset"; metadata `taskId`, `blockIndex`, `expectedOffset`;
     * ResourceInfo. The stream ends; committed blocks stay. Retry: no (a
     * client bug; a new stream restarts the block at offset 0).
     */
    WRONG_OFFSET = 7,
    /**
     * BLOCK_NOT_FINISHED - INVALID_ARGUMENT. UploadParts: a message for another block arrived before
     * the block in progress on this stream was complete (one block at a time
     * per stream). BadRequest field "block_index"; metadata `taskId`,
     * `blockIndex` (the unfinished block), `receivedBytes`, `blockLengthBytes`;
     * ResourceInfo. Retry: no.
     */
    BLOCK_NOT_FINISHED = 8,
    /**
     * MALFORMED_MESSAGE - INVALID_ARGUMENT. UploadParts: a message is not a valid
     * UploadPartsRequest (truncated, wrong wire types, task_id not UTF-8).
     * BadRequest field "" (the message) or the field at fault. Retry: no.
     */
    MALFORMED_MESSAGE = 9,
    /**
     * FILE_TOO_LARGE - OUT_OF_RANGE. CreateTask's size exceeds the server's maximum file size.
     * BadRequest field "size"; metadata `limitBytes`. Retry: no.
     */
    FILE_TOO_LARGE = 10,
    /**
     * BLOCK_OUT_OF_RANGE - OUT_OF_RANGE. UploadParts: block_index >= the task's block_count.
     * BadRequest field "block_index"; metadata `taskId`, `blockIndex`,
     * `blockCount`; ResourceInfo. Retry: no.
     */
    BLOCK_OUT_OF_RANGE = 11,
    /**
     * DATA_PAST_BLOCK_END - OUT_OF_RANGE. UploadParts: data reaches past the end of its block.
     * BadRequest field "data"; metadata `taskId`, `blockIndex`,
     * `blockLengthBytes`; ResourceInfo. Retry: no.
     */
    DATA_PAST_BLOCK_END = 12,
    /**
     * STORE_PATH_TAKEN - ALREADY_EXISTS. CreateTask or UploadFile: an active (UPLOADING or PAUSED)
     * task holds the store_path, for a different file or declared without
     * sha256. Metadata `taskId`; ResourceInfo names that task (also in the
     * `ferry-task-id` trailer). Retry: no (continue that task by its id,
     * cancel it, or choose another store_path).
     */
    STORE_PATH_TAKEN = 13,
    /**
     * DESTINATION_EXISTS - ALREADY_EXISTS. A file is published at store_path and overwrite is false
     * (CreateTask, UploadFile with different bytes, or Merge when a file
     * appeared there meanwhile; ResourceInfo and `taskId` at Merge). Retry: no
     * (Merge may be retried once the file is moved away).
     */
    DESTINATION_EXISTS = 14,
    /**
     * BLOCKS_MISSING - FAILED_PRECONDITION. Merge: blocks are not all committed.
     * PreconditionFailure lists the missing ranges (type "BLOCKS_MISSING");
     * metadata `taskId`, `missingBlocks` (count), `missingRanges` (count of
     * ranges, of which at most 32 are listed), `blockCount`; ResourceInfo.
     * Retry: no (upload the missing blocks, then Merge again).
     */
    BLOCKS_MISSING = 15,
    /**
     * TASK_PAUSED - FAILED_PRECONDITION. The task is PAUSED: UploadParts refuses its blocks,
     * Merge refuses to merge. Metadata `taskId`, `state`; ResourceInfo.
     * Retry: no (SetState UPLOADING to resume it, then send again).
     */
    TASK_PAUSED = 16,
    /**
     * TASK_NOT_UPLOADING - FAILED_PRECONDITION. The task takes no blocks and cannot merge: it is
     * COMPLETED, CANCELED or EXPIRED (or FAILED, for blocks). Metadata
     * `taskId`, `state`; ResourceInfo. Retry: no.
     */
    TASK_NOT_UPLOADING = 17,
    /**
     * ILLEGAL_TRANSITION - FAILED_PRECONDITION. SetState: the transition is not allowed (e.g.
     * pausing a COMPLETED task). Metadata `taskId`, `state`, `targetState`;
     * ResourceInfo. Retry: no.
     */
    ILLEGAL_TRANSITION = 18,
    /**
     * TASK_MERGING - FAILED_PRECONDITION. SetState while a Merge holds the task: its state
     * cannot change until the merge ends. Metadata `taskId`; ResourceInfo.
     * Retry: no (read the task: once merged it is COMPLETED or FAILED).
     */
    TASK_MERGING = 19,
    /**
     * STAGING_LOST - FAILED_PRECONDITION. Merge: the task's staged bytes are gone (removed
     * outside Ferry). Metadata `taskId`; ResourceInfo. Retry: no (cancel the
     * task and upload the file again).
     */
    STAGING_LOST = 20,
    /**
     * HASH_MISMATCH - DATA_LOSS. The whole-file SHA-256 of the received bytes does not match
     * the declared one: at Merge (the task is now FAILED and its staged bytes
     * deleted; ResourceInfo) or at UploadFile (nothing was published).
     * Metadata `expectedSha256`, `receivedSha256` (and `taskId` at Merge).
     * Retry: no (upload the file again as a new task).
     */
    HASH_MISMATCH = 21,
    /**
     * TASK_FAILED - DATA_LOSS. Merge of a task that is FAILED (an earlier Merge found a hash
     * mismatch). Metadata `taskId`; ResourceInfo; the task's failure_reason
     * says why. Retry: no.
     */
    TASK_FAILED = 22,
    /**
     * CHECKSUM_MISMATCH - ABORTED. UploadFile: data does not match its crc32c (damaged in
     * transit); nothing was written. Retry: yes, at once. (A block whose
     * CRC32C does not match is answered BLOCK_STATUS_CHECKSUM_MISMATCH in the
     * stream instead, not with a status.)
     */
    CHECKSUM_MISMATCH = 23,
    /**
     * BUSY - ABORTED. Someone else is doing the same thing right now: the store_path
     * is being declared concurrently, or the task's state changed
     * concurrently. (Several streams sending one block never meet it: each
     * writes its own copy and the first to commit wins.) RetryInfo; metadata
     * `taskId`.
     * Retry: yes, after RetryInfo's delay.
     */
    BUSY = 24,
    /**
     * MERGE_IN_PROGRESS - ABORTED. Merge: another call is merging this task and did not finish
     * within this call's deadline, or this call's merge lease passed to
     * another replica. RetryInfo; metadata `taskId`; ResourceInfo.
     * Retry: yes, after RetryInfo's delay (Merge is idempotent).
     */
    MERGE_IN_PROGRESS = 25,
    /**
     * DISK_FULL - RESOURCE_EXHAUSTED. Not enough disk space to stage or write the file, or
     * other active tasks' reservations (or the server's free-disk reserve) leave
     * no room for it now. RetryInfo; metadata `requestedBytes`. Retry: yes,
     * after RetryInfo's delay (space may be freed).
     */
    DISK_FULL = 26,
    /**
     * OVERLOADED - RESOURCE_EXHAUSTED. The server is at its limit of concurrent work:
     * UploadParts, the replica already holds its limit of open upload streams
     * (`--max-streams`); any call, every connection of the replica's database
     * pool stayed busy for `--db-pool-timeout`. RetryInfo. Retry: yes, after
     * RetryInfo's delay (or at once on another replica).
     */
    OVERLOADED = 27,
    /**
     * QUOTA_EXCEEDED - RESOURCE_EXHAUSTED. A limit of the caller's principal is reached (active
     * tasks, declared bytes, open UploadParts streams), or a declaration is
     * larger than the staging disk can ever hold. Metadata `limit`
     * (`active_tasks`, `staged_bytes`, `streams` or `disk`) and `limitValue`;
     * `requestedBytes` for `disk`. Retry: no (not until the usage or the limit
     * changes).
     */
    QUOTA_EXCEEDED = 28,
    /** INTERNAL_ERROR - INTERNAL. A bug in Ferry; the server's log has the details. Retry: no. */
    INTERNAL_ERROR = 29,
    /**
     * DATABASE_UNAVAILABLE - UNAVAILABLE. The server's database refuses connections, is out of reach,
     * answers too slowly, or has lost Ferry's tables (re-created); nothing was
     * changed. RetryInfo. Retry: yes, after RetryInfo's delay.
     */
    DATABASE_UNAVAILABLE = 30,
    /**
     * SHUTTING_DOWN - UNAVAILABLE. This replica is shutting down: it takes no new upload
     * stream, and ends every open one with this reason as shutdown starts.
     * RetryInfo. Retry: yes, at once on another connection (another replica,
     * or this one's successor).
     */
    SHUTTING_DOWN = 31,
    /**
     * STREAM_IDLE - UNAVAILABLE. UploadParts: the stream sent no message for the server's
     * idle timeout (`--stream-idle-timeout`) while the server owed it no
     * acknowledgement; the stream was ended and its unfinished block dropped
     * (committed blocks stay). RetryInfo (zero). Retry: yes, on a new stream,
     * once there is something to send.
     */
    STREAM_IDLE = 32,
    /**
     * DEADLINE_PASSED - DEADLINE_EXCEEDED. The call's deadline passed before the server finished
     * its work (e.g. Merge waiting for another replica's merge); the server
     * stopped before recording anything more. Usually the client sees its own
     * DEADLINE_EXCEEDED first. Retry: yes, with a longer deadline.
     */
    DEADLINE_PASSED = 33,
    /**
     * FILE_NOT_FOUND - NOT_FOUND. ReadFile: no file is published at the store_path (or its task
     * was forgotten by retention). Retry: no.
     */
    FILE_NOT_FOUND = 40,
    /**
     * GENERATION_CHANGED - FAILED_PRECONDITION. ReadFile: the file at the store_path is no longer the
     * generation the request names (if_generation, or the task_id's upload): a
     * later upload replaced it. ErrorInfo metadata "generation" names the
     * current one. Retry: no; read the new generation from offset 0.
     */
    GENERATION_CHANGED = 41,
    /**
     * SIZE_MISMATCH - INVALID_ARGUMENT. Merge declared a size the committed blocks of a task
     * whose size was deferred do not add up to (a block before the last
     * shorter than block_size, the last block not ending at the size, a block
     * committed beyond it), or a size other than a task's known size;
     * BadRequest names the field "size"; metadata `sizeBytes`. Retry: no (the
     * source or the client is wrong; cancel the task).
     */
    SIZE_MISMATCH = 42,
    /**
     * UNAUTHENTICATED - UNAUTHENTICATED. The call carries no credentials the server accepts: no
     * `authorization` metadata and no known client certificate, a malformed
     * header, an unknown or revoked token, or a JWT with a bad signature,
     * issuer, audience, algorithm or key. Retry: no (not with the same
     * credentials).
     */
    UNAUTHENTICATED = 43,
    /**
     * TOKEN_EXPIRED - UNAUTHENTICATED. The token (a JWT or an upload token) expired. Retry:
     * no; get a new token (IssueUploadToken, or the identity provider).
     */
    TOKEN_EXPIRED = 44,
    /**
     * PERMISSION_DENIED - PERMISSION_DENIED. The caller is known but may not do this: it lacks the
     * permission (metadata `permission` names it, e.g. "create"), store_path
     * lies outside its prefixes, or an upload token was used for anything but
     * its own task's uploads and queries. Retry: no.
     */
    PERMISSION_DENIED = 45,
    /**
     * STORE_UNAVAILABLE - UNAVAILABLE. The object store (S3 backend) did not answer after the S3
     * client's own retries (down, unreachable, timing out), was throttling, or
     * refused Ferry's credentials; nothing acknowledged was lost, and a block
     * whose part was not stored is not acknowledged. RetryInfo (5 s). Retry:
     * yes, after RetryInfo's delay; then QueryMissingBlocks and continue.
     */
    STORE_UNAVAILABLE = 46,
    /**
     * WEBHOOK_URL_REFUSED - INVALID_ARGUMENT or PERMISSION_DENIED. The webhook_url of CreateTask or
     * UploadFile is refused: INVALID_ARGUMENT when it is malformed (not http
     * or https, no host, user:password@, a fragment, "." or ".." segments,
     * an encoded "/", a backslash, over 2048 bytes; BadRequest names the field
     * "webhook_url"), PERMISSION_DENIED when it lies under none of the
     * prefixes the principals file allows the caller's principal
     * (`webhook_allow`), or the principal may set none. Nothing was created.
     * Retry: no.
     */
    WEBHOOK_URL_REFUSED = 47,
    UNRECOGNIZED = -1
}
export declare function errorReasonFromJSON(object: any): ErrorReason;
export declare function errorReasonToJSON(object: ErrorReason): string;
