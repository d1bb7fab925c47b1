import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { parse, stringify } from "yaml";
import { z } from "zod";

// The deploy files checked by the tools that will load them: promtool (Debian's `prometheus`
// package) and amtool (`prometheus-alertmanager`). CI installs both, so there a missing tool is
// a failure; on a workstation without them these tests are skipped.

const run = promisify(execFile);
const prometheusDir = fileURLToPath(new URL("../deploy/prometheus/", import.meta.url));
const alertmanagerFile = fileURLToPath(new URL("../deploy/alertmanager/alertmanager.yml", import.meta.url));
const dashboardFile = fileURLToPath(new URL("../deploy/grafana/selfheal-dashboard.json", import.meta.url));

// Only what the PromQL check reads: every panel's queries, collapsed rows' panels included.
interface DashboardPanel {
  readonly targets?: readonly { readonly expr?: string | undefined }[] | undefined;
  readonly panels?: readonly DashboardPanel[] | undefined;
}
const DashboardPanel: z.ZodType<DashboardPanel> = z.lazy(() =>
  z.object({
    targets: z.array(z.object({ expr: z.string().optional() })).optional(),
    panels: z.array(DashboardPanel).optional(),
  }),
);

/** Every PromQL expression of the dashboard, Grafana's variables replaced by plain durations. */
async function dashboardExpressions(): Promise<string[]> {
  const dashboard = z
    .object({ panels: z.array(DashboardPanel) })
    .parse(JSON.parse(await readFile(dashboardFile, "utf8")));
  const walk = (panels: readonly DashboardPanel[]): string[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).flatMap((target) => (target.expr === undefined ? [] : [target.expr])),
      ...walk(panel.panels ?? []),
    ]);
  // Grafana substitutes these before Prometheus sees the query; promtool knows none of them.
  return walk(dashboard.panels).map((expr) =>
    expr.replaceAll(/\$\{?__range\}?/g, "1h").replaceAll(/\$\{?__(rate_)?interval\}?/g, "1m"),
  );
}

async function installed(tool: string): Promise<boolean> {
  return run(tool, ["--version"], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
}

/** Skips the test when `tool` is missing, except in CI where the tool must be there. */
async function requireTool(context: TestContext, tool: string): Promise<void> {
  if (await installed(tool)) return;
  if (process.env.CI === "true") throw new Error(`${tool} is not installed; CI must install it`);
  context.skip(`${tool} is not installed`);
}

/** Runs a tool; resolves with its output, or fails the test with it. */
async function check(tool: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(tool, [...args], {
      timeout: 20_000,
      ...(cwd === undefined ? {} : { cwd }),
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${tool} ${args.join(" ")} failed:\n${failed.stdout ?? ""}${failed.stderr ?? failed.message}`,
    );
  }
}

describe("promtool", () => {
  let scratch = "";
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "selfheal-deploy-"));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("accepts the plain rules file", async (context) => {
    await requireTool(context, "promtool");
    const output = await check("promtool", ["check", "rules", join(prometheusDir, "rules.yml")]);
    expect(output).toContain("SUCCESS: 3 rules found");
  });

  it("accepts the rules of the PrometheusRule", async (context) => {
    await requireTool(context, "promtool");
    const crd = z
      .object({ spec: z.object({ groups: z.array(z.unknown()) }) })
      .parse(parse(await readFile(join(prometheusDir, "selfheal-rules.yaml"), "utf8")));
    const file = join(scratch, "prometheus-rule.yml");
    await writeFile(file, stringify({ groups: crd.spec.groups }));
    expect(await check("promtool", ["check", "rules", file])).toContain("SUCCESS: 3 rules found");
  });

  it("fires each alert with the labels selfheal needs (rules.test.yml)", async (context) => {
    await requireTool(context, "promtool");
    // Run from the rules folder: rules.test.yml names rules.yml relative to it.
    const output = await check("promtool", ["test", "rules", "rules.test.yml"], prometheusDir);
    expect(output).toContain("SUCCESS");
  });

  it("parses every PromQL expression of the Grafana dashboard", async (context) => {
    await requireTool(context, "promtool");
    const expressions = await dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(0);
    const rules = expressions.map((expr, index) => ({ record: `dashboard:query_${index}`, expr }));
    const file = join(scratch, "dashboard-queries.yml");
    await writeFile(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    expect(await check("promtool", ["check", "rules", file])).toContain(
      `SUCCESS: ${expressions.length} rules found`,
    );
  });

  it("rejects a broken rule (the check can fail)", async (context) => {
    await requireTool(context, "promtool");
    const broken = (await readFile(join(prometheusDir, "rules.yml"), "utf8")).replace("for: 1m", "for: soon");
    const file = join(scratch, "broken.yml");
    await writeFile(file, broken);
    await expect(check("promtool", ["check", "rules", file])).rejects.toThrow(/failed/);
  });
});

describe("amtool", () => {
  it("accepts the Alertmanager config", async (context) => {
    await requireTool(context, "amtool");
    expect(await check("amtool", ["check-config", alertmanagerFile])).toContain("SUCCESS");
  });

  it("routes selfheal's alerts to selfheal and on-call, others to on-call only", async (context) => {
    await requireTool(context, "amtool");
    const receivers = async (...labels: string[]) =>
      (await check("amtool", ["config", "routes", "test", `--config.file=${alertmanagerFile}`, ...labels]))
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("Warning:"))
        .join("\n");
    expect(await receivers("alertname=HighErrorRate", "service=checkout", "severity=critical")).toBe(
      "selfheal,oncall",
    );
    expect(await receivers("alertname=PodCrashLooping", "service=checkout")).toBe("selfheal,oncall");
    expect(await receivers("alertname=HighCPU", "service=selfheal")).toBe("oncall");
    expect(await receivers("alertname=DiskFull", "service=checkout")).toBe("oncall");
  });
});
