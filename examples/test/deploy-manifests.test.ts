import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import { loadConfig, wireController } from "@selfheal/cli";
import { healthPath, memoryStore, readinessPath, silentLogger } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";

const deployDir = fileURLToPath(new URL("../deploy/", import.meta.url));

/** Files that are configuration of a tool, not Kubernetes objects. */
const notObjects = new Set([
  "alertmanager/alertmanager.yml",
  "kubernetes/kustomization.yaml",
  "kubernetes/selfheal.yaml",
  "prometheus/rules.yml",
  "prometheus/rules.test.yml",
]);

/** What a Secret may hold: placeholders only. */
const placeholder = /^(REPLACE_ME|<[^>]*>|)$/;

async function yamlFiles(dir = deployDir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name)) files.push(relative(deployDir, path));
  }
  return files.sort();
}

/** Every document of a YAML file; fails on any parse error or warning. */
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

async function only(file: string): Promise<unknown> {
  const docs = await documents(file);
  expect(docs, file).toHaveLength(1);
  return docs[0];
}

const KubeObject = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().optional() }),
});

const Secret = KubeObject.extend({
  kind: z.literal("Secret"),
  data: z.record(z.string(), z.string()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
});

const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const Container = z.object({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()).optional(),
  env: z.array(EnvVar).default([]),
  ports: z.array(z.object({ name: z.string(), containerPort: z.number() })).default([]),
  readinessProbe: Probe.optional(),
  livenessProbe: Probe.optional(),
  resources: z.object({
    requests: z.object({ cpu: z.string(), memory: z.string() }),
    limits: z.object({ memory: z.string() }),
  }),
  securityContext: z.object({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.literal(true),
    capabilities: z.object({ drop: z.array(z.string()) }),
  }),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })).default([]),
});
const Deployment = KubeObject.extend({
  kind: z.literal("Deployment"),
  spec: z.object({
    replicas: z.number(),
    template: z.object({
      spec: z.object({
        securityContext: z.object({ runAsNonRoot: z.literal(true) }),
        affinity: z.object({ podAntiAffinity: z.record(z.string(), z.unknown()) }),
        containers: z.array(Container),
        volumes: z.array(
          z.object({
            name: z.string(),
            emptyDir: z.object({}).passthrough().optional(),
            configMap: z.object({ name: z.string() }).optional(),
          }),
        ),
      }),
    }),
  }),
});
const Service = KubeObject.extend({
  kind: z.literal("Service"),
  spec: z.object({
    ports: z.array(
      z.object({ name: z.string(), port: z.number(), targetPort: z.union([z.string(), z.number()]) }),
    ),
  }),
});
const Kustomization = z.object({
  resources: z.array(z.string()),
  configMapGenerator: z.array(z.object({ name: z.string(), files: z.array(z.string()) })),
});
/** Sample values of the Secret's keys, shaped as the config expects them (URLs are URLs). */
const sampleSecrets: Record<string, string> = {
  "database-url": "postgres://selfheal:sample@postgres.db.svc:5432/selfheal?sslmode=verify-full",
  "slack-webhook-url": "https://hooks.slack.com/services/T0/B0/sample",
};
const podName = "selfheal-6f7c9d8b5-x2k4p";

/**
 * The environment the Deployment gives the controller container, and nothing else: a `${VAR}`
 * of selfheal.yaml the Deployment does not set fails the CLI's loader, as it would fail the pod.
 */
function containerEnv(container: z.infer<typeof Container>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const variable of container.env) {
    const secret = variable.valueFrom?.secretKeyRef;
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (secret !== undefined) env[variable.name] = sampleSecrets[secret.key] ?? `sample-${secret.key}`;
    else if (field === "metadata.name") env[variable.name] = podName;
    else throw new Error(`${variable.name}: no value the test knows how to provide`);
  }
  return env;
}

