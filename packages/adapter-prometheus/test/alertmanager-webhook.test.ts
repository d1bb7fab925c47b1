import { readFile } from "node:fs/promises";
import {
  BadInputError,
  type RejectedItem,
  Signal,
  type SignalParseResult,
  type SignalSource,
} from "@selfheal/core";
import { shortHash } from "@selfheal/core/internal";
import { beforeAll, describe, expect, it } from "vitest";
import { alertmanagerWebhook, firingPayload } from "../src/index.js";
import { contractUrl } from "./contract-files.js";

const exampleUrl = contractUrl("alertmanager-webhook-example.json");

type Payload = Record<string, unknown> & { alerts: Record<string, unknown>[] };
let example: Payload;

beforeAll(async () => {
  example = JSON.parse(await readFile(exampleUrl, "utf8")) as Payload;
});

const receivedAt = new Date("2026-08-20T10:20:00.000Z");

function parseResult(source: SignalSource, body: unknown): SignalParseResult {
  if (source.route === undefined) throw new Error("alertmanagerWebhook must have a route");
  const result = source.route.parse(body, { receivedAt, headers: { "user-agent": "Alertmanager/0.34.0" } });
  if (Array.isArray(result)) throw new Error("alertmanagerWebhook must say what it rejected");
  return result;
}

/** The signals of a body none of whose alerts is rejected. */
function parse(source: SignalSource, body: unknown): Signal[] {
  const { signals, rejected } = parseResult(source, body);
  expect(rejected).toEqual([]);
  return signals;
}

/** The one rejected alert of a body, with the signals of the others. */
function rejection(source: SignalSource, body: unknown): RejectedItem & { accepted: Signal[] } {
  const { signals, rejected } = parseResult(source, body);
  expect(rejected).toHaveLength(1);
  return { ...(rejected[0] as RejectedItem), accepted: signals };
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

  it("sets truncatedAlerts on every signal when Alertmanager left alerts out, and only then", () => {
    const truncated = exampleWith((payload) => {
      payload.truncatedAlerts = 3;
    });
    expect(parse(alertmanagerWebhook(), truncated).map((signal) => signal.truncatedAlerts)).toEqual([3, 3]);
    expect(example.truncatedAlerts).toBe(0);
    for (const signal of parse(alertmanagerWebhook(), example))
      expect("truncatedAlerts" in signal).toBe(false);
    const broken = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        payload.truncatedAlerts = -1;
      }),
    );
    expect(broken.path).toBe("truncatedAlerts");
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

  it("rejects an alert without fingerprint alone, with its JSON path, and keeps the other", () => {
    const rejected = rejection(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        delete payload.alerts[0]?.fingerprint;
      }),
    );
    expect(rejected.index).toBe(0);
    expect(rejected.path).toBe("alerts[0].fingerprint");
    expect(rejected.reason).toContain("alerts[0].fingerprint");
    expect(rejected.reason).toContain("missing");
    expect(rejected.fingerprint).toBeUndefined();
    expect(rejected.accepted.map((signal) => signal.fingerprint)).toEqual([example.alerts[1]?.fingerprint]);
  });

  it("rejects a bad startsAt, with its JSON path, the value received and the fingerprint", () => {
    const rejected = rejection(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        (payload.alerts[0] as Record<string, unknown>).startsAt = "yesterday at noon";
      }),
    );
    expect(rejected.path).toBe("alerts[0].startsAt");
    expect(rejected.reason).toContain('"yesterday at noon"');
    expect(rejected.reason).toContain("RFC 3339");
    expect(rejected.fingerprint).toBe(example.alerts[0]?.fingerprint);
    expect(rejected.accepted).toHaveLength(1);
  });

  it("refuses a payload whose alerts are not a list, with its path", () => {
    const error = parseError(
      alertmanagerWebhook(),
      exampleWith((payload) => {
        payload.alerts = {} as unknown as Payload["alerts"];
      }),
    );
    expect(error.path).toBe("alerts");
    expect(error.message).toContain("expected array");
  });

  it("rejects other malformed alerts one by one, with their paths", () => {
    const source = alertmanagerWebhook();
    type Alert = { labels: Record<string, unknown> } & Record<string, unknown>;
    const alert = (payload: Payload, index: number) => payload.alerts[index] as Alert;
    const cases: [(payload: Payload) => void, string][] = [
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
    for (const [edit, path] of cases) {
      const rejected = rejection(source, exampleWith(edit));
      expect(rejected.path).toBe(path);
      expect(rejected.accepted).toHaveLength(1);
    }
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
    const { signals, rejected } = parseResult(alertmanagerWebhook(), nowhere);
    expect(signals).toEqual([]);
    expect(rejected.map((item) => item.path)).toEqual([
      "alerts[0].labels.service",
      "alerts[1].labels.service",
    ]);
    expect(rejected[0]?.reason).toContain('"service" label');
  });

  it("reads the service from a custom label", () => {
    const body = exampleWith((payload) => {
      (payload.alerts[0]?.labels as Record<string, string>).app = "checkout-api";
      (payload.alerts[1]?.labels as Record<string, string>).app = "checkout-worker";
    });
    const signals = parse(alertmanagerWebhook({ serviceLabel: "app" }), body);
    expect(signals.map((signal) => signal.service)).toEqual(["checkout-api", "checkout-worker"]);
    expect(parseResult(alertmanagerWebhook({ serviceLabel: "app" }), example).rejected[0]?.path).toBe(
      "alerts[0].labels.app",
    );
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

  it("parses 100 alerts into 100 signals with distinct delivery keys", () => {
    // No time budget (it failed on a loaded machine): bench/webhook measures the intake path.
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
    expect(new Set(signals.map((signal) => signal.dedupKey)).size).toBe(100);
    expect(signals[99]?.fingerprint).toBe("0000000000000063");
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
    const signals = parse(alertmanagerWebhook(), JSON.parse(JSON.stringify(payload)));
    expect(signals.map((signal) => [signal.service, signal.fingerprint, signal.endsAt])).toEqual([
      ["checkout", "0000000000000001", undefined],
      ["checkout", "0000000000000002", undefined],
    ]);
  });
});
