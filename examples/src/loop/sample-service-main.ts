// The sample service as a process of its own, so that "deploy a version" is a real restart.
// `sampleServiceProcess` spawns this file; it prints one JSON line once it listens and stops
// cleanly on SIGTERM or SIGINT.
//
//   node sample-service-main.js --version v1.2.0 --port 8080 --error-rate 0.3 --self-load 20
//   [--exit-with-stdin]  (stop when stdin closes: how the spawning process's death is noticed)
import { parseArgs } from "node:util";
import { startSampleService } from "./sample-service.js";

const { values } = parseArgs({
  options: {
    version: { type: "string" },
    service: { type: "string", default: "checkout" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "error-rate": { type: "string" },
    "self-load": { type: "string", default: "0" },
    "exit-with-stdin": { type: "boolean", default: false },
  },
  strict: true,
});

if (values.version === undefined) {
  process.stderr.write("sample service: --version is required\n");
  process.exit(2);
}

const errorRate = values["error-rate"];
const service = await startSampleService({
  version: values.version,
  service: values.service,
  port: Number(values.port),
  host: values.host,
  selfLoad: Number(values["self-load"]),
  ...(errorRate === undefined ? {} : { errorRate: Number(errorRate) }),
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
if (values["exit-with-stdin"]) {
  // The parent holds our stdin: when it dies, even by SIGKILL, the pipe closes and we stop,
  // so a crashed test run leaves no service (and its self-load) behind.
  process.stdin.on("end", stop);
  process.stdin.resume();
}
