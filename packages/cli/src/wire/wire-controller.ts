import { alertmanagerSilenceHook } from "@selfheal/adapter-prometheus";
import {
  type ControllerHook,
  type ControllerSettings,
  type Incident,
  jsonLogger,
  type Logger,
  type Policy,
  type Store,
} from "@selfheal/core";
import type { GitWorkspace } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { configSecrets } from "./config-secrets.js";
import { definedOnly } from "./defined-only.js";
import { wireEnrichers } from "./wire-enrichers.js";
import { wireGuardrails } from "./wire-guardrails.js";
import { wireNotifiers } from "./wire-notifiers.js";
import { wirePolicy } from "./wire-policy.js";
import { wireGitopsRemediator, wireWorkspace } from "./wire-remediate.js";
import {
  hasServiceSettings,
  observeAwareNotifiers,
  resolveService,
  wireServiceRouting,
} from "./wire-services.js";
import { wireSources } from "./wire-sources.js";
import { wireStore } from "./wire-store.js";
import { type WiredTelemetry, wireTelemetry } from "./wire-telemetry.js";
import { wireVerifiers } from "./wire-verifiers.js";

/** Options of {@link wireController}. */
export interface WireOptions {
  /** Folder relative paths of the config are taken from (the config file's folder). */
  readonly baseDir: string;
  /** @default jsonLogger at `controller.logLevel` */
  readonly logger?: Logger;
  /** Use this store instead of the configured one (replay uses a memory store). */
  readonly store?: Store;
  /** Keep the warm clone here instead of `remediate.gitops.repo.dir`. */
  readonly workspaceDir?: string;
  /** Force dry run on or off, whatever `guardrails.dryRun` says. */
  readonly dryRun?: boolean;
  /** Leave out notifiers, verifiers and the telemetry exporter (replay: nothing may go out). */
  readonly sideEffects?: boolean;
  /** Environment read at run time (kill switch variable). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** `createController` settings built from a config, and what to release afterwards. */
export interface WiredController {
  readonly settings: ControllerSettings;
  /** The config repo's workspace, when `remediate.gitops` is configured. */
  readonly workspace?: GitWorkspace;
  /** The telemetry exporters, when `telemetry.prometheus` or OTLP (`telemetry.otlp`, `OTEL_*`) is configured. */
  readonly telemetry?: WiredTelemetry;
  /** Release what the wiring opened (the OPA pool, the metrics server). Not the store: the controller closes it. */
  close(): Promise<void>;
}

function wireHooks(config: SelfhealConfig["hooks"]): ControllerHook[] {
  const silence = config.alertmanagerSilence;
  if (silence === undefined) return [];
  return [
    alertmanagerSilenceHook(
      definedOnly({
        url: silence.url,
        duration: silence.duration,
        auth: silence.bearerToken === undefined ? undefined : { bearer: silence.bearerToken },
      }),
    ),
  ];
}

function hasServicePolicies(config: SelfhealConfig): boolean {
  const services = config.services;
  return [services.defaults, ...services.groups, ...Object.values(services.byName)].some(
    (layer) => layer.policy !== undefined,
  );
}

/** The built-in policy with each service's own settings (services.*.policy), built once per set. */
function perServicePolicy(config: SelfhealConfig, main: Policy): Policy {
  const built = new Map<string, Policy>();
  return {
    name: main.name,
    decide: (input, options) => {
      const settings = resolveService(config, input.service, input.alert.labels).policy;
      if (settings === undefined) return main.decide(input, options);
      const key = JSON.stringify(settings);
      let policy = built.get(key);
      if (policy === undefined) {
        policy = wirePolicy({ ...config.policy, builtin: settings }).policy;
        built.set(key, policy);
      }
      return policy.decide(input, options);
    },
  };
}

/** Dry run per incident: services in observe mode plan and record, and change nothing. */
function observeMode(config: SelfhealConfig): (incident: Incident) => string | false {
  const always = config.guardrails.dryRun === true;
  return (incident) =>
    always
      ? "dry run: planned, not carried out"
      : resolveService(config, incident.service, incident.labels).mode === "observe"
        ? `observe mode (${incident.service}): planned, not carried out`
        : false;
}

/** Build every adapter of `config` with its factory, ready for `createController`. */
export async function wireController(config: SelfhealConfig, options: WireOptions): Promise<WiredController> {
  const sideEffects = options.sideEffects ?? true;
  const logger = options.logger ?? jsonLogger({ level: config.controller.logLevel });
  const gitops = config.remediate.gitops;
  const workspace =
    gitops === undefined ? undefined : wireWorkspace(gitops, options.baseDir, options.workspaceDir);
  const verify = sideEffects ? await wireVerifiers(config, options.baseDir) : { verifiers: [] };
  const wiredPolicy = wirePolicy(config.policy);
  const closePolicy = wiredPolicy.close;
  const policy = hasServicePolicies(config)
    ? perServicePolicy(config, wiredPolicy.policy)
    : wiredPolicy.policy;
  const routed =
    gitops === undefined || workspace === undefined || !hasServiceSettings(config)
      ? undefined
      : wireServiceRouting(
          config,
          definedOnly({
            baseDir: options.baseDir,
            workspaceDir: options.workspaceDir,
            mainWorkspace: workspace,
            afterLanding: verify.afterLanding,
          }),
        );
  const remediator =
    gitops === undefined || workspace === undefined
      ? undefined
      : (routed?.remediator ?? wireGitopsRemediator(gitops, workspace, verify.afterLanding));
  const notifiers = sideEffects ? wireNotifiers(config.notify) : [];
  const telemetry = sideEffects ? await wireTelemetry(config.telemetry, options.env) : undefined;
  const controller = config.controller;
  const settings: ControllerSettings = definedOnly({
    sources: wireSources(config.sources),
    enrich: [
      ...(routed === undefined
        ? wireEnrichers(config, workspace)
        : wireEnrichers(config, undefined).concat(routed.enricher === undefined ? [] : [routed.enricher])),
      ...(verify.argocdEnricher === undefined ? [] : [verify.argocdEnricher]),
    ],
    policy,
    remediate: remediator,
    verify: verify.verifiers,
    notify: routed === undefined ? notifiers : observeAwareNotifiers(config, notifiers),
    hooks: sideEffects ? wireHooks(config.hooks) : [],
    guardrails: wireGuardrails(
      config.guardrails,
      options.baseDir,
      definedOnly({
        dryRun: options.dryRun ?? (hasServiceSettings(config) ? observeMode(config) : undefined),
      }),
    ),
    store: options.store ?? wireStore(config.store, options.baseDir),
    policyTimeout: config.policy.timeout,
    logger,
    // Every credential of the config is redacted wherever it might show up.
    secrets: [...configSecrets(config), ...(telemetry?.secrets ?? [])],
    incidentKey: controller.incidentKey,
    historyWindow: controller.historyWindow,
    mergeTimeout: controller.mergeTimeout,
    maxParallelDecisions: controller.maxParallelDecisions,
    maxPendingDeliveries: controller.maxPendingDeliveries,
    instanceId: controller.instanceId,
    claimTtl: controller.claimTtl,
    decisionRetry: controller.decisionRetry === undefined ? undefined : definedOnly(controller.decisionRetry),
    meterProvider: telemetry?.meterProvider,
    tracerProvider: telemetry?.tracerProvider,
    env: options.env,
  });
  return {
    settings,
    ...definedOnly({ workspace, telemetry }),
    async close() {
      await closePolicy();
      await telemetry?.close();
    },
  };
}
