// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonErrorPosition } from "../src/commands/cli-io.js";
import { runInProcess } from "./cli-harness.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-users-see-"));
  await writeFile(
    join(folder, "selfheal.yaml"),
    [
      "policy: { opa: { url: http://127.0.0.1:1, path: selfheal/decision, token: '${OPA_TOKEN}' } }",
      // Nothing listens here: a replay that fetched it would fail on the fetch, not the payload.
      "remediate: { gitops: { repo: { url: http://127.0.0.1:1/config.git } } }",
      "notify: { slack: { url: '${SLACK_WEBHOOK_URL}' } }",
      "store: { file: { dir: state } }",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("what a user sees is true", () => {
  it("replay reports a payload that is not JSON with its line and column, before fetching anything", async () => {
    await writeFile(
      join(folder, "broken.json"),
      '{\n  "version": "4",\n  "alerts": [\n    {"status": "firing",}\n  ]\n}\n',
    );
    const answer = await runInProcess(["replay", "broken.json"], { cwd: folder, env: { OPA_TOKEN: "t" } });
    expect(answer.code).toBe(2);
    expect(answer.stderr).toMatch(/broken\.json:4:25: not JSON/);
    expect(answer.stderr).not.toContain("fetching");
  });

  it("replay checks the payload before it fetches the config repository", async () => {
    await writeFile(join(folder, "wrong.json"), JSON.stringify({ version: "3", alerts: [] }));
    const answer = await runInProcess(["replay", "wrong.json"], { cwd: folder, env: { OPA_TOKEN: "t" } });
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain("version");
    expect(answer.stderr).not.toContain("fetching");
  });

  it("replay does not demand the variables of what it does not use (notify); audit only the store's", async () => {
    await writeFile(join(folder, "payload.json"), JSON.stringify({ version: "3", alerts: [] }));
    // Without OPA_TOKEN, replay still refuses: it calls the policy.
    const replay = await runInProcess(["replay", "payload.json"], { cwd: folder, env: {} });
    expect(replay.stderr).toContain("environment variable OPA_TOKEN is not set");
    expect(replay.stderr).not.toContain("SLACK_WEBHOOK_URL");
    // audit reads only the store: neither variable is asked for.
    await mkdir(join(folder, "state"), { recursive: true });
    const audit = await runInProcess(["audit", "--json"], { cwd: folder, env: {} });
    expect(audit.stderr).not.toContain("is not set");
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ incidents: [] });
  });

  it("finds the line and column of a JSON error in either form Node reports it", () => {
    expect(jsonErrorPosition('{\n  "a": 1,\n}', "Unexpected token } in JSON at position 12")).toBe("3:1:");
    expect(
      jsonErrorPosition("{}", "Expected ',' or '}' after property value in JSON at line 2 column 7"),
    ).toBe("2:7:");
    expect(jsonErrorPosition('{"a":', "Unexpected end of JSON input")).toBe("1:6:");
  });
});

describe("selfheal from a clone", () => {
  it("runs as the README says: pnpm selfheal from the repository root", async () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    await promisify(execFile)("pnpm", ["exec", "tsc", "-b", "packages/cli"], { cwd: root });
    const { stdout } = await promisify(execFile)("pnpm", ["--silent", "selfheal", "--help"], { cwd: root });
    expect(stdout).toContain("Usage: selfheal");
    const readme = await readFile(join(root, "README.md"), "utf8");
    expect(readme).toContain("`pnpm selfheal <command>`");
  }, 120_000);
});
