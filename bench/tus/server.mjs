// The tus contender's server: @tus/server with @tus/file-store, as its README sets it up.
//
// Usage: node server.mjs --dir DIR --port-file FILE [--host ADDR]
// Listens on ADDR (default 127.0.0.1) on a free port, stores uploads in DIR, and writes the bound port to FILE
// (atomically) once it accepts connections. Stops on SIGTERM or SIGINT.
import { renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    "port-file": { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
if (!values.dir || !values["port-file"]) {
  console.error("usage: node server.mjs --dir DIR --port-file FILE");
  process.exit(2);
}

const tus = new Server({
  path: "/files",
  datastore: new FileStore({ directory: values.dir }),
});
const http = tus.listen({ host: values.host, port: 0 }, () => {
  const portFile = values["port-file"];
  writeFileSync(`${portFile}.tmp`, `${http.address().port}\n`);
  renameSync(`${portFile}.tmp`, portFile);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    http.close(() => process.exit(0));
    // Keep-alive sockets may hold close() open; the benchmark is done with them anyway.
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
