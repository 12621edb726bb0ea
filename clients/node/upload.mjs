#!/usr/bin/env node
// Uploads one file to Ferry the way a resumable client must: create the task, send half the
// blocks, lose the stream in the middle of a block, ask the server what is missing, send the
// rest over two concurrent streams, then merge.
//
// Usage: node upload.mjs --server 127.0.0.1:50051 [--block-size 65536] FILE STORE_PATH
//
// It prints one JSON object: the task id, the missing ranges after the cut, the verified
// SHA-256 and the final state. See docs/protocol.md for the rules it follows.
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { basename } from "node:path";
import { once } from "node:events";
import { parseArgs, promisify } from "node:util";
import { credentials, status } from "@grpc/grpc-js";
import { crc32c } from "@node-rs/crc32";
import {
  BlockStatus,
  CreateTaskRequest,
  FerryServiceClient,
  MergeRequest,
  QueryMissingBlocksRequest,
  TaskState,
  taskStateToJSON,
  UploadPartsRequest,
} from "ferry-api";

// The protocol's limit on data per UploadPartsRequest.
const MAX_MESSAGE = 1 << 20;

class Uploader {
  constructor(client, file, task) {
    this.client = client;
    this.file = file;
    this.taskId = task.taskId;
    // uint64 fields arrive as bigint (exact past 2^53); block arithmetic stays in bigint.
    this.size = task.size;
    this.blockSize = BigInt(task.blockSize);
  }

  // Block i covers [i * blockSize, min((i + 1) * blockSize, size)).
  bounds(index) {
    const start = BigInt(index) * this.blockSize;
    const end = start + this.blockSize < this.size ? start + this.blockSize : this.size;
    return [start, end];
  }

  // Writes one block as messages of at most 1 MiB, offsets counted within the block, with the
  // CRC32C of the whole block (continued message by message) on the last one. With cutAt it
  // stops after that many bytes, leaving the block unfinished.
  async sendBlock(stream, index, cutAt = null) {
    const [start, blockEnd] = this.bounds(index);
    const end = cutAt === null ? blockEnd : start + cutAt;
    let crc = 0;
    for (let offset = 0n; start + offset < end; ) {
      const length = Number(end - start - offset < MAX_MESSAGE ? end - start - offset : MAX_MESSAGE);
      const data = Buffer.alloc(length);
      await this.file.read(data, 0, length, Number(start + offset));
      crc = crc32c(data, crc);
      const message = UploadPartsRequest.fromPartial({ taskId: this.taskId, blockIndex: index, offset, data });
      offset += BigInt(length);
      if (start + offset === end && cutAt === null) message.crc32c = crc;
      // Respect the stream's flow control instead of buffering the whole file.
      if (!stream.write(message)) await once(stream, "drain");
    }
  }

  // Resolves with the next `count` acknowledgements; each must say COMMITTED. (A
  // CHECKSUM_MISMATCH means corruption in transit: a real client sends that block again.)
  acks(stream, count) {
    if (count === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let committed = 0;
      const onAck = (ack) => {
        if (ack.status !== BlockStatus.BLOCK_STATUS_COMMITTED) {
          reject(new Error(`block ${ack.blockIndex}: status ${ack.status} ${ack.message}`));
        } else if (++committed === count) {
          stream.off("data", onAck);
          resolve();
        }
      };
      stream.on("data", onAck);
      stream.once("error", reject);
    });
  }

  // Streams the blocks one after another without waiting for acknowledgements in between
  // (the window is the whole list), then waits until every one is committed.
  async sendBlocks(blocks) {
    const stream = this.client.uploadParts();
    const acked = this.acks(stream, blocks.length);
    for (const index of blocks) await this.sendBlock(stream, index);
    stream.end();
    await acked;
  }

  // Commits blocks [0, half), then cancels the stream halfway through block `half`, as a
  // dropped connection would.
  async sendHalfThenCut(half) {
    const stream = this.client.uploadParts();
    const ended = once(stream, "error").then(([err]) => err);
    const acked = this.acks(stream, half);
    for (let index = 0; index < half; index++) await this.sendBlock(stream, index);
    // Only acknowledged blocks are safe: wait for them before cutting the link.
    await acked;
    await this.sendBlock(stream, half, this.blockSize / 2n);
    stream.cancel();
    const err = await ended;
    if (err.code !== status.CANCELLED) throw err;
  }

  async missingBlocks() {
    const query = promisify(this.client.queryMissingBlocks.bind(this.client));
    // The answer comes in pages: follow nextPageToken until it is empty.
    const missing = [];
    let pageToken = "";
    do {
      const reply = await query(
        QueryMissingBlocksRequest.fromPartial({ taskId: this.taskId, pageToken }),
      );
      missing.push(...reply.missing);
      pageToken = reply.nextPageToken;
    } while (pageToken);
    const blocks = missing.flatMap(({ start, end }) =>
      Array.from({ length: end - start }, (_, k) => start + k),
    );
    return { ranges: missing.map(({ start, end }) => [start, end]), blocks };
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      server: { type: "string", default: "127.0.0.1:50051" },
      "block-size": { type: "string", default: "0" },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 2) {
    throw new Error("usage: upload.mjs [--server HOST:PORT] [--block-size N] FILE STORE_PATH");
  }
  const [path, storePath] = positionals;
  const sha256 = createHash("sha256").update(await readFile(path)).digest("hex");
  const file = await open(path);
  const { size } = await file.stat({ bigint: true });

  const client = new FerryServiceClient(values.server, credentials.createInsecure());
  const call = (method, request) => promisify(client[method].bind(client))(request);
  try {
    // Build every request with fromPartial: it fills the fields left out with their defaults
    // (encode() expects every field present).
    const request = CreateTaskRequest.fromPartial({
      fileName: basename(path),
      size,
      sha256,
      storePath,
      blockSize: Number(values["block-size"]),
    });
    const { task } = await call("createTask", request);
    const uploader = new Uploader(client, file, task);

    // 1. Half the blocks, then the stream is cut in the middle of the next block.
    await uploader.sendHalfThenCut(Math.floor(task.blockCount / 2));
    // 2. After any failure, ask the server: only what it lacks is sent again.
    const missing = await uploader.missingBlocks();
    // 3. The rest over two concurrent streams, each taking every other block.
    const even = missing.blocks.filter((_, n) => n % 2 === 0);
    const odd = missing.blocks.filter((_, n) => n % 2 === 1);
    await Promise.all([uploader.sendBlocks(even), uploader.sendBlocks(odd)]);
    // 4. Merge verifies the whole file and publishes it.
    const merged = await call("merge", MergeRequest.fromPartial({ taskId: task.taskId }));
    if (merged.task.state !== TaskState.TASK_STATE_COMPLETED) {
      throw new Error(`merge left the task ${taskStateToJSON(merged.task.state)}`);
    }
    console.log(
      JSON.stringify({
        task_id: merged.task.taskId,
        missing_after_cut: missing.ranges,
        sha256: merged.task.sha256,
        state: taskStateToJSON(merged.task.state),
      }),
    );
  } finally {
    client.close();
    await file.close();
  }
}

main().catch((err) => {
  console.error(`ferry-resume-demo: ${err.message}`);
  process.exitCode = 1;
});
