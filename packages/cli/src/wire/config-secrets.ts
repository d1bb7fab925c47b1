import type { SelfhealConfig } from "../config/selfheal-config.js";

/** Keys whose string value is a credential, wherever they sit in the config. */
const secretKey = /(token|password|secret|privatekey|connectionstring)$/i;

/**
 * Every secret-bearing value of a config, for the controller's redactor (`secrets`): the values
 * of keys named like credentials (forge, repo, OPA, Argo CD, Prometheus and Alertmanager
 * tokens, webhook passwords, the GitHub App key, the PostgreSQL connection string), notifier URLs
 * (a Slack webhook URL is its own credential) and webhook notifier header values, and the
 * password inside any of those that is a URL (`postgres://user:password@...`), which an error
 * may show alone.
 *
 * Found by walking the config rather than from a list of paths, so a credential setting added
 * later is covered once its key says what it is.
 */
export function configSecrets(config: SelfhealConfig): string[] {
  const out = new Set<string>();
  const add = (value: string) => {
    out.add(value);
    const password = urlPassword(value);
    if (password !== undefined) out.add(password);
  };
  const walk = (value: unknown, path: readonly string[]): void => {
    if (typeof value === "string") {
      const key = path.at(-1) ?? "";
      const notifier = path[0] === "notify";
      const exportHeader = path[0] === "telemetry" && path.includes("headers");
      if (secretKey.test(key) || exportHeader || (notifier && (key === "url" || path.includes("headers"))))
        add(value);
      return;
    }
    if (value === null || typeof value !== "object") return;
    for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
  };
  walk(config, []);
  return [...out];
}

function urlPassword(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const password = new URL(value).password;
  return password === "" ? undefined : decodeURIComponent(password);
}
