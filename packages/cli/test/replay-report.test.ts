import { makeIncident } from "@selfheal/core/testing";
import { describe, expect, it } from "vitest";
import { formatReplay, replayIncident } from "../src/commands/replay-report.js";

describe("replay report", () => {
  it("shows the alerts Alertmanager left out, and the alerts the webhook would reject", () => {
    const truncated = replayIncident(makeIncident({ truncatedAlerts: 3 }), []);
    expect(truncated.truncatedAlerts).toBe(3);
    const text = formatReplay(
      [truncated],
      [{ index: 1, path: "alerts[1].labels.alertname", reason: 'alert 1 has no "alertname" label' }],
    );
    expect(text).toContain("Alertmanager left out 3 alerts of this notification (max_alerts)");
    expect(text).toContain("== rejected alerts");
    expect(text).toContain('alerts[1].labels.alertname: alert 1 has no "alertname" label');
  });

  it("says nothing of either when nothing was left out or rejected", () => {
    const text = formatReplay([replayIncident(makeIncident(), [])]);
    expect(text).not.toContain("left out");
    expect(text).not.toContain("rejected");
  });
});
