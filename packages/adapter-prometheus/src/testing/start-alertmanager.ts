import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alertmanagerBinary, type RunningServer, startServerProcess } from "./server-process.js";

/** Options of `startAlertmanager`. */
export interface StartAlertmanagerOptions {
  /**
   * Where notifications go (a webhook receiver); none are sent when absent.
   * @default undefined
   */
  readonly webhookUrl?: string;
  /**
   * Send resolved notifications too.
   * @default true
   */
  readonly sendResolved?: boolean;
  /**
   * Most alerts in one webhook notification (`max_alerts`); Alertmanager counts the others in
   * `truncatedAlerts`. 0 means all.
   * @default 0
   */
  readonly maxAlerts?: number;
  /**
   * Labels alerts are grouped by.
   * @default ["alertname", "service"]
   */
  readonly groupBy?: readonly string[];
  /**
   * Wait before the first notification of a group.
   * @default "0s"
   */
  readonly groupWait?: string;
  /**
   * Wait before notifying about changes of a group.
   * @default "1s"
   */
  readonly groupInterval?: string;
  /**
   * Wait before repeating an unchanged notification.
   * @default "1h"
   */
  readonly repeatInterval?: string;
  /**
   * The Alertmanager binary.
   * @default `SELFHEAL_ALERTMANAGER_BINARY`, else "/usr/bin/prometheus-alertmanager"
   */
  readonly binary?: string;
  /**
   * More command-line flags (`--web.enable-lifecycle`), after the generated ones.
   * @default []
   */
  readonly extraArgs?: readonly string[];
  /**
   * How long to wait until `/-/ready` answers, in milliseconds.
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
}

/**
 * Start a real Alertmanager (Debian's `/usr/bin/prometheus-alertmanager`) on a free port, with
 * clustering off (`--cluster.listen-address=`), a temporary data folder and a generated config
 * routing everything to `webhookUrl`. Resolves once `/-/ready` answers; `stop()` kills it and
 * removes the folder.
 */
export async function startAlertmanager(options: StartAlertmanagerOptions = {}): Promise<RunningServer> {
  return startServerProcess({
    label: "alertmanager",
    binary: options.binary ?? alertmanagerBinary(),
    debianPackage: "prometheus-alertmanager",
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    async prepare(directory) {
      const configFile = join(directory, "alertmanager.yml");
      const receiver: Record<string, unknown> = { name: "selfheal" };
      if (options.webhookUrl !== undefined) {
        receiver.webhook_configs = [
          {
            url: options.webhookUrl,
            send_resolved: options.sendResolved ?? true,
            max_alerts: options.maxAlerts ?? 0,
          },
        ];
      }
      const config = {
        route: {
          receiver: "selfheal",
          group_by: options.groupBy ?? ["alertname", "service"],
          group_wait: options.groupWait ?? "0s",
          group_interval: options.groupInterval ?? "1s",
          repeat_interval: options.repeatInterval ?? "1h",
        },
        receivers: [receiver],
      };
      // YAML is a superset of JSON.
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const dataDirectory = join(directory, "data");
      return (port) => [
        `--config.file=${configFile}`,
        `--storage.path=${dataDirectory}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=warn",
        ...(options.extraArgs ?? []),
      ];
    },
  });
}
