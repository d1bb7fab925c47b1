import { BadInputError } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { compilePromql, escapePromqlString, escapeRegex } from "../src/index.js";

const values: { service: string; alertname: string; labels: Record<string, string>; window: string } = {
  service: "checkout",
  alertname: "HighErrorRate",
  labels: { namespace: "shop" },
  window: "5m",
};

function render(template: string, overrides: Partial<typeof values> = {}) {
  return compilePromql(template, "test").render({ ...values, ...overrides });
}

describe("compilePromql", () => {
  it("fills service, alertname, labels and window", () => {
    expect(
      render('rate(x{service="{{service}}",ns="{{ labels.namespace }}",a="{{alertname}}"}[{{window}}])'),
    ).toEqual({
      query: 'rate(x{service="checkout",ns="shop",a="HighErrorRate"}[5m])',
    });
  });

  it("escapes values so they stay inside their string", () => {
    const hostile = 'a"} or vector(1) # \\ \n';
    expect(render('x{service="{{service}}"}', { service: hostile })).toEqual({
      query: 'x{service="a\\"} or vector(1) # \\\\ \\n"}',
    });
    expect(escapePromqlString("tab\there\u0001")).toBe("tab\\there\\x01");
  });

  it("escapes regular-expression characters with |regex", () => {
    expect(render('x{service=~"{{service|regex}}"}', { service: "a.b(c)*" })).toEqual({
      query: 'x{service=~"a\\\\.b\\\\(c\\\\)\\\\*"}',
    });
    expect(escapeRegex("a.b")).toBe("a\\.b");
  });

  it("leaves out an optional matcher when the alert lacks its label, keeping the selector well formed", () => {
    const none = { labels: {} };
    const cases: [string, string][] = [
      ['x{namespace="{{labels.namespace?}}",container="{{service}}"}', 'x{container="checkout"}'],
      ['x{container="{{service}}",namespace="{{labels.namespace?}}"}', 'x{container="checkout"}'],
      ['x{a="1", namespace = "{{labels.namespace?}}", b="2"}', 'x{a="1", b="2"}'],
      ['x{namespace="{{labels.namespace?}}"}', "x{}"],
      ['x{ns=~"{{labels.namespace?|regex}}"} / y{namespace="{{labels.namespace?}}",c="d"}', 'x{} / y{c="d"}'],
    ];
    for (const [template, query] of cases) expect(render(template, none), template).toEqual({ query });
    // With the label, the matcher stays, escaped like any value.
    expect(
      render('x{namespace="{{labels.namespace?}}",container="{{service}}"}', {
        labels: { namespace: 'a"b' },
      }),
    ).toEqual({
      query: 'x{namespace="a\\"b",container="checkout"}',
    });
  });

  it("refuses an optional placeholder that is not the whole value of a label matcher", () => {
    for (const template of [
      'x{namespace="ns-{{labels.namespace?}}"}',
      'x{service="{{service?}}"}',
      'label_replace(x, "a", "{{labels.namespace?}}", "b", "c")',
    ]) {
      expect(() => compilePromql(template, "queries.t"), template).toThrow(
        /queries\.t: .*optional|whole value of a label matcher/,
      );
    }
  });

  it("names a label the incident lacks instead of matching everything", () => {
    expect(render('x{pod="{{labels.pod}}"}')).toEqual({ missing: "labels.pod" });
  });

  it("refuses values outside double-quoted strings, and unknown placeholders", () => {
    for (const template of [
      "x{service={{service}}}",
      "x{service='{{service}}'}",
      "x{service=`{{service}}`}",
      'x{service="{{window}}"}',
      'x{service="{{incident.id}}"}',
      'x{service="{{service}',
      'x{service="unterminated}',
      '# "\nx{service={{service}}}',
    ]) {
      expect(() => compilePromql(template, "queries.t"), template).toThrow(BadInputError);
    }
  });

  it("reads quotes in comments and escaped quotes correctly", () => {
    expect(render('x{a="\\"", service="{{service}}"} # "')).toEqual({
      query: 'x{a="\\"", service="checkout"} # "',
    });
  });
});
