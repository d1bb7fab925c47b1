#!/usr/bin/env node
import { runCli } from "./cli.js";
import { processIo } from "./commands/cli-io.js";

const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => stop.abort(new Error(`${signal} received`)));
}
process.exitCode = await runCli(process.argv.slice(2), processIo(stop.signal));
// A pool or timer some adapter left open must not keep a finished command alive.
setTimeout(() => process.exit(), 2000).unref();
