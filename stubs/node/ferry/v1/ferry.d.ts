import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { type CallOptions, type ChannelCredentials, Client, type ClientDuplexStream, type ClientOptions, type ClientReadableStream, type ClientUnaryCall, type handleBidiStreamingCall, type handleServerStreamingCall, type handleUnaryCall, type Metadata, type ServiceError, type UntypedServiceImplementation } from "@grpc/grpc-js";
export declare const protobufPackage = "ferry.v1";
export declare const protobufFileName = "ferry/v1/ferry.proto";
/**
 * Ferry: resumable, verified transfer of large files between backends.
 *
 * A file travels as a *task*: it is declared with CreateTask, its fixed-size
 * blocks are streamed with UploadParts (in any order, over several streams),
 * QueryMissingBlocks tells what the server still lacks, and Merge verifies the
 * whole file and publishes it atomically at its destination. SetState pauses,
 * resumes or cancels a task.
 *
 * Every failure is a gRPC status with a human-readable message and, for
 * programs, a google.rpc.Status in the `grpc-status-details-bin` trailer
 * (the google.rpc error model, AIP-193): a google.rpc.ErrorInfo whose domain
 * is "ferry.v1" and whose reason is a ferry.v1.ErrorReason name
 * (ferry/v1/errors.proto documents each reason, its details and whether to
 * retry), plus BadRequest, PreconditionFailure, RetryInfo or ResourceInfo
 * where they apply. Branch on the reason, not on the message. The codes and
 * reasons each RPC returns are listed on the RPC as "CODE (REASON, ...)".
 *
 * Codes that mean "try again" are UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED and ABORTED, except where the reason says otherwise
 * (RESOURCE_EXHAUSTED with QUOTA_EXCEEDED is not retried); wait at least
 * RetryInfo's delay when one is given. All other codes are permanent for the
 * request that caused them. Statuses from the gRPC runtime itself (deadline,
 * unreachable server, a message over the transport limit) carry no details:
 * decide on their code.
 *
 * An error about an existing task the caller may see names it in the
 * trailing metadata key `ferry-task-id` (and in ResourceInfo): notably
 * ALREADY_EXISTS (STORE_PATH_TAKEN) from CreateTask or UploadFile names the
 * task holding the store_path. NOT_FOUND (TASK_NOT_FOUND) names no task: an
 * unknown id is never repeated back in a trailer.
 *
 * Every FerryService call is authenticated (unless the server has no
 * credential configured: then every caller is one anonymous principal that
 * may do everything): a bearer token in the `authorization` metadata
 * ("Bearer TOKEN": a service token, a JWT, or a task's upload token), or a
 * client certificate. Every RPC may therefore answer:
 * - UNAUTHENTICATED (UNAUTHENTICATED): no credentials, or ones the server
 *   does not accept (unknown, revoked, badly signed, wrong issuer or
 *   audience). Retry: no, not with the same credentials.
 * - UNAUTHENTICATED (TOKEN_EXPIRED): the token expired; get a new one.
 * - PERMISSION_DENIED (PERMISSION_DENIED): the caller is known but lacks
 *   the permission the RPC needs, or the store_path lies outside its
 *   prefixes, or an upload token was used for anything but its own task.
 * A task belongs to the principal that created it; another principal's
 * task answers NOT_FOUND (TASK_NOT_FOUND) exactly as an unknown id does
 * (an operator may read, pause, resume and cancel any task).
 *
 * Implementers: docs/protocol.md is the protocol guide (block arithmetic,
 * CRC32C across messages with a test vector, offsets, acknowledgements and
 * windows, retries, resuming after each kind of failure, error reasons).
 */
/**
 * The life cycle of a task. UPLOADING <-> PAUSED; UPLOADING -> COMPLETED
 * through Merge; UPLOADING/PAUSED -> CANCELED, EXPIRED or (at Merge) FAILED.
 * COMPLETED, CANCELED, EXPIRED and FAILED are terminal.
 */
