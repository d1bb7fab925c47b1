import { readFile } from "node:fs/promises";
import { BadInputError, Signal, type SignalSource, shortHash } from "@selfheal/core";
import { beforeAll, describe, expect, it } from "vitest";
import { alertmanagerWebhook, firingPayload } from "../src/index.js";

// shared/ sits beside the repository clone (here /work/shared beside /work/main).
const exampleUrl = new URL("../../../../shared/contracts/alertmanager-webhook-example.json", import.meta.url);

type Payload = Record<string, unknown> & { alerts: Record<string, unknown>[] };
let example: Payload;

beforeAll(async () => {
  example = JSON.parse(await readFile(exampleUrl, "utf8")) as Payload;
});

const receivedAt = new Date("2026-08-20T10:20:00.000Z");

function parse(source: SignalSource, body: unknown): Signal[] {
  if (source.route === undefined) throw new Error("alertmanagerWebhook must have a route");
  return source.route.parse(body, { receivedAt, headers: { "user-agent": "Alertmanager/0.34.0" } });
}

/** A deep copy of the example with `edit` applied. */
function exampleWith(edit: (payload: Payload) => void): Payload {
  const copy = structuredClone(example);
  edit(copy);
  return copy;
}

function parseError(source: SignalSource, body: unknown): BadInputError {
  try {
    parse(source, body);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    return error as BadInputError;
  }
  throw new Error("expected parse to throw a BadInputError");
}

