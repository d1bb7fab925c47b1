import type { ControllerHook } from "@selfheal/core";
import { type AlertmanagerSilencesSettings, alertmanagerSilences } from "./alertmanager-silences.js";

/**
 * A controller hook that silences the incident's alert in Alertmanager while its remediation is
 * in flight (so on-call is not paged for what is being fixed) and expires the silence when the
 * incident closes, resolved or not. The silence id is kept on the incident, so a restarted
 * controller still expires it; if the controller dies before, the silence ends by itself at
 * its `duration`. Failures are recorded and never hold up the remediation.
 *
 * @example
 * createController({ ..., hooks: [alertmanagerSilenceHook({ url: "http://alertmanager:9093", duration: "1h" })] });
 */
export function alertmanagerSilenceHook(settings: AlertmanagerSilencesSettings): ControllerHook {
  const silences = alertmanagerSilences(settings);
  return {
    name: "alertmanager-silence",
    timeoutMs: settings.timeoutMs ?? 5000,
    async beforeRemediation({ incident, plan, signal }) {
      const silence = await silences.create({ incident, signal, comment: `${plan.action} in flight` });
      return { silenceId: silence.silenceId, endsAt: silence.endsAt };
    },
    async afterClose({ data, signal }) {
      if (typeof data.silenceId === "string") await silences.expire({ silenceId: data.silenceId, signal });
    },
  };
}
