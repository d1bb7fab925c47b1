// One controller under the storm, in its own process: the Alertmanager webhook source, the
// PostgreSQL store (a schema shared by every replica), OPA deciding (or the built-in policy when
// no OPA URL is given), an enricher that reports a bad release, and a remediator that takes
// 200 ms per action. Guardrails at their defaults.
//   node controller.js <pg-url> <schema> <opa-url | builtin> <instance-id>

import { opaPolicy } from "@selfheal/adapter-opa";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import {
  builtinPolicy,
  createController,
  type Enricher,
  type Remediator,
  silentLogger,
} from "@selfheal/core";
import { openPostgresStore } from "@selfheal/store-postgres";

const [url, schema, opa, instanceId] = process.argv.slice(2);
if (url === undefined || schema === undefined || opa === undefined || instanceId === undefined) {
  throw new Error("usage: controller.js <pg-url> <schema> <opa-url | builtin> <instance-id>");
}
const actionMs = Number(process.env.BENCH_ACTION_MS ?? 200);

/** What Prometheus and git would report in a bad release: enough for the policy to roll back. */
const badRelease: Enricher = {
  name: "bad-release",
  async enrich({ incident }) {
    return {
      metrics: { error_rate: 0.18, restart_count: 6 },
      deployment: {
        image: `registry.example/${incident.service}:v2.0.0`,
        previous_image: `registry.example/${incident.service}:v1.9.0`,
      },
    };
  },
};

/** Plans the rollback and takes `actionMs` to carry it out (a commit and a push, say). */
const slowRemediator: Remediator = {
  name: "slow",
  actions: ["rollback"],
  async plan({ incident, decision, idempotencyKey }) {
    return {
      idempotencyKey,
      incidentId: incident.id,
      service: incident.service,
      action: decision.action,
      params: decision.params,
      remediator: "slow",
      summary: `rollback ${incident.service}`,
      changes: [
        {
          target: `apps/${incident.service}/deployment.yaml`,
          description: "image back to the previous release",
        },
      ],
    };
  },
  async apply() {
    await new Promise((resolve) => setTimeout(resolve, actionMs));
    return { status: "applied", reused: false };
  },
};

const store = await openPostgresStore({ connectionString: url, schema });
const policy = opa === "builtin" ? builtinPolicy() : opaPolicy({ url: opa });
const controller = createController({
  sources: [alertmanagerWebhook({ path: "/webhook" })],
  enrich: [badRelease],
  policy,
  remediate: slowRemediator,
  store,
  logger: silentLogger,
  instanceId,
});
const { port } = await controller.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`LISTENING ${port}\n`);

process.stdin.on("data", async (chunk: Buffer) => {
  if (!chunk.toString().includes("stop")) return;
  await controller.close({ timeout: "10s" });
  await store.close();
  process.stdout.write("STOPPED\n");
  process.exit(0);
});
