<?php
// GENERATED CODE -- DO NOT EDIT!

// Original file comments:
// Ferry: resumable, verified transfer of large files between backends.
//
// A file travels as a *task*: it is declared with CreateTask, its fixed-size
// blocks are streamed with UploadParts (in any order, over several streams),
// QueryMissingBlocks tells what the server still lacks, and Merge verifies the
// whole file and publishes it atomically at its destination. SetState pauses,
// resumes or cancels a task.
//
// Every failure is a gRPC status with a human-readable message and, for
// programs, a google.rpc.Status in the `grpc-status-details-bin` trailer
// (the google.rpc error model, AIP-193): a google.rpc.ErrorInfo whose domain
// is "ferry.v1" and whose reason is a ferry.v1.ErrorReason name
// (ferry/v1/errors.proto documents each reason, its details and whether to
// retry), plus BadRequest, PreconditionFailure, RetryInfo or ResourceInfo
// where they apply. Branch on the reason, not on the message. The codes and
// reasons each RPC returns are listed on the RPC as "CODE (REASON, ...)".
//
// Codes that mean "try again" are UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED and ABORTED, except where the reason says otherwise
// (RESOURCE_EXHAUSTED with QUOTA_EXCEEDED is not retried); wait at least
// RetryInfo's delay when one is given. All other codes are permanent for the
// request that caused them. Statuses from the gRPC runtime itself (deadline,
// unreachable server, a message over the transport limit) carry no details:
// decide on their code.
//
// An error about an existing task the caller may see names it in the
// trailing metadata key `ferry-task-id` (and in ResourceInfo): notably
// ALREADY_EXISTS (STORE_PATH_TAKEN) from CreateTask or UploadFile names the
// task holding the store_path. NOT_FOUND (TASK_NOT_FOUND) names no task: an
// unknown id is never repeated back in a trailer.
//
// Every FerryService call is authenticated (unless the server has no
// credential configured: then every caller is one anonymous principal that
// may do everything): a bearer token in the `authorization` metadata
// ("Bearer TOKEN": a service token, a JWT, or a task's upload token), or a
// client certificate. Every RPC may therefore answer:
// - UNAUTHENTICATED (UNAUTHENTICATED): no credentials, or ones the server
//   does not accept (unknown, revoked, badly signed, wrong issuer or
//   audience). Retry: no, not with the same credentials.
// - UNAUTHENTICATED (TOKEN_EXPIRED): the token expired; get a new one.
// - PERMISSION_DENIED (PERMISSION_DENIED): the caller is known but lacks
//   the permission the RPC needs, or the store_path lies outside its
//   prefixes, or an upload token was used for anything but its own task.
// A task belongs to the principal that created it; another principal's
// task answers NOT_FOUND (TASK_NOT_FOUND) exactly as an unknown id does
// (an operator may read, pause, resume and cancel any task).
//
// Implementers: docs/protocol.md is the protocol guide (block arithmetic,
// CRC32C across messages with a test vector, offsets, acknowledgements and
// windows, retries, resuming after each kind of failure, error reasons).
namespace Ferry\V1;

/**
 * The Ferry file transfer service.
 */
class FerryServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Declares a file to receive, or resumes the task already receiving it.
     *
     * Declaring the same (size, sha256, store_path) again, by the same
     * principal, while its task is UPLOADING or PAUSED returns that task with
     * `resumed` set. A declaration without sha256 never resumes (it would not
     * say which file it is): such a task is resumed by its task_id. Nothing is
     * written when the request is rejected.
     *
     * Status codes (reasons):
     * - OK: the task was created or resumed.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): bad store_path (empty,
     *   absolute, not normalised, "..", control characters, a backslash, too
     *   long, naming a directory, escaping the storage root through a
     *   symlink).
     * - INVALID_ARGUMENT (INVALID_BLOCK_SIZE): a block_size outside the
     *   server's bounds or not a multiple of 64 KiB.
     * - INVALID_ARGUMENT (INVALID_FIELD): malformed sha256, an empty, too long
     *   or control-character file_name, oversized metadata, a size with
     *   size_deferred, a max_size without it.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): size (or, with size_deferred, max_size)
     *   exceeds the server's maximum file size.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): another active task targets the
     *   same store_path (for another file, or declared without sha256 or with
     *   size_deferred).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file exists at store_path and
     *   `overwrite` is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space to stage the
     *   file (its max_size, when its size is deferred).
     * - ABORTED (BUSY): the same store_path is being declared concurrently.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission (an upload token never has it), store_path lies outside its
     *   prefixes (checked before anything is looked up), or `overwrite` without
     *   the "overwrite" permission.
     * ALREADY_EXISTS (STORE_PATH_TAKEN) for another principal's task names no
     * task (no ResourceInfo, no `ferry-task-id` trailer).
     * @param \Ferry\V1\CreateTaskRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function CreateTask(\Ferry\V1\CreateTaskRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/CreateTask',
        $argument,
        ['\Ferry\V1\CreateTaskResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Streams block data. Each client message carries a piece of one block;
     * the server answers with one UploadPartsResponse per completed block, sent
     * only after the block is durable (written, fsynced, recorded in SQL).
     *
     * Rules: within one stream a block's bytes arrive in order and
     * contiguously, starting at offset 0; the message that completes the block
     * carries the CRC32C of the whole block. Different streams may carry
     * different blocks of the same task at once. A block whose CRC32C does not
     * match is answered with BLOCK_STATUS_CHECKSUM_MISMATCH and is not
     * committed; the stream goes on. Re-sending a committed block is a no-op
     * answered with BLOCK_STATUS_COMMITTED, or BLOCK_STATUS_COMMITTED_DIFFERENT
     * if its bytes differ from the committed ones. Several streams (on one
     * replica or several) may send the same block at once: each writes its own
     * copy, the first to commit wins, none waits for another.
     *
     * Status codes (reasons) that end the stream (committed blocks stay
     * committed; a block in progress is dropped and stays missing):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): missing task_id, or the block's last
     *   message without crc32c.
     * - INVALID_ARGUMENT (WRONG_OFFSET): an offset not where the block left
     *   off (a block starts at offset 0).
     * - INVALID_ARGUMENT (BLOCK_NOT_FINISHED): a new block started before the
     *   previous one was complete.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB in one
     *   message.
     * - INVALID_ARGUMENT (MALFORMED_MESSAGE): a message that cannot be parsed.
     * - OUT_OF_RANGE (BLOCK_OUT_OF_RANGE): block_index >= block_count.
     * - OUT_OF_RANGE (DATA_PAST_BLOCK_END): data past the block's end.
     *   For a task whose size is deferred, a block ends at the message that
     *   carries crc32c, or at block_size bytes.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED; resume it.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is canceled,
     *   expired, completed or failed. A pause or cancel on any replica stops
     *   the stream within one block.
     * - RESOURCE_EXHAUSTED (DISK_FULL): the disk is full; retry after
     *   RetryInfo's delay.
     * - RESOURCE_EXHAUSTED (no details, from the gRPC runtime): a message
     *   larger than the transport limit (2 MiB).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\BidiStreamingCall
     */
    public function UploadParts($metadata = [], $options = []) {
        return $this->_bidiRequest('/ferry.v1.FerryService/UploadParts',
        ['\Ferry\V1\UploadPartsResponse','decode'],
        $metadata, $options);
    }

    /**
     * Reports which blocks the server still lacks, as half-open ranges, one page
     * at a time (AIP-158): follow next_page_token until it is empty. For a
     * task that stays UPLOADING or PAUSED the missing set only shrinks. Asked
     * with include_committed_crc32c, it also lists committed blocks' CRC32C,
     * 4096 at a time, so a client can prove a task holds its file's bytes.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a negative page_size,
     *   or a page_token this server did not issue for this task.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "upload" nor the "read" permission.
     * @param \Ferry\V1\QueryMissingBlocksRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function QueryMissingBlocks(\Ferry\V1\QueryMissingBlocksRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/QueryMissingBlocks',
        $argument,
        ['\Ferry\V1\QueryMissingBlocksResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Pauses, resumes or cancels a task. Setting the state a task is already in
     * is a no-op. Canceling deletes the staged bytes.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, or a target state
     *   other than UPLOADING, PAUSED or CANCELED.
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): an illegal transition (e.g.
     *   pausing a COMPLETED task).
     * - FAILED_PRECONDITION (TASK_MERGING): the task is being merged.
     * - ABORTED (BUSY): the task's state changed concurrently, again and
     *   again; retry.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "control" nor the "operator" permission (an upload token has neither).
     * @param \Ferry\V1\SetStateRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function SetState(\Ferry\V1\SetStateRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/SetState',
        $argument,
        ['\Ferry\V1\SetStateResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Verifies and publishes the file: every block must be committed, the
     * whole-file SHA-256 must match the declared one (if declared); the file is
     * then made durable and renamed atomically to store_path. Idempotent: a
     * Merge of a COMPLETED task returns the same result again. When several
     * replicas are asked to merge the same task at once, one publishes and all
     * answer with the same result.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a malformed sha256.
     * - INVALID_ARGUMENT (SHA256_CONFLICT): a sha256 that differs from the
     *   one declared at CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "size"): no size for a task
     *   whose size is deferred.
     * - INVALID_ARGUMENT (SIZE_MISMATCH): a size the committed blocks do not
     *   add up to, or that differs from the task's known size.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): a size beyond the task's max_size.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): store_path now escapes the
     *   storage root (a symlink was created after the task).
     * - FAILED_PRECONDITION (BLOCKS_MISSING): blocks are missing; the message
     *   and a PreconditionFailure name the missing ranges.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is CANCELED or
     *   EXPIRED.
     * - FAILED_PRECONDITION (STAGING_LOST): the staged bytes were removed
     *   outside Ferry.
     * - DATA_LOSS (HASH_MISMATCH): the whole-file SHA-256 does not match the
     *   declared one; the task is now FAILED and its staged bytes are deleted.
     * - DATA_LOSS (TASK_FAILED): the task is FAILED (an earlier Merge found the
     *   mismatch).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file appeared at store_path and
     *   overwrite is false.
     * - ABORTED (MERGE_IN_PROGRESS): another call or replica is merging this
     *   task and did not finish within the call's deadline; retry after
     *   RetryInfo's delay.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * @param \Ferry\V1\MergeRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function Merge(\Ferry\V1\MergeRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/Merge',
        $argument,
        ['\Ferry\V1\MergeResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns a task.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     * @param \Ferry\V1\GetTaskRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetTask(\Ferry\V1\GetTaskRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/GetTask',
        $argument,
        ['\Ferry\V1\GetTaskResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Streams a task whenever its state or committed bytes change, whichever
     * replica the change happened on (each replica polls the database for the
     * tasks watched through it, every --watch-interval), starting with the task
     * as it is now; the stream ends once the task is COMPLETED, FAILED,
     * CANCELED or EXPIRED. For callers that would rather wait on gRPC than run
     * a webhook receiver.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id, or the task was forgotten
     *   (retention) while watched.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - UNAVAILABLE: the replica is shutting down; watch again.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission. Another principal's task is
     *   NOT_FOUND (TASK_NOT_FOUND) unless the caller is an operator.
     * @param \Ferry\V1\WatchTaskRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\ServerStreamingCall
     */
    public function WatchTask(\Ferry\V1\WatchTaskRequest $argument,
      $metadata = [], $options = []) {
        return $this->_serverStreamRequest('/ferry.v1.FerryService/WatchTask',
        $argument,
        ['\Ferry\V1\WatchTaskResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Reads a published file back: by store_path (its current generation) or by
     * the task_id that published it, from an offset, for a length or to the end.
     * The first message names the file's generation (the task that published it
     * and its SHA-256); every message carries its offset and its data's CRC32C.
     * A reader cut off resumes with if_generation set to the generation it
     * began, so that it never splices two versions of a file.
     *
     * Status codes (reasons):
     * - NOT_FOUND (FILE_NOT_FOUND): nothing of the caller's is published at
     *   store_path.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - FAILED_PRECONDITION (GENERATION_CHANGED): the file is no longer the
     *   generation asked for (if_generation, or task_id's upload was replaced).
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): task_id's task is not
     *   COMPLETED.
     * - OUT_OF_RANGE (INVALID_FIELD): offset past the end of the file.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): a bad store_path,
     *   neither or both of store_path and task_id.
     * - DATA_LOSS (INTEGRITY_FAILURE): the file on disk is not the one recorded
     *   (changed outside Ferry).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "read"
     *   permission, or store_path lies outside its prefixes (checked before
     *   anything is looked up).
     * A file whose current version another principal published reads as
     * NOT_FOUND (FILE_NOT_FOUND), exactly as no file.
     * @param \Ferry\V1\ReadFileRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\ServerStreamingCall
     */
    public function ReadFile(\Ferry\V1\ReadFileRequest $argument,
      $metadata = [], $options = []) {
        return $this->_serverStreamRequest('/ferry.v1.FerryService/ReadFile',
        $argument,
        ['\Ferry\V1\ReadFileResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Uploads a small file (at most 1 MiB) in one round trip: declares it, checks
     * its CRC32C and SHA-256, publishes it atomically and returns the COMPLETED
     * task, as CreateTask + UploadParts + Merge would. Idempotent: when the same
     * bytes are already published at store_path (a call whose reply was lost, or
     * the same file sent again), the call publishes nothing and returns the task
     * that published them, with `resumed` set. (A large file sent again through
     * CreateTask meets ALREADY_EXISTS instead, as its bytes are not known yet.)
     *
     * Status codes (reasons):
     * - OK: the file is published; the task is COMPLETED.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): as for
     *   CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "crc32c"): crc32c is not set.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB.
     * - ABORTED (CHECKSUM_MISMATCH): the data does not match its CRC32C
     *   (corrupted in transit): nothing was written; send it again.
     * - DATA_LOSS (HASH_MISMATCH): the data does not match the declared
     *   SHA-256: nothing was published.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): an active task targets store_path.
     * - ALREADY_EXISTS (DESTINATION_EXISTS): another file exists there and
     *   overwrite is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space.
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for CreateTask, checked
     *   before anything is looked up, so the call tells nothing about paths
     *   outside the caller's prefixes.
     * - INVALID_ARGUMENT, PERMISSION_DENIED (WEBHOOK_URL_REFUSED): as for
     *   CreateTask.
     * @param \Ferry\V1\UploadFileRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function UploadFile(\Ferry\V1\UploadFileRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/UploadFile',
        $argument,
        ['\Ferry\V1\UploadFileResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Issues a new upload token for one of the caller's UPLOADING or PAUSED
     * tasks (for an upload that outlives its first token). Earlier tokens stay
     * valid until they expire.
     *
     * Status codes (reasons):
     * - OK: `upload_token` is valid until `expire_time`.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id (or another principal's).
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is COMPLETED,
     *   CANCELED, EXPIRED or FAILED.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission, or is itself an upload token.
     * @param \Ferry\V1\IssueUploadTokenRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function IssueUploadToken(\Ferry\V1\IssueUploadTokenRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/IssueUploadToken',
        $argument,
        ['\Ferry\V1\IssueUploadTokenResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Lists the caller's tasks, newest first unless order_by says otherwise, one
     * page at a time (AIP-158): follow next_page_token until it is empty. Pages
     * are keyset pages, so tasks created meanwhile never shift a listing in
     * progress (newest first, they appear only in a new listing). An operator
     * may list every principal's tasks with all_principals. committed_bytes is
     * exact for every entry, as in GetTask.
     *
     * Status codes (reasons):
     * - INVALID_ARGUMENT (INVALID_FIELD): a negative page_size, an unknown
     *   order_by, an unspecified state, a metadata filter without "=", a
     *   created_after not before created_before, control characters in a
     *   filter, or a page_token this server did not issue for the same filters
     *   and order (the message says which field).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission (an upload token lists nothing),
     *   or asked for all_principals without "operator".
     * @param \Ferry\V1\ListTasksRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListTasks(\Ferry\V1\ListTasksRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/ListTasks',
        $argument,
        ['\Ferry\V1\ListTasksResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     *
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     * @param \Ferry\V1\GetStatsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetStats(\Ferry\V1\GetStatsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/ferry.v1.FerryService/GetStats',
        $argument,
        ['\Ferry\V1\GetStatsResponse', 'decode'],
        $metadata, $options);
    }

}