export declare enum TaskState {
    /** TASK_STATE_UNSPECIFIED - Never set by the server; as a SetState target it is INVALID_ARGUMENT. */
    TASK_STATE_UNSPECIFIED = 0,
    /** TASK_STATE_UPLOADING - Accepting blocks. */
    TASK_STATE_UPLOADING = 1,
    /** TASK_STATE_PAUSED - Blocks are rejected until the task is resumed. */
    TASK_STATE_PAUSED = 2,
    /** TASK_STATE_COMPLETED - Verified and published at store_path. Terminal. */
    TASK_STATE_COMPLETED = 3,
    /** TASK_STATE_CANCELED - Canceled by a caller; staged bytes deleted. Terminal. */
    TASK_STATE_CANCELED = 4,
    /** TASK_STATE_EXPIRED - Idle past its deadline; staged bytes deleted. Terminal. */
    TASK_STATE_EXPIRED = 5,
    /**
     * TASK_STATE_FAILED - The whole-file SHA-256 did not match at Merge; staged bytes deleted.
     * Terminal.
     */
    TASK_STATE_FAILED = 6,
    UNRECOGNIZED = -1
}
export declare function taskStateFromJSON(object: any): TaskState;
export declare function taskStateToJSON(object: TaskState): string;
/** Outcome of one block. */
export declare enum BlockStatus {
    /** BLOCK_STATUS_UNSPECIFIED - Never sent. */
    BLOCK_STATUS_UNSPECIFIED = 0,
    /** BLOCK_STATUS_COMMITTED - The block is durable and recorded (or was already). */
    BLOCK_STATUS_COMMITTED = 1,
    /**
     * BLOCK_STATUS_CHECKSUM_MISMATCH - The block's bytes did not match its CRC32C; it is not committed. Send it
     * again.
     */
    BLOCK_STATUS_CHECKSUM_MISMATCH = 2,
    /**
     * BLOCK_STATUS_COMMITTED_DIFFERENT - The block was already committed, by an earlier attempt, with bytes of a
     * different CRC32C: these bytes were discarded and the committed ones stay.
     * The source changed since the block was first sent, or the client is
     * wrong; sending it again cannot succeed.
     */
    BLOCK_STATUS_COMMITTED_DIFFERENT = 3,
    UNRECOGNIZED = -1
}
export declare function blockStatusFromJSON(object: any): BlockStatus;
export declare function blockStatusToJSON(object: BlockStatus): string;
/** Where a completion notice's delivery stands. */
export declare enum NotificationState {
    /** NOTIFICATION_STATE_UNSPECIFIED - Not set. */
    NOTIFICATION_STATE_UNSPECIFIED = 0,
    /** NOTIFICATION_STATE_PENDING - Not yet delivered; retried with capped backoff. */
    NOTIFICATION_STATE_PENDING = 1,
    /** NOTIFICATION_STATE_DELIVERED - The receiver answered 2xx. */
    NOTIFICATION_STATE_DELIVERED = 2,
    /**
     * NOTIFICATION_STATE_UNDELIVERABLE - Given up on: retried for the configured time, or refused (a non-public
     * address without --webhook-allow-private).
     */
    NOTIFICATION_STATE_UNDELIVERABLE = 3,
    UNRECOGNIZED = -1
}
export declare function notificationStateFromJSON(object: any): NotificationState;
export declare function notificationStateToJSON(object: NotificationState): string;
/** One file being received. */
export interface Task {
    /** Server-assigned, random, unguessable id (32 lowercase hex digits). */
    taskId: string;
    /** The file's name as declared (informational; not a path). */
    fileName: string;
    /** Exact size of the file in bytes (0 allowed). */
    size: bigint;
    /**
     * Whole-file SHA-256 as 64 lowercase hex digits: the declared one, or,
     * once COMPLETED, the one the server computed. Empty if not declared and
     * not yet computed.
     */
    sha256: string;
    /** Destination, relative to the server's storage root. */
    storePath: string;
    /** Opaque caller metadata, returned unchanged. */
    metadata: {
        [key: string]: string;
    };
    /** Size of every block but the last, in bytes. */
    blockSize: number;
    /** Number of blocks: ceil(size / block_size); 0 for an empty file. */
    blockCount: number;
    /** Current state. */
    state: TaskState;
    /** Bytes in committed blocks. */
    committedBytes: bigint;
    /** Whether an existing file at store_path may be replaced at Merge. */
    overwrite: boolean;
    /** When the task was created. */
    createTime: Date | undefined;
    /** When the task last changed (state change or block commit). */
    updateTime: Date | undefined;
    /** When an UPLOADING or PAUSED task expires if nothing happens to it. */
    expireTime: Date | undefined;
    /** Why the task FAILED (empty otherwise). */
    failureReason: string;
    /**
     * True while the task's size is deferred (declared with size_deferred and
     * not yet fixed by Merge): `size` is 0 and `block_count` is the most blocks
     * `max_size` allows. False once Merge fixed the size, and for tasks
     * declared with their size.
     */
    sizeDeferred: boolean;
    /**
     * For a task declared with size_deferred: the most bytes it may hold (the
     * declared max_size, or the server's maximum file size when none was
     * declared). 0 for tasks declared with their size.
     */
    maxSize: bigint;
    /**
     * Where the task's completion notice is POSTed when it ends, chosen when it
     * was created (the URL given at CreateTask, else its principal's, else the
     * server's); empty when no notice will be sent.
     */
    webhookUrl: string;
}
export interface Task_MetadataEntry {
    key: string;
    value: string;
}
/** A half-open range of block indexes [start, end). */
export interface BlockRange {
    /** First block index in the range. */
    start: number;
    /** One past the last block index in the range. */
    end: number;
}
/** Request for CreateTask. */
export interface CreateTaskRequest {
    /** The file's name (1..255 bytes, informational). */
    fileName: string;
    /** Exact size in bytes; at most the server's maximum file size. */
    size: bigint;
    /**
     * Whole-file SHA-256, 64 hex digits (either case), or empty to let the
     * server compute it without verification.
     */
    sha256: string;
    /**
     * Destination relative to the storage root: normalised, "/"-separated, no
     * empty, "." or ".." components, no leading or trailing "/", no control
     * characters (NUL included), at most 1024 bytes (255 per component). A
     * backslash anywhere is refused (INVALID_STORE_PATH), never taken as a
     * separator or an ordinary character, so that one path names one file on
     * every platform.
     */
    storePath: string;
    /**
     * Opaque metadata (at most 64 entries, 16 KiB in all), returned with the
     * task and in the Merge result.
     */
    metadata: {
        [key: string]: string;
    };
    /**
     * Requested block size in bytes; 0 for the server's default. Must be a
     * multiple of 64 KiB within the server's bounds.
     */
    blockSize: number;
    /**
     * Replace an existing file at store_path at Merge (needs the "overwrite"
     * permission).
     */
    overwrite: boolean;
    /**
     * The size is not known yet (a pipe): `size` must be 0, every block but
     * the last is exactly block_size bytes, the message carrying crc32c ends a
     * block (a block shorter than block_size is the last), and Merge declares
     * the size. Such a declaration never resumes another task: continue it by
     * its task_id. INVALID_ARGUMENT (INVALID_FIELD, field "size") when size is
     * not 0.
     */
    sizeDeferred: boolean;
    /**
     * With size_deferred: the most bytes the file may have, or 0 for the
     * server's maximum file size. A backend that must choose its part size up
     * front (an object store) chooses it from this value. OUT_OF_RANGE
     * (FILE_TOO_LARGE, field "max_size") beyond the server's maximum file size;
     * INVALID_ARGUMENT (INVALID_FIELD, field "max_size") when set without
     * size_deferred.
     */
    maxSize: bigint;
    /**
     * Also issue an upload token for the task (in the response): the bearer
     * may upload to, query, read and merge this one task and nothing else.
     * Hand it to the uploader instead of your own credential.
     */
    issueUploadToken: boolean;
    /**
     * With issue_upload_token: how long the token lives, in seconds; 0 or
     * more than the server's limit (--upload-token-ttl): that limit.
     */
    uploadTokenTtlSeconds: number;
    /**
     * Where to POST this task's completion notice instead of the principal's
     * own webhook URL: an http(s) URL under one of the prefixes the principals
     * file allows the caller (`webhook_allow`). Empty: the principal's URL, or
     * the server's --webhook-url. INVALID_ARGUMENT (WEBHOOK_URL_REFUSED, field
     * "webhook_url") when malformed; PERMISSION_DENIED (WEBHOOK_URL_REFUSED)
     * when outside the caller's allowlist. A declaration that resumes a task
     * keeps the URL recorded when the task was created.
     */
    webhookUrl: string;
}
export interface CreateTaskRequest_MetadataEntry {
    key: string;
    value: string;
}
/** Response for CreateTask. */
export interface CreateTaskResponse {
    /** The created or resumed task. */
    task: Task | undefined;
    /** True if an existing task was returned instead of creating one. */
    resumed: boolean;
    /**
     * With issue_upload_token: the task's new upload token (send it as
     * "authorization: Bearer TOKEN"); empty otherwise. Secret: never log it.
     */
    uploadToken: string;
    /** When upload_token expires; unset without one. */
    uploadTokenExpireTime: Date | undefined;
}
/** One piece of one block. At most 1 MiB of data per message. */
export interface UploadPartsRequest {
    /** The task the block belongs to. */
    taskId: string;
    /** Index of the block, 0 <= block_index < block_count. */
    blockIndex: number;
    /**
     * Offset of `data` within the block: 0 for a block's first message, then
     * exactly the number of bytes of the block already sent on this stream.
     */
    offset: bigint;
    /**
     * CRC32C (Castagnoli) of the whole block. Required on the message that
     * completes the block, ignored on the others.
     */
    crc32c?: number | undefined;
    /** The bytes, [offset, offset + len(data)) of the block. */
    data: Buffer;
}
/** The server's answer for one completed block. */
export interface UploadPartsResponse {
    /** The task the block belongs to. */
    taskId: string;
    /** The block's index. */
    blockIndex: number;
    /** What happened to the block. */
    status: BlockStatus;
    /** CRC32C the server computed over the bytes it received. */
    receivedCrc32c: number;
    /** Human-readable detail, e.g. for a checksum mismatch. */
    message: string;
}
/** Request for QueryMissingBlocks. */
export interface QueryMissingBlocksRequest {
    /** The task to ask about. */
    taskId: string;
    /**
     * Also list committed blocks with their CRC32C (in `committed`), so that a
     * client that lost track of a task can check them against its local file
     * before resuming it. Off by default: the list is only built when asked.
     */
    includeCommittedCrc32c: boolean;
    /**
     * With include_committed_crc32c: list committed blocks from this block
     * index on (0: from the first). The answer holds at most 4096 of them; ask
     * again from `next_committed_index` for the rest.
     */
    committedStart: number;
    /**
     * Most missing ranges to return in this page (AIP-158). 0: the server's
     * default; values above the server's maximum (10000) are lowered to it. A
     * page may hold fewer ranges than asked even when more follow: the server
     * also bounds how many blocks one page looks at. Negative: INVALID_ARGUMENT.
     */
    pageSize: number;
    /**
     * The next_page_token of the previous answer, to continue the listing of
     * missing ranges; empty: from the first block. Opaque.
     */
    pageToken: string;
}
/** Response for QueryMissingBlocks. */
export interface QueryMissingBlocksResponse {
    /** The task's current state. */
    state: TaskState;
    /** The task's block size in bytes. */
    blockSize: number;
    /** The task's number of blocks. */
    blockCount: number;
    /**
     * Bytes in committed blocks. On the first page only (a request without
     * page_token), and only for a task of at most 8,192 blocks (one page spans
     * it) or one that has ended; 0 otherwise, where counting them would cost a
     * look at every block of the task: sum the missing ranges of every page, or
     * ask GetTask, which counts.
     */
    committedBytes: bigint;
    /**
     * Blocks not yet committed, as sorted, disjoint half-open ranges: this
     * page's share of them (see next_page_token). A client that ignores
     * pagination sees the first page only.
     */
    missing: BlockRange[];
    /**
     * With include_committed_crc32c: committed blocks from committed_start on,
     * in index order, at most 4096 of them. Empty otherwise.
     */
    committed: CommittedBlock[];
    /**
     * With include_committed_crc32c, when `committed` was cut at 4096 blocks:
     * the committed_start to ask from for the next page. 0: nothing more.
     */
    nextCommittedIndex: number;
    /**
     * Non-empty when more missing ranges follow `missing`: pass it as
     * page_token (with the same task_id) for the next page. Empty: this page
     * ends the listing.
     */
    nextPageToken: string;
}
/** A committed block and the CRC32C (Castagnoli) of its bytes. */
export interface CommittedBlock {
    /** The block's index. */
    index: number;
    /** CRC32C of the block's bytes, as verified when it was committed. */
    crc32c: number;
}
/** Request for SetState. */
export interface SetStateRequest {
    /** The task to change. */
    taskId: string;
    /**
     * Target state: TASK_STATE_UPLOADING (resume), TASK_STATE_PAUSED or
     * TASK_STATE_CANCELED.
     */
    state: TaskState;
}
/** Response for SetState. */
export interface SetStateResponse {
    /** The task after the change. */
    task: Task | undefined;
}
/** Request for Merge. */
export interface MergeRequest {
    /** The task to verify and publish. */
    taskId: string;
    /**
     * The whole-file SHA-256 (64 hex digits) to verify against, for a task
     * created without one: a client may hash the file while it uploads instead
     * of before. Empty: verify against the sha256 declared at CreateTask, if
     * any. If both are given they must be equal.
     */
    sha256: string;
    /**
     * The file's size, for a task declared with size_deferred: required there
     * (INVALID_ARGUMENT, INVALID_FIELD, field "size", when absent), at most
     * its max_size (OUT_OF_RANGE, FILE_TOO_LARGE), and it must agree with the
     * committed blocks: blocks [0, ceil(size / block_size)) committed
     * (FAILED_PRECONDITION, BLOCKS_MISSING, otherwise), each but the last
     * block_size bytes long, the last ending at `size`, none beyond it
     * (INVALID_ARGUMENT, SIZE_MISMATCH, otherwise). Merge then fixes the size
     * and the task is an ordinary one. For a task declared with its size, a
     * given size must equal it (INVALID_ARGUMENT, SIZE_MISMATCH).
     */
    size?: bigint | undefined;
}
/** Response for Merge: the completion notice. */
export interface MergeResponse {
    /**
     * The COMPLETED task; its sha256 is the verified whole-file hash and its
     * metadata the caller's.
     */
    task: Task | undefined;
}
/** Request for UploadFile: a whole small file in one message. */
export interface UploadFileRequest {
    /** The file's name (1..255 bytes, informational). */
    fileName: string;
    /** Whole-file SHA-256, 64 hex digits, or empty to let the server compute it. */
    sha256: string;
    /** Destination relative to the storage root (same rules as CreateTask). */
    storePath: string;
    /** Opaque metadata, returned with the task. */
    metadata: {
        [key: string]: string;
    };
    /** Replace an existing file at store_path. */
    overwrite: boolean;
    /**
     * CRC32C (Castagnoli) of `data`. Required: without it the call is
     * INVALID_ARGUMENT (INVALID_FIELD).
     */
    crc32c?: number | undefined;
    /** The whole file: at most 1 MiB. Its length is the file's size. */
    data: Buffer;
    /** Where to POST the task's completion notice (same rules as CreateTask). */
    webhookUrl: string;
}
export interface UploadFileRequest_MetadataEntry {
    key: string;
    value: string;
}
/** Response for UploadFile. */
export interface UploadFileResponse {
    /** The COMPLETED task, as Merge would return it. */
    task: Task | undefined;
    /**
     * True if the same bytes were already published at store_path and nothing
     * was written: `task` is the one that published them.
     */
    resumed: boolean;
}
/** Request for ReadFile. Exactly one of store_path and task_id. */
export interface ReadFileRequest {
    /** The published file's path under the storage root. */
    storePath: string;
    /** The task that published the file (its generation). */
    taskId: string;
    /** First byte to read. */
    offset: bigint;
    /** Bytes to read; 0 reads to the end. */
    length: bigint;
    /**
     * When set, the generation (a task id) the file must still be; otherwise
     * GENERATION_CHANGED.
     */
    ifGeneration: string;
}
/** A published file's identity: the task that published it. */
export interface Generation {
    /** The publishing task. */
    taskId: string;
    /** The file's SHA-256 (lowercase hex): what a complete read must hash to. */
    sha256: string;
    /** The file's size in bytes. */
    size: bigint;
}
/** One message of a ReadFile stream (at most 1 MiB of data). */
export interface ReadFileResponse {
    /** The file's generation: set in the first message only. */
    generation: Generation | undefined;
    /** Offset of data in the file. */
    offset: bigint;
    /** The bytes. */
    data: Buffer;
    /** CRC32C (Castagnoli) of data. */
    crc32c: number;
}
/** Request for WatchTask. */
export interface WatchTaskRequest {
    /** The task to watch. */
    taskId: string;
}
/** One change of a watched task. */
export interface WatchTaskResponse {
    /** The task after the change. */
    task: Task | undefined;
}
/** Request for GetTask. */
export interface GetTaskRequest {
    /** The task to return. */
    taskId: string;
}
/** Response for GetTask. */
export interface GetTaskResponse {
    /** The task. */
    task: Task | undefined;
    /**
     * The delivery of the task's completion notice (the webhook POST made when
     * it ended); unset when none was recorded (no webhook configured, or the
     * task has not ended).
     */
    notification: Notification | undefined;
}
/**
 * A completion notice: an HTTP POST to the business backend's webhook when a
 * task ends, signed per Standard Webhooks (README, "Completion notifications").
 */