describe("the deploy files", () => {
  it("parse, and every Kubernetes object names its apiVersion, kind and name", async () => {
    const files = await yamlFiles();
    expect(files).toEqual(expect.arrayContaining([...notObjects, "kubernetes/deployment.yaml"]));
    let objects = 0;
    for (const file of files) {
      const docs = await documents(file);
      expect(docs.length, `${file} is empty`).toBeGreaterThan(0);
      if (notObjects.has(file)) continue;
      for (const doc of docs) {
        const parsed = KubeObject.safeParse(doc);
        expect(parsed.error?.issues ?? [], file).toEqual([]);
        objects++;
      }
    }
    expect(objects).toBeGreaterThanOrEqual(11);
  });

  it("hold no secret: Secrets are placeholders, the config references the environment", async () => {
    let secrets = 0;
    for (const file of await yamlFiles()) {
      for (const doc of await documents(file)) {
        if (KubeObject.safeParse(doc).data?.kind !== "Secret") continue;
        const secret = Secret.parse(doc);
        secrets++;
        for (const [key, value] of Object.entries(secret.stringData ?? {})) {
          expect(value, `${file} stringData.${key}`).toMatch(placeholder);
        }
        for (const [key, value] of Object.entries(secret.data ?? {})) {
          expect(Buffer.from(value, "base64").toString("utf8"), `${file} data.${key}`).toMatch(placeholder);
        }
      }
    }
    expect(secrets).toBe(1);

    // Anything that looks like a credential in selfheal.yaml is a ${VAR} reference.
    const config = await only("kubernetes/selfheal.yaml");
    const sensitive = /token|password|bearer|secret|connectionstring|^url$/i;
    const leaks: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (Array.isArray(value)) {
        for (const [index, item] of value.entries()) walk(item, `${path}[${index}]`);
      } else if (typeof value === "object" && value !== null) {
        for (const [key, item] of Object.entries(value)) {
          const at = `${path}.${key}`;
          if (typeof item === "string" && sensitive.test(key) && !/^\$\{[A-Z_]+\}$/.test(item)) {
            // Plain URLs of in-cluster services carry no credential.
            if (!(key === "url" && /^https?:\/\/[^@]+$/.test(item) && !item.includes("hooks.")))
              leaks.push(at);
          }
          walk(item, at);
        }
      }
    };
    walk(config, "");
    expect(leaks).toEqual([]);
  });

  it("wire together: config, Deployment, Service, Secret and kustomization agree", async () => {
    const deployment = Deployment.parse(await only("kubernetes/deployment.yaml"));
    const service = Service.parse(await only("kubernetes/service.yaml"));
    const secret = Secret.parse(await only("kubernetes/secret.example.yaml"));
    const kustomization = Kustomization.parse(await only("kubernetes/kustomization.yaml"));
    const controller = deployment.spec.template.spec.containers.find(
      (container) => container.name === "selfheal",
    );
    if (controller === undefined) throw new Error("no selfheal container");
    // Validated by the CLI's own loader (the one `selfheal run` uses), with the Deployment's env.
    const env = containerEnv(controller);
    const config = await loadConfig(join(deployDir, "kubernetes/selfheal.yaml"), { env });

    expect(controller.image).toBe("ghcr.io/selfheal/selfheal:0.1.0");
    expect(controller.args).toEqual(["run", "--config", "/etc/selfheal/selfheal.yaml"]);
    expect(deployment.spec.replicas).toBe(2);
    expect(controller.securityContext.capabilities.drop).toEqual(["ALL"]);

    // Probes on the paths the core serves, on the port the config listens on.
    const ports = new Map(controller.ports.map((port) => [port.name, port.containerPort]));
    expect(controller.readinessProbe?.httpGet).toEqual({ path: readinessPath, port: "http" });
    expect(controller.livenessProbe?.httpGet).toEqual({ path: healthPath, port: "http" });
    expect(ports.get("http")).toBe(config.listen.port);
    expect(config.telemetry.prometheus).toEqual({ host: "0.0.0.0", port: 9464, path: "/metrics" });
    expect(ports.get("metrics")).toBe(config.telemetry.prometheus?.port);
    for (const port of service.spec.ports) expect(ports.has(String(port.targetPort)), port.name).toBe(true);

    // Every ${VAR} of the config is set in the container (the loader above refuses a missing
    // one); every secret key it reads exists.
    const references = JSON.stringify(await only("kubernetes/selfheal.yaml")).matchAll(/\$\{([A-Z_]+)\}/g);
    for (const [, name] of references) {
      expect(Object.hasOwn(env, name ?? ""), `${name} is not set in the Deployment`).toBe(true);
    }
    for (const variable of controller.env) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref === undefined) continue;
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData ?? {}), variable.name).toContain(ref.key);
    }

    // Several replicas need the shared store, each under its own name (the pod's).
    expect(config.store.postgres?.connectionString).toBe(env.SELFHEAL_DATABASE_URL);
    expect(config.store.file).toBeUndefined();
    expect(config.controller.instanceId).toBe(podName);
    expect(config.controller.claimTtl).toBeDefined();

    // The policy is the OPA sidecar of the same pod, on the address it listens on.
    const opa = deployment.spec.template.spec.containers.find((container) => container.name === "opa");
    const opaAddress = opa?.args?.find((arg) => arg.startsWith("--addr="))?.slice("--addr=".length);
    expect(config.policy.opa?.url).toBe(`http://${opaAddress}`);

    // Changes are proposed as pull requests that people merge.
    expect(config.remediate.gitops).toMatchObject({ mode: "change_request", autoMerge: false });
    expect(config.remediate.gitops?.forge?.github?.token).toBe(env.GITHUB_TOKEN);

    // Volumes: the git workspace is writable, the kill switch is read from its ConfigMap, config
    // maps exist or are documented.
    const mounts = new Map(controller.volumeMounts.map((mount) => [mount.name, mount.mountPath]));
    expect(config.remediate.gitops?.repo.dir).toBe(mounts.get("git-workspace"));
    expect(config.guardrails.killSwitchFile).toBe(`${mounts.get("kill-switch")}/on`);
    const volumes = deployment.spec.template.spec.volumes;
    expect(volumes.find((volume) => volume.name === "git-workspace")?.emptyDir).toBeDefined();
    const generated = kustomization.configMapGenerator.map((generator) => generator.name);
    expect(kustomization.configMapGenerator.flatMap((generator) => generator.files)).toEqual([
      "selfheal.yaml",
    ]);
    const kustomizationText = await readFile(join(deployDir, "kubernetes/kustomization.yaml"), "utf8");
    const configMaps: string[] = [];
    for (const file of kustomization.resources) {
      for (const doc of await documents(`kubernetes/${file}`)) {
        const object = KubeObject.parse(doc);
        if (object.kind === "ConfigMap") configMaps.push(object.metadata.name);
      }
    }
    for (const volume of volumes) {
      const name = volume.configMap?.name;
      if (name === undefined || generated.includes(name) || configMaps.includes(name)) continue;
      // Created by hand (the Rego policy): the kustomization says how.
      expect(kustomizationText, `ConfigMap ${name}`).toContain(`create configmap ${name}`);
    }
    expect(kustomizationText).toContain("packages/adapter-opa/policies/selfheal.rego");

    // The kustomization lists every object file but the example Secret.
    const listed = new Set(kustomization.resources);
    const objectFiles = (await yamlFiles())
      .filter((file) => file.startsWith("kubernetes/") && !notObjects.has(file))
      .map((file) => file.slice("kubernetes/".length));
    expect([...listed].sort()).toEqual(objectFiles.filter((file) => file !== "secret.example.yaml").sort());

    // The webhook path is the one the Alertmanager source serves by default.
    expect(config.sources.alertmanager?.path).toBe(alertmanagerWebhook().route?.path);
    expect(config.sources.alertmanager?.bearerToken).toBe(env.SELFHEAL_ALERTMANAGER_TOKEN);
  });

  it("is accepted by every adapter factory it names", async () => {
    const deployment = Deployment.parse(await only("kubernetes/deployment.yaml"));
    const controller = deployment.spec.template.spec.containers.find(
      (container) => container.name === "selfheal",
    );
    if (controller === undefined) throw new Error("no selfheal container");
    const config = await loadConfig(join(deployDir, "kubernetes/selfheal.yaml"), {
      env: containerEnv(controller),
    });
    // What `selfheal run` does before connecting anywhere, as `selfheal replay` does it: sources,
    // enrichers, policy, forge, remediator and guardrails through their factories (a forge
    // without change requests in change_request mode, say, would be refused here). A memory
    // store and a temporary clone folder; verifiers, notifiers and the metrics server left out.
    const workspaceDir = await mkdtemp(join(tmpdir(), "selfheal-deploy-config-"));
    try {
      const wired = await wireController(config, {
        baseDir: join(deployDir, "kubernetes"),
        logger: silentLogger,
        store: memoryStore(),
        workspaceDir,
        sideEffects: false,
      });
      try {
        expect(wired.settings.policy.name).toBe("opa:selfheal/decision");
        expect(wired.settings.enrich?.map((enricher) => enricher.name)).toEqual(["prometheus", "gitops"]);
        expect(wired.settings.remediate).toBeDefined();
        expect(wired.settings.instanceId).toBe(podName);
        expect(wired.settings.claimTtl).toBe(config.controller.claimTtl);
      } finally {
        await wired.close();
      }
    } finally {
      await rm(workspaceDir, { recursive: true, force: true });
    }
  });

  it("build with kustomize, the generated config wired into the Deployment", async (context) => {
    const run = promisify(execFile);
    const kubectl = await run("kubectl", ["version", "--client"]).then(
      () => true,
      () => false,
    );
    // kubectl is not a test requirement: without it the check above on the kustomization stands.
    if (!kubectl) context.skip("kubectl is not installed");
    const { stdout } = await run("kubectl", ["kustomize", join(deployDir, "kubernetes")], {
      timeout: 20_000,
    });
    const objects = parseAllDocuments(stdout).map((doc) => KubeObject.parse(doc.toJS()));
    const configMap = objects.find((object) => object.metadata.name.startsWith("selfheal-config-"));
    expect(configMap?.kind).toBe("ConfigMap");
    expect(stdout).toContain(`name: ${configMap?.metadata.name}`);
    expect(
      objects.every((object) => object.kind === "Namespace" || object.metadata.namespace === "selfheal"),
    ).toBe(true);
    expect(objects.map((object) => object.kind)).not.toContain("Secret");
  });
});
