// The controller under test, in its own process: a webhook source, the built-in policy, a file
// store. `naive` mode is the simplest durable alternative: parse, append, fsync, answer.
import { open } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import { builtinPolicy, createController, fileStore, silentLogger } from "@selfheal/core";

const [mode = "selfheal", stateDir = "."] = process.argv.slice(2);
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

async function startSelfheal(): Promise<() => Promise<void>> {
  const controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook" })],
    policy: builtinPolicy(),
    store: fileStore(stateDir),
    logger: silentLogger,
    maxParallelDecisions: Number(process.env.BENCH_DECISIONS ?? 16),
    // BENCH_SECRETS=a,b,c: configured secrets, as the CLI passes its tokens and passwords.
    ...(process.env.BENCH_SECRETS === undefined ? {} : { secrets: process.env.BENCH_SECRETS.split(",") }),
  });
  const { port } = await controller.listen({ port: 0, host: "127.0.0.1" });
  process.stdout.write(`LISTENING ${port}\n`);
  return () => controller.close();
}

async function startNaive(): Promise<() => Promise<void>> {
  const journal = await open(join(stateDir, "naive.ndjson"), "a");
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
      await journal.appendFile(`${JSON.stringify(body)}\n`);
      await journal.sync();
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === "object" && address !== null ? address.port : 0}\n`);
  return async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await journal.close();
  };
}

const stop = await (mode === "naive" ? startNaive() : startSelfheal());
process.stdin.on("data", async (chunk: Buffer) => {
  if (!chunk.toString().includes("stop")) return;
  await stop();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  process.stdout.write(
    `LOOP_DELAY ${JSON.stringify({ p99_ms: ms(loopDelay.percentile(99)), max_ms: ms(loopDelay.max) })}\n`,
  );
  process.stdout.write("STOPPED\n");
  process.exit(0);
});
