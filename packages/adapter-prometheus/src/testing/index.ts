export { type MetricsTarget, type PodContainer, startMetricsTarget } from "./metrics-target.js";
export {
  alertmanagerBinary,
  BinaryMissingError,
  binaryAvailable,
  freePort,
  prometheusBinary,
  type RunningServer,
} from "./server-process.js";
export * from "./start-alertmanager.js";
export * from "./start-prometheus.js";
