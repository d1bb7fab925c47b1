// A controller written against the SDK: Alertmanager in, the built-in policy, your remediator,
// a file store. Run it with `node dist/code-first-controller.js` after `pnpm build`.
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import {
  builtinPolicy,
  createController,
  fileStore,
  RemediationError,
  type Remediator,
  slackNotifier,
} from "@selfheal/core";

/** The smallest useful remediator: it plans a change and carries it out idempotently. */
const logRemediator: Remediator = {
  name: "log",
  actions: ["rollback", "scale_up"],
  async plan({ incident, decision, idempotencyKey }) {
    if (decision.action === "rollback" && typeof decision.params.image !== "string") {
      throw new RemediationError("no previous image to roll back to", {
        incidentId: incident.id,
        escalate: true,
      });
    }
    return {
      idempotencyKey,
      incidentId: incident.id,
      service: incident.service,
      action: decision.action,
      params: decision.params,
      remediator: "log",
      summary: `${decision.action} ${incident.service}: ${decision.reason}`,
      changes: [{ target: incident.service, description: JSON.stringify(decision.params) }],
    };
  },
  async apply({ plan }) {
    console.log(`would change ${plan.service}: ${plan.summary}`);
    return { status: "applied" };
  },
};

const controller = createController({
  sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: process.env.AM_TOKEN ?? "change-me" } })],
  policy: builtinPolicy(),
  remediate: logRemediator,
  guardrails: { rateLimit: { max: 2, window: "30m" }, dryRun: process.env.DRY_RUN === "1" },
  store: fileStore(process.env.SELFHEAL_STATE_DIR ?? ".selfheal"),
  notify:
    process.env.SLACK_WEBHOOK_URL === undefined
      ? []
      : [slackNotifier({ url: process.env.SLACK_WEBHOOK_URL })],
});

const { url } = await controller.listen({ port: Number(process.env.PORT ?? 9090) });
console.log(`selfheal listening on ${url}/webhook`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void controller.close().then(() => process.exit(0)));
}