export interface Notification {
    /** The notice's stable id (the webhook-id header): receivers de-duplicate by it. */
    eventId: string;
    /** Where its delivery stands. */
    state: NotificationState;
    /** POSTs made so far. */
    attempts: number;
    /** Why the last attempt failed (empty when none failed). */
    lastError: string;
    /** When the receiver took it (unset until then). */
    deliveredAt: Date | undefined;
}
/** Request for IssueUploadToken. */
export interface IssueUploadTokenRequest {
    /** The caller's task the token is for. */
    taskId: string;
    /**
     * How long the token lives, in seconds; 0 or more than the server's limit
     * (--upload-token-ttl): that limit.
     */
    ttlSeconds: number;
}
/** Response for IssueUploadToken. */
export interface IssueUploadTokenResponse {
    /**
     * The new upload token (send it as "authorization: Bearer TOKEN"). Secret:
     * never log it.
     */
    uploadToken: string;
    /** When it expires. */
    expireTime: Date | undefined;
}
/**
 * Request for ListTasks. Every filter set must hold (AND); within states and
 * metadata, states match any (OR), metadata entries must all match (AND).
 */
export interface ListTasksRequest {
    /** Most tasks in the page: 0 means 100; more than 1000 means 1000. */
    pageSize: number;
    /**
     * The next_page_token of the previous page, with the same filters and
     * order; empty for the first page.
     */
    pageToken: string;
    /** Only tasks in one of these states (empty: any state). */
    states: TaskState[];
    /**
     * Only tasks whose store_path starts with this prefix (plain characters,
     * no patterns).
     */
    storePathPrefix: string;
    /**
     * Only tasks whose metadata has each of these entries, written "key=value"
     * (the first "=" splits).
     */
    metadata: string[];
    /** Only tasks created at or after this time. */
    createdAfter: Date | undefined;
    /** Only tasks created before this time. */
    createdBefore: Date | undefined;
    /** "create_time desc" (the default when empty) or "create_time". */
    orderBy: string;
    /** Every principal's tasks, not only the caller's: needs "operator". */
    allPrincipals: boolean;
}
/** Response for ListTasks. */
export interface ListTasksResponse {
    /** The page's tasks, in the order asked for. */
    tasks: Task[];
    /** Pass as page_token for the next page; empty on the last page. */
    nextPageToken: string;
}
/** Request for GetStats. */
export interface GetStatsRequest {
    /** Every principal's tasks, not only the caller's: needs "operator". */
    allPrincipals: boolean;
}
/** The count and bytes of tasks in one state. */
export interface StateStats {
    /** The state. */
    state: TaskState;
    /** Tasks in this state. */
    tasks: bigint;
    /** Their declared sizes, summed (deferred sizes count 0 until Merge). */
    declaredBytes: bigint;
}
/** Response for GetStats. */
export interface GetStatsResponse {
    /** One entry per state that has tasks, in TaskState order. */
    states: StateStats[];
    /** Bytes in committed blocks of UPLOADING and PAUSED tasks. */
    stagedBytes: bigint;
    /** Sizes of COMPLETED tasks, summed. */
    publishedBytes: bigint;
}
export declare const Task: MessageFns<Task>;
export declare const Task_MetadataEntry: MessageFns<Task_MetadataEntry>;
export declare const BlockRange: MessageFns<BlockRange>;
export declare const CreateTaskRequest: MessageFns<CreateTaskRequest>;
export declare const CreateTaskRequest_MetadataEntry: MessageFns<CreateTaskRequest_MetadataEntry>;
export declare const CreateTaskResponse: MessageFns<CreateTaskResponse>;
export declare const UploadPartsRequest: MessageFns<UploadPartsRequest>;
export declare const UploadPartsResponse: MessageFns<UploadPartsResponse>;
export declare const QueryMissingBlocksRequest: MessageFns<QueryMissingBlocksRequest>;
export declare const QueryMissingBlocksResponse: MessageFns<QueryMissingBlocksResponse>;
export declare const CommittedBlock: MessageFns<CommittedBlock>;
export declare const SetStateRequest: MessageFns<SetStateRequest>;
export declare const SetStateResponse: MessageFns<SetStateResponse>;
export declare const MergeRequest: MessageFns<MergeRequest>;
export declare const MergeResponse: MessageFns<MergeResponse>;
export declare const UploadFileRequest: MessageFns<UploadFileRequest>;
export declare const UploadFileRequest_MetadataEntry: MessageFns<UploadFileRequest_MetadataEntry>;
export declare const UploadFileResponse: MessageFns<UploadFileResponse>;
export declare const ReadFileRequest: MessageFns<ReadFileRequest>;
export declare const Generation: MessageFns<Generation>;
export declare const ReadFileResponse: MessageFns<ReadFileResponse>;
export declare const WatchTaskRequest: MessageFns<WatchTaskRequest>;
export declare const WatchTaskResponse: MessageFns<WatchTaskResponse>;
export declare const GetTaskRequest: MessageFns<GetTaskRequest>;
export declare const GetTaskResponse: MessageFns<GetTaskResponse>;
export declare const Notification: MessageFns<Notification>;
export declare const IssueUploadTokenRequest: MessageFns<IssueUploadTokenRequest>;
export declare const IssueUploadTokenResponse: MessageFns<IssueUploadTokenResponse>;
export declare const ListTasksRequest: MessageFns<ListTasksRequest>;
export declare const ListTasksResponse: MessageFns<ListTasksResponse>;
export declare const GetStatsRequest: MessageFns<GetStatsRequest>;
export declare const StateStats: MessageFns<StateStats>;
export declare const GetStatsResponse: MessageFns<GetStatsResponse>;
/** The Ferry file transfer service. */
export type FerryServiceService = typeof FerryServiceService;
export declare const FerryServiceService: {
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
     */
    readonly createTask: {
        readonly path: "/ferry.v1.FerryService/CreateTask";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreateTaskRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreateTaskRequest;
        readonly responseSerialize: (value: CreateTaskResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreateTaskResponse;
    };
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
     */
    readonly uploadParts: {
        readonly path: "/ferry.v1.FerryService/UploadParts";
        readonly requestStream: true;
        readonly responseStream: true;
        readonly requestSerialize: (value: UploadPartsRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UploadPartsRequest;
        readonly responseSerialize: (value: UploadPartsResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UploadPartsResponse;
    };
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
     */
    readonly queryMissingBlocks: {
        readonly path: "/ferry.v1.FerryService/QueryMissingBlocks";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: QueryMissingBlocksRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => QueryMissingBlocksRequest;
        readonly responseSerialize: (value: QueryMissingBlocksResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => QueryMissingBlocksResponse;
    };
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
     */
    readonly setState: {
        readonly path: "/ferry.v1.FerryService/SetState";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: SetStateRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => SetStateRequest;
        readonly responseSerialize: (value: SetStateResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => SetStateResponse;
    };
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
     */
    readonly merge: {
        readonly path: "/ferry.v1.FerryService/Merge";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: MergeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => MergeRequest;
        readonly responseSerialize: (value: MergeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => MergeResponse;
    };
    /**
     * Returns a task.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     */
    readonly getTask: {
        readonly path: "/ferry.v1.FerryService/GetTask";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetTaskRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetTaskRequest;
        readonly responseSerialize: (value: GetTaskResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetTaskResponse;
    };
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
     */
    readonly watchTask: {
        readonly path: "/ferry.v1.FerryService/WatchTask";
        readonly requestStream: false;
        readonly responseStream: true;
        readonly requestSerialize: (value: WatchTaskRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => WatchTaskRequest;
        readonly responseSerialize: (value: WatchTaskResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => WatchTaskResponse;
    };
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
     */
    readonly readFile: {
        readonly path: "/ferry.v1.FerryService/ReadFile";
        readonly requestStream: false;
        readonly responseStream: true;
        readonly requestSerialize: (value: ReadFileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ReadFileRequest;
        readonly responseSerialize: (value: ReadFileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ReadFileResponse;
    };
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
     */
    readonly uploadFile: {
        readonly path: "/ferry.v1.FerryService/UploadFile";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: UploadFileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UploadFileRequest;
        readonly responseSerialize: (value: UploadFileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UploadFileResponse;
    };
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
     */
    readonly issueUploadToken: {
        readonly path: "/ferry.v1.FerryService/IssueUploadToken";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: IssueUploadTokenRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => IssueUploadTokenRequest;
        readonly responseSerialize: (value: IssueUploadTokenResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => IssueUploadTokenResponse;
    };
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
     */
    readonly listTasks: {
        readonly path: "/ferry.v1.FerryService/ListTasks";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListTasksRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListTasksRequest;
        readonly responseSerialize: (value: ListTasksResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListTasksResponse;
    };
    /**
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     *
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     */
    readonly getStats: {
        readonly path: "/ferry.v1.FerryService/GetStats";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetStatsRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetStatsRequest;
        readonly responseSerialize: (value: GetStatsResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetStatsResponse;
    };
};
export interface FerryServiceServer extends UntypedServiceImplementation {
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
     */
    createTask: handleUnaryCall<CreateTaskRequest, CreateTaskResponse>;
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
     */
    uploadParts: handleBidiStreamingCall<UploadPartsRequest, UploadPartsResponse>;
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
     */
    queryMissingBlocks: handleUnaryCall<QueryMissingBlocksRequest, QueryMissingBlocksResponse>;
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
     */
    setState: handleUnaryCall<SetStateRequest, SetStateResponse>;
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
     */
    merge: handleUnaryCall<MergeRequest, MergeResponse>;
    /**
     * Returns a task.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     */
    getTask: handleUnaryCall<GetTaskRequest, GetTaskResponse>;
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
     */
    watchTask: handleServerStreamingCall<WatchTaskRequest, WatchTaskResponse>;
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
     */
    readFile: handleServerStreamingCall<ReadFileRequest, ReadFileResponse>;
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
     */
    uploadFile: handleUnaryCall<UploadFileRequest, UploadFileResponse>;
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
     */
    issueUploadToken: handleUnaryCall<IssueUploadTokenRequest, IssueUploadTokenResponse>;
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
     */
    listTasks: handleUnaryCall<ListTasksRequest, ListTasksResponse>;
    /**
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     *
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     */
    getStats: handleUnaryCall<GetStatsRequest, GetStatsResponse>;
}
export interface FerryServiceClient extends Client {
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
     */
    createTask(request: CreateTaskRequest, callback: (error: ServiceError | null, response: CreateTaskResponse) => void): ClientUnaryCall;
    createTask(request: CreateTaskRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreateTaskResponse) => void): ClientUnaryCall;
    createTask(request: CreateTaskRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreateTaskResponse) => void): ClientUnaryCall;
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
     */
    uploadParts(): ClientDuplexStream<UploadPartsRequest, UploadPartsResponse>;
    uploadParts(options: Partial<CallOptions>): ClientDuplexStream<UploadPartsRequest, UploadPartsResponse>;
    uploadParts(metadata: Metadata, options?: Partial<CallOptions>): ClientDuplexStream<UploadPartsRequest, UploadPartsResponse>;
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
     */
    queryMissingBlocks(request: QueryMissingBlocksRequest, callback: (error: ServiceError | null, response: QueryMissingBlocksResponse) => void): ClientUnaryCall;
    queryMissingBlocks(request: QueryMissingBlocksRequest, metadata: Metadata, callback: (error: ServiceError | null, response: QueryMissingBlocksResponse) => void): ClientUnaryCall;
    queryMissingBlocks(request: QueryMissingBlocksRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: QueryMissingBlocksResponse) => void): ClientUnaryCall;
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
     */
    setState(request: SetStateRequest, callback: (error: ServiceError | null, response: SetStateResponse) => void): ClientUnaryCall;
    setState(request: SetStateRequest, metadata: Metadata, callback: (error: ServiceError | null, response: SetStateResponse) => void): ClientUnaryCall;
    setState(request: SetStateRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: SetStateResponse) => void): ClientUnaryCall;
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
     */
    merge(request: MergeRequest, callback: (error: ServiceError | null, response: MergeResponse) => void): ClientUnaryCall;
    merge(request: MergeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: MergeResponse) => void): ClientUnaryCall;
    merge(request: MergeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: MergeResponse) => void): ClientUnaryCall;
    /**
     * Returns a task.
     *
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     */
    getTask(request: GetTaskRequest, callback: (error: ServiceError | null, response: GetTaskResponse) => void): ClientUnaryCall;
    getTask(request: GetTaskRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetTaskResponse) => void): ClientUnaryCall;
    getTask(request: GetTaskRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetTaskResponse) => void): ClientUnaryCall;
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
     */
    watchTask(request: WatchTaskRequest, options?: Partial<CallOptions>): ClientReadableStream<WatchTaskResponse>;
    watchTask(request: WatchTaskRequest, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<WatchTaskResponse>;
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
     */
    readFile(request: ReadFileRequest, options?: Partial<CallOptions>): ClientReadableStream<ReadFileResponse>;
    readFile(request: ReadFileRequest, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<ReadFileResponse>;
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
     */
    uploadFile(request: UploadFileRequest, callback: (error: ServiceError | null, response: UploadFileResponse) => void): ClientUnaryCall;
    uploadFile(request: UploadFileRequest, metadata: Metadata, callback: (error: ServiceError | null, response: UploadFileResponse) => void): ClientUnaryCall;
    uploadFile(request: UploadFileRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: UploadFileResponse) => void): ClientUnaryCall;
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
     */
    issueUploadToken(request: IssueUploadTokenRequest, callback: (error: ServiceError | null, response: IssueUploadTokenResponse) => void): ClientUnaryCall;
    issueUploadToken(request: IssueUploadTokenRequest, metadata: Metadata, callback: (error: ServiceError | null, response: IssueUploadTokenResponse) => void): ClientUnaryCall;
    issueUploadToken(request: IssueUploadTokenRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: IssueUploadTokenResponse) => void): ClientUnaryCall;
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
     */
    listTasks(request: ListTasksRequest, callback: (error: ServiceError | null, response: ListTasksResponse) => void): ClientUnaryCall;
    listTasks(request: ListTasksRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListTasksResponse) => void): ClientUnaryCall;
    listTasks(request: ListTasksRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListTasksResponse) => void): ClientUnaryCall;
    /**
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     *
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     */
    getStats(request: GetStatsRequest, callback: (error: ServiceError | null, response: GetStatsResponse) => void): ClientUnaryCall;
    getStats(request: GetStatsRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetStatsResponse) => void): ClientUnaryCall;
    getStats(request: GetStatsRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetStatsResponse) => void): ClientUnaryCall;
}
export declare const FerryServiceClient: {
    new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): FerryServiceClient;
    service: typeof FerryServiceService;
    serviceName: string;
};
type Builtin = Date | Function | Uint8Array | string | number | boolean | bigint | undefined;
export type DeepPartial<T> = T extends bigint ? string | number | bigint : T extends Builtin ? T : T extends globalThis.Array<infer U> ? globalThis.Array<DeepPartial<U>> : T extends ReadonlyArray<infer U> ? ReadonlyArray<DeepPartial<U>> : T extends {} ? {
    [K in keyof T]?: DeepPartial<T[K]>;
} : Partial<T>;
type KeysOfUnion<T> = T extends T ? keyof T : never;
export type Exact<P, I extends P> = P extends Builtin ? P : P & {
    [K in keyof P]: Exact<P[K], I[K]>;
} & {
    [K in Exclude<keyof I, KeysOfUnion<P>>]: never;
};
export interface MessageFns<T> {
    encode(message: T, writer?: BinaryWriter): BinaryWriter;
    decode(input: BinaryReader | Uint8Array, length?: number): T;
    fromJSON(object: any): T;
    toJSON(message: T): unknown;
    create<I extends Exact<DeepPartial<T>, I>>(base?: I): T;
    fromPartial<I extends Exact<DeepPartial<T>, I>>(object: I): T;
}
export {};
