// The sample service as a process of its own, so that "deploy a version" is a real restart.
// `sampleServiceProcess` spawns this file; it prints one JSON line once it listens and stops
// cleanly on SIGTERM or SIGINT.
//
//   node sample-service-main.js --version v1.2.0 --port 8080 --error-rate 0.3 --self-load 20
//     [--replicas 3] [--cpu-demand 1.2] [--cpu-limit 1] [--namespace default]
//   [--exit-with-stdin]  (stop when stdin closes: how the spawning process's death is noticed)
//   [--stdin-control]    (read JSON lines on stdin, `{"id":1,"replicas":4}` or
//                         `{"id":2,"cpuDemand":2.85}`, and answer each with `{"ack":1}` on stdout,
//                         or `{"ack":1,"error":"..."}`: scaling is no restart, as in a cluster)
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { describeError } from "@selfheal/core";
import { startSampleService } from "./sample-service.js";

const { values } = parseArgs({
  options: {
    version: { type: "string" },
    service: { type: "string", default: "checkout" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "error-rate": { type: "string" },
    "self-load": { type: "string", default: "0" },
    replicas: { type: "string" },
    "cpu-demand": { type: "string" },
    "cpu-limit": { type: "string" },
    namespace: { type: "string" },
    "exit-with-stdin": { type: "boolean", default: false },
    "stdin-control": { type: "boolean", default: false },
  },
  strict: true,
});

if (values.version === undefined) {
  process.stderr.write("sample service: --version is required\n");
  process.exit(2);
}

const errorRate = values["error-rate"];
const number = (name: "replicas" | "cpu-demand" | "cpu-limit") => {
  const text = values[name];
  return text === undefined ? undefined : Number(text);
};
const replicas = number("replicas");
const cpuDemand = number("cpu-demand");
const cpuLimit = number("cpu-limit");
const service = await startSampleService({
  version: values.version,
  service: values.service,
  port: Number(values.port),
  host: values.host,
  selfLoad: Number(values["self-load"]),
  ...(errorRate === undefined ? {} : { errorRate: Number(errorRate) }),
  ...(replicas === undefined ? {} : { replicas }),
  ...(cpuDemand === undefined ? {} : { cpuDemand }),
  ...(cpuLimit === undefined ? {} : { cpuLimit }),
  ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
});
process.stdout.write(
  `${JSON.stringify({ ready: true, port: service.port, version: service.version, pid: process.pid })}\n`,
);

const stop = () => {
  service.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
if (values["stdin-control"]) {
  createInterface({ input: process.stdin }).on("line", (line) => {
    let id: unknown;
    try {
      const command = JSON.parse(line) as { id?: unknown; replicas?: unknown; cpuDemand?: unknown };
      id = command.id;
      if (typeof command.replicas === "number") service.pods.scale(command.replicas);
      if (typeof command.cpuDemand === "number") service.pods.setCpuDemand(command.cpuDemand);
      process.stdout.write(`${JSON.stringify({ ack: id })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ ack: id ?? null, error: describeError(error) })}\n`);
    }
  });
}
if (values["exit-with-stdin"]) {
  // The parent holds our stdin: when it dies, even by SIGKILL, the pipe closes and we stop,
  // so a crashed test run leaves no service (and its self-load) behind.
  process.stdin.on("end", stop);
  process.stdin.resume();
}
