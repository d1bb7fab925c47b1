export { type MetricsTarget, type PodContainer, startMetricsTarget } from "./metrics-target.js";
export { BinaryMissingError, binaryAvailable, freePort, type RunningServer } from "./server-process.js";
export * from "./start-alertmanager.js";
export * from "./start-prometheus.js";
