import { type Notifier, slackNotifier, webhookNotifier } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The notifiers of `notify`. */
export function wireNotifiers(config: SelfhealConfig["notify"]): Notifier[] {
  const notifiers: Notifier[] = [];
  if (config.slack !== undefined) notifiers.push(slackNotifier(definedOnly(config.slack)));
  if (config.webhook !== undefined) notifiers.push(webhookNotifier(definedOnly(config.webhook)));
  return notifiers;
}
