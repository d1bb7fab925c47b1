import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import { BadInputError, createController, jsonLogger, memoryStore } from "@selfheal/core";
import { type CliIo, exitCodes, readJsonArgument, UsageError } from "./cli-io.js";
import { commandConfig, unusedByReplay, wireCommand } from "./command-config.js";
import { progress } from "./progress.js";
import { seedHistory } from "./replay-history.js";
import { formatReplay, type ReplayIncident, replayIncident } from "./replay-report.js";

/**
 * `selfheal replay`: one Alertmanager payload through the configured controller in dry run.
 * Nothing is written anywhere: a memory store, the dry-run guardrail (remediators only
 * `plan`), no notifiers or verifiers, and the config repo fetched into a temporary folder
 * that is removed afterwards.
 */
export async function replayCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      json: { type: "boolean" },
      history: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  const payloadFile = positionals[0];
  if (payloadFile === undefined || positionals.length > 1) {
    throw new UsageError(
      "expected exactly one payload file: selfheal replay [options] PAYLOAD.json",
      "replay",
    );
  }
  const payload = await readJsonArgument(resolve(io.cwd, payloadFile), payloadFile);
  const history = values.history === true;
  const loaded = await commandConfig(
    io,
    values.config,
    history ? unusedByReplay.filter((section) => section !== "store") : unusedByReplay,
  );
  const steps = progress(io);
  const store = memoryStore();
  if (history) {
    const reading = steps.step("copying the store's history (read only)");
    try {
      reading.done(`${await seedHistory(loaded.config, loaded.baseDir, store, new Date())} events`);
    } catch (error) {
      reading.fail();
      throw error;
    }
  }
  const scratch = await mkdtemp(join(tmpdir(), "selfheal-replay-"));
  try {
    const wired = await wireCommand(loaded, {
      store,
      dryRun: true,
      sideEffects: false,
      workspaceDir: join(scratch, "config-repo"),
      env: io.env,
      logger: jsonLogger({ level: "warn", write: io.stderr }),
    });
    const controller = createController(wired.settings);
    try {
      // The payload is checked before anything is fetched: a bad payload costs no clone.
      const source =
        wired.settings.sources?.find((candidate) => candidate.route !== undefined) ?? alertmanagerWebhook();
      const route = source.route;
      if (route === undefined) throw new BadInputError("no webhook source to parse the payload with");
      const parsed = route.parse(payload, { receivedAt: new Date(), headers: {} });
      // As the webhook server does: the valid alerts are decided on, the malformed ones shown.
      const { signals, rejected } = Array.isArray(parsed) ? { signals: parsed, rejected: [] } : parsed;
      if (wired.workspace !== undefined) {
        const fetching = steps.step(`fetching ${wired.workspace.url} into a temporary folder`);
        try {
          const head = await wired.workspace.refresh(AbortSignal.timeout(120_000));
          fetching.done(`${wired.workspace.branch} at ${head.slice(0, 12)}`);
        } catch (error) {
          fetching.fail();
          throw error;
        }
      }
      const deciding = steps.step(`deciding on ${signals.length} alert${signals.length === 1 ? "" : "s"}`);
      await controller.handle(signals);
      await controller.settled();
      deciding.done();
      const incidents: ReplayIncident[] = [];
      for (const incident of (await controller.store.listIncidents()).reverse()) {
        incidents.push(
          replayIncident(incident, await controller.store.listEvents({ incidentId: incident.id })),
        );
      }
      io.stdout(
        values.json === true
          ? `${JSON.stringify({ dryRun: true, signals: signals.length, rejected, incidents }, null, 2)}\n`
          : formatReplay(incidents, rejected),
      );
      return exitCodes.ok;
    } finally {
      await controller.close();
      await wired.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
