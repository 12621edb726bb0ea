// The tus contender's client: tus-js-client uploading files read from disk.
//
// Usage: node upload.mjs --endpoint URL (--file FILE | --dir DIR [--concurrency N])
// One file: one upload of the whole file in a single PATCH (no chunkSize, the client's default
// and its fastest setting here). A directory: every regular file in it, N uploads at a time.
// Input is an fs.ReadStream, which tus-js-client turns into a file source that streams the file
// from disk, so memory stays flat whatever the size (a Buffer would hold the whole file).
// Prints one JSON line: seconds from the first upload's start to the last onSuccess, bytes,
// file count, the client's CPU seconds in that window, and the upload URLs.
import { createReadStream, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { Upload } from "tus-js-client";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string" },
    file: { type: "string" },
    dir: { type: "string" },
    concurrency: { type: "string", default: "1" },
  },
});
if (!values.endpoint || !values.file === !values.dir) {
  console.error("usage: node upload.mjs --endpoint URL (--file FILE | --dir DIR [--concurrency N])");
  process.exit(2);
}

function uploadOne(path) {
  return new Promise((resolve, reject) => {
    const upload = new Upload(createReadStream(path), {
      endpoint: values.endpoint,
      metadata: { filename: basename(path) },
      // Each run starts on a fresh server: never look for an earlier upload to resume.
      storeFingerprintForResuming: false,
      onError: reject,
      onSuccess: () => resolve(upload.url),
    });
    upload.start();
  });
}

async function uploadAll(paths, concurrency) {
  const urls = new Array(paths.length);
  let next = 0;
  async function worker() {
    while (next < paths.length) {
      const index = next++;
      urls[index] = await uploadOne(paths[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return urls;
}

const paths = values.file
  ? [values.file]
  : readdirSync(values.dir)
      .sort()
      .map((name) => join(values.dir, name))
      .filter((path) => statSync(path).isFile());
const bytes = paths.reduce((sum, path) => sum + statSync(path).size, 0);

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const urls = await uploadAll(paths, Number(values.concurrency));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    seconds,
    bytes,
    files: paths.length,
    client_cpu_seconds: (cpu.user + cpu.system) / 1e6,
    urls,
  }),
);
