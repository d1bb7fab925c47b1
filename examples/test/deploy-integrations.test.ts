import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type SelfhealConfig } from "@selfheal/cli";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";

// The deploy files that meet outside the cluster manifests agree with them: Alertmanager's
// receiver, the two forms of the alert rules, and the Argo CD applications.

const deployDir = fileURLToPath(new URL("../deploy/", import.meta.url));

/** The only document of a YAML file; fails on any parse error or warning. */
async function only(file: string): Promise<unknown> {
  const docs = await documents(file);
  expect(docs, file).toHaveLength(1);
  return docs[0];
}

async function documents(file: string): Promise<unknown[]> {
  const docs = parseAllDocuments(await readFile(join(deployDir, file), "utf8"));
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  for (const doc of docs) {
    expect(
      [...doc.errors, ...doc.warnings].map((problem) => problem.message),
      file,
    ).toEqual([]);
  }
  return docs.map((doc) => doc.toJS()).filter((value) => value !== null);
}

const KubeObject = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().optional() }),
});
const Service = KubeObject.extend({
  kind: z.literal("Service"),
  spec: z.object({ ports: z.array(z.object({ name: z.string(), port: z.number() })) }),
});
const Deployment = z.object({
  spec: z.object({
    template: z.object({
      spec: z.object({
        containers: z.array(
          z.object({
            name: z.string(),
            env: z
              .array(
                z.object({
                  name: z.string(),
                  value: z.string().optional(),
                  valueFrom: z.object({ secretKeyRef: z.object({ key: z.string() }).optional() }).optional(),
                }),
              )
              .default([]),
          }),
        ),
      }),
    }),
  }),
});

/**
 * selfheal.yaml through the CLI's own loader, with the variables the Deployment sets on the
 * controller container (sample values; URLs where the config expects URLs).
 */
async function controllerConfig(): Promise<SelfhealConfig> {
  const deployment = Deployment.parse(await only("kubernetes/deployment.yaml"));
  const container = deployment.spec.template.spec.containers.find((entry) => entry.name === "selfheal");
  const urls: Record<string, string> = {
    "database-url": "postgres://selfheal:sample@postgres.db.svc:5432/selfheal",
    "slack-webhook-url": "https://hooks.slack.com/services/T0/B0/sample",
  };
  const env = Object.fromEntries(
    (container?.env ?? []).map((variable) => {
      const key = variable.valueFrom?.secretKeyRef?.key;
      return [
        variable.name,
        variable.value ?? (key === undefined ? "sample" : (urls[key] ?? `sample-${key}`)),
      ];
    }),
  );
  return loadConfig(join(deployDir, "kubernetes/selfheal.yaml"), { env });
}
const RulesFile = z.object({ groups: z.array(z.unknown()).min(1) });
const PrometheusRule = KubeObject.extend({ kind: z.literal("PrometheusRule"), spec: RulesFile });
const WebhookReceiver = z.object({
  name: z.string(),
  webhook_configs: z
    .array(
      z.object({
        url: z.string(),
        send_resolved: z.boolean(),
        max_alerts: z.number(),
        http_config: z.object({
          authorization: z.object({ type: z.string(), credentials_file: z.string() }),
        }),
      }),
    )
    .optional(),
});
const AlertmanagerConfig = z.object({
  route: z.object({ group_by: z.array(z.string()) }),
  receivers: z.array(WebhookReceiver),
});
const Application = KubeObject.extend({
  kind: z.literal("Application"),
  spec: z.object({
    source: z.object({ path: z.string() }),
    syncPolicy: z.object({ automated: z.object({}).passthrough().optional() }).optional(),
  }),
});

describe("the deploy files outside the cluster manifests", () => {
  it("route Alertmanager to the controller's webhook with its bearer token", async () => {
    const alertmanager = AlertmanagerConfig.parse(await only("alertmanager/alertmanager.yml"));
    const config = await controllerConfig();
    const service = Service.parse(await only("kubernetes/service.yaml"));
    expect(alertmanager.route.group_by).toEqual(["alertname", "service"]);
    const receiver = alertmanager.receivers.find((candidate) => candidate.name === "selfheal");
    const webhook = receiver?.webhook_configs?.[0];
    const httpPort = service.spec.ports.find((port) => port.name === "http")?.port;
    expect(webhook?.url).toBe(
      `http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${httpPort}${config.sources.alertmanager?.path}`,
    );
    expect(webhook?.send_resolved).toBe(true);
    expect(webhook?.max_alerts).toBe(0);
    expect(webhook?.http_config.authorization.type).toBe("Bearer");
  });

  it("keep the PrometheusRule and the plain rules file identical", async () => {
    const plain = RulesFile.parse(await only("prometheus/rules.yml"));
    const crd = PrometheusRule.parse(await only("prometheus/selfheal-rules.yaml"));
    expect(crd.spec.groups).toEqual(plain.groups);
    expect(JSON.stringify(plain.groups)).toContain(
      'sum(rate(http_requests_total{status=~\\"5..\\"}[5m])) by (service) / sum(rate(http_requests_total[5m])) by (service) > 0.05',
    );
  });

  it("leave the sample service's sync to selfheal and auto-sync the controller", async () => {
    const apps = (await documents("argocd/application.yaml")).map((doc) => Application.parse(doc));
    const byName = new Map(apps.map((app) => [app.metadata.name, app]));
    expect(byName.get("checkout")?.spec.syncPolicy?.automated).toBeUndefined();
    expect(byName.get("selfheal")?.spec.syncPolicy?.automated).toBeDefined();
    // The verifier syncs because the application does not.
    const config = await controllerConfig();
    expect(config.verify.argocd?.sync).toBe(true);
    // The verifier finds the application by the alert's service; a rollback edits the overlay
    // the application deploys.
    const fill = (template: string | undefined) => template?.replaceAll("{service}", "checkout");
    expect(byName.has(fill(config.verify.argocd?.app) ?? "")).toBe(true);
    const image = config.remediate.gitops?.image;
    expect(image?.kind === "kustomize" ? fill(image.file) : undefined).toBe(
      `${byName.get("checkout")?.spec.source.path}/kustomization.yaml`,
    );
  });
});
