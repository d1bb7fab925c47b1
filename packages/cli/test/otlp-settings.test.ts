import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { configSecrets } from "../src/wire/config-secrets.js";
import { otlpSettings, parseOtlpHeaders } from "../src/wire/wire-telemetry.js";

const telemetry = (yaml: string) =>
  parseConfig(`policy: { builtin: {} }\n${yaml}`, "selfheal.yaml").telemetry;

describe("telemetry.otlp and the OTEL_* environment", () => {
  it("is off without the key and without an endpoint variable", () => {
    expect(otlpSettings(telemetry(""), {})).toBeUndefined();
    expect(
      otlpSettings(telemetry(""), { OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_HEADERS: "a=b" }),
    ).toBeUndefined();
  });

  it("turns on from OTEL_EXPORTER_OTLP_ENDPOINT, appending the signal paths", () => {
    expect(otlpSettings(telemetry(""), { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toEqual({
      tracesUrl: "http://collector:4318/v1/traces",
      metricsUrl: "http://collector:4318/v1/metrics",
      headers: {},
      metricsIntervalMs: 15_000,
      serviceName: "selfheal",
    });
  });

  it("takes signal-specific endpoint variables as they are, and OTEL_SDK_DISABLED turns everything off", () => {
    const settings = otlpSettings(telemetry("telemetry: { otlp: { endpoint: 'http://c:4318' } }"), {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces.example/custom",
    });
    expect(settings?.tracesUrl).toBe("http://traces.example/custom");
    expect(settings?.metricsUrl).toBe("http://c:4318/v1/metrics");
    expect(otlpSettings(telemetry("telemetry: { otlp: {} }"), { OTEL_SDK_DISABLED: "TRUE" })).toBeUndefined();
  });

  it("lets the config win over the environment, and turns a signal off", () => {
    const settings = otlpSettings(
      telemetry(
        "telemetry:\n  otlp:\n    endpoint: http://mine:4318\n    metrics: false\n    serviceName: shop-selfheal\n    metricsInterval: 1m\n    headers: { authorization: 'Bearer cfg' }\n",
      ),
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318",
        OTEL_SERVICE_NAME: "env-name",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20env,x-tenant=shop",
      },
    );
    expect(settings).toEqual({
      tracesUrl: "http://mine:4318/v1/traces",
      headers: { authorization: "Bearer cfg", "x-tenant": "shop" },
      metricsIntervalMs: 60_000,
      serviceName: "shop-selfheal",
    });
  });

  it("reads OTEL_EXPORTER_OTLP_HEADERS as the specification writes it", () => {
    expect(parseOtlpHeaders("api-key=abc%3D%3D, x-b = two ,broken,=novalue")).toEqual({
      "api-key": "abc==",
      "x-b": "two",
    });
    expect(parseOtlpHeaders(undefined)).toEqual({});
  });

  it("counts export headers as secrets, so they are redacted everywhere", () => {
    const config = parseConfig(
      "policy: { builtin: {} }\ntelemetry: { otlp: { headers: { x-honeycomb-team: hc-key-fake-91 } } }\n",
      "selfheal.yaml",
    );
    expect(configSecrets(config)).toContain("hc-key-fake-91");
  });

  it("refuses an unknown key under telemetry.otlp at its line", () => {
    expect(() => telemetry("telemetry:\n  otlp: { endpiont: http://x }\n")).toThrow(
      /selfheal\.yaml:3:\d+ telemetry\.otlp\.endpiont: unknown key "endpiont"/,
    );
  });
});