describe("alertmanagerWebhook", () => {
  it("has the documented defaults", () => {
    const source = alertmanagerWebhook();
    expect(source.name).toBe("alertmanager");
    expect(source.route?.path).toBe("/webhook/alertmanager");
    expect(source.route?.auth).toBeUndefined();
    expect(source.route?.maxBodyBytes).toBeUndefined();
  });

  it("parses the contract example into one signal per alert", () => {
    const signals = parse(alertmanagerWebhook(), example);
    expect(signals).toHaveLength(2);
    for (const signal of signals) expect(Signal.safeParse(signal).success).toBe(true);
    const [firing, resolved] = signals;
    const groupKey = '{}/{service="checkout"}:{alertname="HighErrorRate", namespace="shop"}';
    expect(firing).toEqual({
      source: "alertmanager",
      dedupKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      status: "firing",
      alertname: "HighErrorRate",
      service: "checkout",
      labels: {
        alertname: "HighErrorRate",
        namespace: "shop",
        pod: "checkout-7d9f8b6c5d-x2k4p",
        service: "checkout",
        severity: "critical",
      },
      annotations: {
        description: "5xx ratio for checkout-7d9f8b6c5d-x2k4p is 7.3% over the last 5m (threshold 5%).",
        runbook_url: "https://runbooks.example.com/checkout/high-error-rate",
        summary: "checkout error rate above 5%",
      },
      fingerprint: "5c2a8e0f3b7d41a9",
      startsAt: "2026-08-20T10:15:30.123Z",
      receivedAt: "2026-08-20T10:20:00.000Z",
      groupKey,
      generatorUrl:
        "http://prometheus.monitoring.svc:9090/graph?g0.expr=job%3Ahttp_5xx%3Aratio_rate5m%7Bservice%3D%22checkout%22%7D+%3E+0.05&g0.tab=1",
    });
    // Go's zero time is "not ended", so the key is absent rather than undefined-valued.
    expect(firing && "endsAt" in firing).toBe(false);
    expect(resolved).toMatchObject({
      status: "resolved",
      fingerprint: "e41f07b2c9a36d58",
      startsAt: "2026-08-20T10:09:00.481Z",
      endsAt: "2026-08-20T10:19:00.481Z",
      service: "checkout",
      groupKey,
    });
  });

  it("ignores unknown keys, and takes missing annotations and endsAt as empty", () => {
    const body = exampleWith((payload) => {
      payload.someFutureKey = { nested: true };
      const alert = payload.alerts[0] as Record<string, unknown>;
      alert.anotherNewKey = 42;
      delete alert.annotations;
      delete alert.endsAt;
      (payload.alerts[1] as Record<string, unknown>).annotations = null;
    });
    const [first, second] = parse(alertmanagerWebhook(), body);
    expect(first?.annotations).toEqual({});
    expect(first?.endsAt).toBeUndefined();
    expect(first && "anotherNewKey" in first).toBe(false);
    expect(second?.annotations).toEqual({});
  });

  it("accepts RFC 3339 times with offsets and nanoseconds", () => {
    const body = exampleWith((payload) => {
      (payload.alerts[0] as Record<string, unknown>).startsAt = "2026-08-20T12:15:30.123456789+02:00";
    });
    expect(parse(alertmanagerWebhook(), body)[0]?.startsAt).toBe("2026-08-20T12:15:30.123456789+02:00");
  });

  it("refuses another payload version, naming it", () => {
    const error = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        payload.version = "3";
      }),
    );
    expect(error.path).toBe("version");
    expect(error.message).toContain('version "3"');
    const missing = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        delete payload.version;
      }),
    );
    expect(missing.path).toBe("version");
    expect(parseError(alertmanagerWebhook(), [example]).message).toContain("must be a JSON object");
  });

  it("refuses an alert without fingerprint, with its JSON path", () => {
    const error = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        delete payload.alerts[0]?.fingerprint;
      }),
    );
    expect(error.path).toBe("alerts[0].fingerprint");
    expect(error.message).toContain("alerts[0].fingerprint");
    expect(error.message).toContain("missing");
  });

  it("refuses a bad startsAt, with its JSON path and the value received", () => {
    const error = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        (payload.alerts[0] as Record<string, unknown>).startsAt = "yesterday at noon";
      }),
    );
    expect(error.path).toBe("alerts[0].startsAt");
    expect(error.message).toContain('"yesterday at noon"');
    expect(error.message).toContain("RFC 3339");
  });

  it("refuses other malformed fields with their paths", () => {
    const source = alertmanagerWebhook();
    type Alert = { labels: Record<string, unknown> } & Record<string, unknown>;
    const alert = (payload: Payload, index: number) => payload.alerts[index] as Alert;
    const cases: [(payload: Payload) => void, string][] = [
      [
        (payload) => {
          payload.alerts = {} as unknown as Payload["alerts"];
        },
        "alerts",
      ],
      [
        (payload) => {
          alert(payload, 1).status = "pending";
        },
        "alerts[1].status",
      ],
      [
        (payload) => {
          alert(payload, 1).endsAt = "soon";
        },
        "alerts[1].endsAt",
      ],
      [
        (payload) => {
          alert(payload, 0).labels.pod = 5;
        },
        "alerts[0].labels.pod",
      ],
      [
        (payload) => {
          delete alert(payload, 1).labels.alertname;
        },
        "alerts[1].labels.alertname",
      ],
    ];
    for (const [edit, path] of cases) expect(parseError(source, exampleWith(edit)).path).toBe(path);
    const noAlerts = exampleWith((payload) => {
      payload.alerts = [];
    });
    expect(parse(source, noAlerts)).toEqual([]);
  });

  it("falls back to commonLabels, then groupLabels, for the service", () => {
    const withoutServiceLabel = exampleWith((payload) => {
      for (const alert of payload.alerts) delete (alert.labels as Record<string, string>).service;
    });
    expect(parse(alertmanagerWebhook(), withoutServiceLabel).map((signal) => signal.service)).toEqual([
      "checkout",
      "checkout",
    ]);

    const groupOnly = exampleWith((payload) => {
      for (const alert of payload.alerts) delete (alert.labels as Record<string, string>).service;
      payload.commonLabels = {};
      payload.groupLabels = { service: "payments" };
    });
    expect(parse(alertmanagerWebhook(), groupOnly)[0]?.service).toBe("payments");

    const nowhere = exampleWith((payload) => {
      for (const alert of payload.alerts) delete (alert.labels as Record<string, string>).service;
      payload.commonLabels = {};
    });
    const error = parseError(alertmanagerWebhook(), nowhere);
    expect(error.path).toBe("alerts[0].labels.service");
    expect(error.message).toContain('"service" label');
  });

  it("reads the service from a custom label", () => {
    const body = exampleWith((payload) => {
      (payload.alerts[0]?.labels as Record<string, string>).app = "checkout-api";
      (payload.alerts[1]?.labels as Record<string, string>).app = "checkout-worker";
    });
    const signals = parse(alertmanagerWebhook({ serviceLabel: "app" }), body);
    expect(signals.map((signal) => signal.service)).toEqual(["checkout-api", "checkout-worker"]);
    const error = parseError(alertmanagerWebhook({ serviceLabel: "app" }), example);
    expect(error.path).toBe("alerts[0].labels.app");
  });

  it("gives identical deliveries one dedupKey, and firing and resolved different ones", () => {
    const source = alertmanagerWebhook();
    const first = parse(source, example);
    const again = parse(alertmanagerWebhook({ name: "other-replica" }), structuredClone(example));
    expect(again.map((signal) => signal.dedupKey)).toEqual(first.map((signal) => signal.dedupKey));

    const resolvedLater = exampleWith((payload) => {
      const alert = payload.alerts[0] as Record<string, unknown>;
      alert.status = "resolved";
      alert.endsAt = "2026-08-20T10:25:00Z";
    });
    const [resolved] = parse(source, resolvedLater);
    expect(resolved?.fingerprint).toBe(first[0]?.fingerprint);
    expect(resolved?.dedupKey).not.toBe(first[0]?.dedupKey);

    const refired = exampleWith((payload) => {
      (payload.alerts[0] as Record<string, unknown>).startsAt = "2026-08-20T11:00:00Z";
    });
    expect(parse(source, refired)[0]?.dedupKey).not.toBe(first[0]?.dedupKey);
    expect(new Set(first.map((signal) => signal.dedupKey)).size).toBe(2);
    // The documented definition: hash of group key, fingerprint, startsAt and status.
    const firing = first[0];
    expect(firing?.dedupKey).toBe(
      shortHash([firing?.groupKey ?? "", firing?.fingerprint ?? "", firing?.startsAt ?? "", "firing"], 32),
    );
  });

  it("parses a notification of 100 alerts, each once", () => {
    // No time budget here: a wall-clock bound fails on a loaded machine and proves little on an
    // idle one. Throughput is measured by `pnpm bench:webhook`.
    const source = alertmanagerWebhook();
    const body = exampleWith((payload) => {
      const [firing, resolved] = payload.alerts;
      payload.alerts = Array.from({ length: 100 }, (_, index) => ({
        ...structuredClone(index % 2 === 0 ? firing : resolved),
        fingerprint: index.toString(16).padStart(16, "0"),
      }));
    });
    const signals = parse(source, body);
    expect(signals).toHaveLength(100);
    expect(new Set(signals.map((signal) => signal.fingerprint)).size).toBe(100);
  });

  it("refuses unusable settings", () => {
    expect(() => alertmanagerWebhook({ path: "webhook" })).toThrow(BadInputError);
    expect(() => alertmanagerWebhook({ serviceLabel: "" })).toThrow(/serviceLabel/);
    expect(() => alertmanagerWebhook({ name: "" })).toThrow(/name/);
  });
});

describe("firingPayload", () => {
  it("builds a version 4 body that the source accepts, with Alertmanager's common labels and group key", () => {
    const payload = firingPayload({
      groupLabels: { alertname: "HighErrorRate" },
      alerts: [
        {
          labels: { alertname: "HighErrorRate", service: "checkout", pod: "a" },
          fingerprint: "0000000000000001",
        },
        {
          labels: { alertname: "HighErrorRate", service: "checkout", pod: "b" },
          fingerprint: "0000000000000002",
        },
      ],
    });
    expect(payload).toMatchObject({
      version: "4",
      status: "firing",
      groupKey: '{}:{alertname="HighErrorRate"}',
      commonLabels: { alertname: "HighErrorRate", service: "checkout" },
    });
    const route = alertmanagerWebhook().route;
    const signals =
      route?.parse(JSON.parse(JSON.stringify(payload)), { receivedAt: new Date(), headers: {} }) ?? [];
    expect(signals.map((signal) => [signal.service, signal.fingerprint, signal.endsAt])).toEqual([
      ["checkout", "0000000000000001", undefined],
      ["checkout", "0000000000000002", undefined],
    ]);
  });
});
