import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  BadInputError,
  createNotificationDispatcher,
  type Incident,
  type Logger,
  type Notification,
  type NotificationOutcome,
  type Notifier,
  SelfHealError,
  SlackWebhookError,
  slackNotifier,
  TimeoutError,
  webhookNotifier,
} from "../src/index.js";

// ---------------------------------------------------------------------------------------------
// A strict stand-in server. Each test queues the answers it expects to be asked for; a request
// with no queued answer, or a request Slack would refuse, is a problem, and so is an answer left
// unused. afterEach fails the test on any problem.

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Answer = { readonly status: number; readonly body: string } | "hang";

interface StandIn {
  readonly origin: string;
  readonly received: Received[];
  /** Queue answers, in order. */
  answer(...answers: Answer[]): void;
  close(): Promise<void>;
  /** Problems seen, and answers never asked for. */
  problems(): string[];
}

const standIns: StandIn[] = [];

afterEach(async () => {
  const open = standIns.splice(0);
  const problems = open.flatMap((standIn) => standIn.problems());
  await Promise.all(open.map((standIn) => standIn.close()));
  expect(problems).toEqual([]);
});

/**
 * `slack`: behaves like a Slack incoming webhook per contracts/slack-webhook.md (POST, JSON,
 * `text` string and typed `blocks`, else 400 invalid_payload). `webhook`: any JSON POST.
 */
async function startStandIn(flavour: "slack" | "webhook", expectedPath: string): Promise<StandIn> {
  const received: Received[] = [];
  const queue: Answer[] = [];
  const problems: string[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body,
      });
      const refusal = check(flavour, request.method, request.url, request.headers, body, expectedPath);
      if (refusal !== undefined) {
        problems.push(`${flavour} stand-in refused a request: ${refusal}`);
        response.writeHead(400, { "content-type": "text/plain" }).end("invalid_payload");
        return;
      }
      const next = queue.shift();
      if (next === undefined) {
        problems.push(`unexpected call to the ${flavour} stand-in: ${body.slice(0, 200)}`);
        response.writeHead(500, { "content-type": "text/plain" }).end("unexpected call");
        return;
      }
      if (next === "hang") {
        hanging.push(response);
        return;
      }
      response.writeHead(next.status, { "content-type": "text/plain" }).end(next.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const standIn: StandIn = {
    origin: `http://127.0.0.1:${port}`,
    received,
    answer: (...answers) => {
      queue.push(...answers);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    problems: () => [
      ...problems,
      ...queue.map((answer) => `answer never asked for: ${JSON.stringify(answer)}`),
    ],
  };
  standIns.push(standIn);
  return standIn;
}

function check(
  flavour: "slack" | "webhook",
  method: string | undefined,
  path: string | undefined,
  headers: IncomingHttpHeaders,
  body: string,
  expectedPath: string,
): string | undefined {
  if (method !== "POST") return `method ${method}`;
  if (path !== expectedPath) return `path ${path}`;
  if (!headers["content-type"]?.startsWith("application/json"))
    return `content-type ${headers["content-type"]}`;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return "body is not JSON";
  }
  if (flavour === "webhook") return undefined;
  if (typeof json !== "object" || json === null) return "body is not an object";
  const { text, blocks } = json as { text?: unknown; blocks?: unknown };
  if (typeof text !== "string" || text === "") return "text is not a non-empty string";
  if (!Array.isArray(blocks)) return "blocks is not an array";
  for (const block of blocks as unknown[]) {
    if (
      typeof block !== "object" ||
      block === null ||
      typeof (block as { type?: unknown }).type !== "string"
    ) {
      return `block without a type: ${JSON.stringify(block)}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const slackPath = "/services/T0000SLACK/B0000SLACK/abcdefghijklmnopqrstuvwx";

function incident(patch: Partial<Incident> = {}): Incident {
  return {
    id: "checkout-higherrorrate-1a2b3c4d5e",
    key: "checkout/HighErrorRate",
    service: "checkout",
    alertname: "HighErrorRate",
    state: "verifying",
    revision: 4,
    labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical" },
    annotations: { summary: "5xx above 5 %" },
    fingerprint: "f00dfeed",
    startsAt: "2026-05-01T11:58:00.000Z",
    firing: ["f00dfeed"],
    signalCount: 1,
    openedAt: "2026-05-01T11:58:05.000Z",
    updatedAt: "2026-05-01T12:01:00.000Z",
    decision: {
      action: "rollback",
      params: { image: "registry/checkout:v1.1.0" },
      reason: "error rate 0.42 after deploy",
      escalate: false,
      policy: "builtin",
      decidedAt: "2026-05-01T11:58:06.000Z",
    },
    verifications: [],
    ...patch,
  };
}

function notification(patch: Partial<Notification> = {}): Notification {
  return {
    kind: "remediated",
    incident: incident(),
    title: "Rolled back checkout",
    text: "Rolled back to `v1.1.0`.",
    ...patch,
  };
}

function call(): { signal: AbortSignal } {
  return { signal: new AbortController().signal };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** A logger that keeps its lines. */
function memoryLogger(): Logger & { lines: { level: string; message: string; fields?: unknown }[] } {
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const log = (level: string) => (message: string, fields?: unknown) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---------------------------------------------------------------------------------------------

describe("slackNotifier", () => {
  it("posts the contract body: text, header, escaped mrkdwn, fields, links, context", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 200, body: "ok" });
    const notifier = slackNotifier({ url: `${slack.origin}${slackPath}` });

    await notifier.notify(
      notification({
        title: "Rolled back checkout <v1.2.0> & friends",
        text: "*Action:* rollback to `v1.1.0`\nerror_rate > 0.4 & restarts < 3",
        links: [
          { label: "MR !42", url: "https://gitlab.example.com/shop/deploy/-/merge_requests/42" },
          { label: "alert <1>", url: "https://alerts.example.com/?a=1&b=2" },
        ],
      }),
      call(),
    );

    expect(slack.received).toHaveLength(1);
    expect(JSON.parse(slack.received[0]?.body ?? "")).toEqual({
      text: "Rolled back checkout &lt;v1.2.0&gt; &amp; friends",
      blocks: [
        { type: "header", text: { type: "plain_text", text: "Rolled back checkout <v1.2.0> & friends" } },
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: "*Action:* rollback to `v1.1.0`\nerror_rate &gt; 0.4 &amp; restarts &lt; 3",
          },
        },
        {
          type: "section",
          fields: [
            { type: "mrkdwn", text: "*Service:*\ncheckout" },
            { type: "mrkdwn", text: "*Alert:*\nHighErrorRate" },
            { type: "mrkdwn", text: "*State:*\nverifying" },
            { type: "mrkdwn", text: "*Action:*\nrollback" },
          ],
        },
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text:
              "<https://gitlab.example.com/shop/deploy/-/merge_requests/42|MR !42>  ·  " +
              "<https://alerts.example.com/?a=1&amp;b=2|alert &lt;1&gt;>",
          },
        },
        {
          type: "context",
          elements: [
            { type: "mrkdwn", text: "selfheal · remediated · incident `checkout-higherrorrate-1a2b3c4d5e`" },
          ],
        },
      ],
    });
  });

  it("leaves out the action field, the links and an empty text when there are none", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 200, body: "ok" });
    const notifier = slackNotifier({ url: `${slack.origin}${slackPath}` });
    const { decision: _decision, ...undecided } = incident({ state: "escalated" });

    await notifier.notify(notification({ kind: "escalated", incident: undecided, text: "" }), call());

    const body = JSON.parse(slack.received[0]?.body ?? "") as {
      blocks: { type: string; fields?: unknown }[];
    };
    expect(body.blocks.map((block) => block.type)).toEqual(["header", "section", "context"]);
    expect(body.blocks[1]?.fields).toEqual([
      { type: "mrkdwn", text: "*Service:*\ncheckout" },
      { type: "mrkdwn", text: "*Alert:*\nHighErrorRate" },
      { type: "mrkdwn", text: "*State:*\nescalated" },
    ]);
  });

  it.each([
    [400, "invalid_payload", false],
    [400, "user_not_found", false],
    [403, "action_prohibited", false],
    [404, "channel_not_found", false],
    [410, "channel_is_archived", false],
    [429, "rate_limited", true],
    [500, "rollup_error", true],
    [503, "service_unavailable", true],
  ])("maps %i %s to a SlackWebhookError (retryable: %s)", async (status, slackError, retryable) => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status, body: slackError });
    const notifier = slackNotifier({ url: `${slack.origin}${slackPath}` });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(error).toBeInstanceOf(SlackWebhookError);
    expect(SelfHealError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      adapter: "slack",
      operation: "notify",
      status,
      slackError,
      retryable,
      incidentId: "checkout-higherrorrate-1a2b3c4d5e",
    });
    expect((error as Error).message).toContain(`answered ${status} ${slackError}`);
  });

  it("treats 200 with a body other than `ok` as a failure", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 200, body: "<html>captive portal</html>" });
    const notifier = slackNotifier({ url: `${slack.origin}${slackPath}` });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(error).toMatchObject({ status: 200, retryable: false, slackError: "<html>captive portal</html>" });
  });

  it("never shows a hooks.slack.com webhook URL unredacted", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 404, body: "channel_not_found" });
    const secretUrl = `https://hooks.slack.com${slackPath}`;
    // An injected transport sends the real Slack URL to the stand-in.
    const notifier = slackNotifier({
      url: secretUrl,
      fetch: (input, init) => fetch(`${slack.origin}${new URL(String(input)).pathname}`, init),
    });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(slack.received[0]?.path).toBe(slackPath);
    expect(error).toBeInstanceOf(SlackWebhookError);
    const shown = [
      (error as Error).message,
      (error as SelfHealError).url,
      (error as Error).stack,
      JSON.stringify(error),
      String(error),
    ].join("\n");
    expect(shown).not.toContain("B0000SLACK");
    expect(shown).not.toContain("abcdefghijklmnopqrstuvwx");
    expect((error as SelfHealError).url).toBe("https://hooks.slack.com/services/[REDACTED]");
    expect((error as Error).message).toContain("https://hooks.slack.com/services/[REDACTED] answered 404");
  });

  it("sends URL credentials as Basic auth and never shows them or the query", async () => {
    const slack = await startStandIn("slack", "/hook?key=q-secret-123");
    slack.answer({ status: 500, body: "rollup_error" });
    const notifier = slackNotifier({
      url: `${slack.origin.replace("//", "//alice:p%40ss-s3cret@")}/hook?key=q-secret-123`,
    });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(slack.received[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("alice:p@ss-s3cret").toString("base64")}`,
    );
    const shown = [(error as Error).message, (error as Error).stack, JSON.stringify(error)].join("\n");
    expect(shown).not.toContain("s3cret");
    expect(shown).not.toContain("alice");
    expect(shown).not.toContain("q-secret-123");
    expect((error as SelfHealError).url).toBe(`${slack.origin.replace("//", "//[REDACTED]@")}/[REDACTED]`);
    expect(error).toMatchObject({ status: 500, retryable: true });
  });

  it("rejects a bad URL without repeating it", () => {
    const make = () => slackNotifier({ url: "hooks.slack.com/services/T1/B2/sekrit-path-000" });
    expect(make).toThrow(BadInputError);
    expect(make).toThrow(/REDACTED/);
    expect(make).not.toThrow(/sekrit/);
  });

  it("times out on a webhook that never answers (retryable)", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer("hang");
    // 1 s, not less: the request must reach the stand-in (which checks it was called) first.
    const notifier = slackNotifier({ url: `${slack.origin}${slackPath}`, timeoutMs: 1000 });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ adapter: "slack", operation: "notify", retryable: true });
  });

  it("maps a refused connection to a retryable error", async () => {
    const slack = await startStandIn("slack", slackPath);
    const origin = slack.origin;
    await slack.close();
    const notifier = slackNotifier({ url: `${origin}${slackPath}` });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(error).toMatchObject({ adapter: "slack", retryable: true });
    expect((error as Error).message).toContain("ECONNREFUSED");
    // Not a hooks.slack.com URL, but a Slack webhook URL all the same: its path is hidden.
    expect((error as Error).message).toContain(`${origin}/[REDACTED] failed`);
    expect((error as Error).message).not.toContain("abcdefghijklmnopqrstuvwx");
  });

  it("declares its name and kinds", () => {
    expect(slackNotifier({ url: "https://hooks.slack.com/services/T/B/X" })).toMatchObject({ name: "slack" });
    expect("kinds" in slackNotifier({ url: "https://hooks.slack.com/services/T/B/X" })).toBe(false);
    expect(
      slackNotifier({ url: "https://hooks.slack.com/services/T/B/X", name: "oncall", kinds: ["escalated"] }),
    ).toMatchObject({ name: "oncall", kinds: ["escalated"] });
  });
});

describe("webhookNotifier", () => {
  it("posts the documented JSON body with its headers, credentials redacted", async () => {
    const hook = await startStandIn("webhook", "/notify");
    hook.answer({ status: 202, body: "" });
    const notifier = webhookNotifier({
      url: `${hook.origin}/notify`,
      headers: { authorization: "Bearer hook-token-1234567890", "x-team": "sre" },
    });
    const token = `ghp_${"A1b2C3d4".repeat(5)}`;
    const base = incident();
    const subject = incident({
      state: "resolved",
      closedAt: "2026-05-01T12:10:00.000Z",
      decision: base.decision && { ...base.decision, reason: `rollback (token ${token} was in the log)` },
      result: {
        idempotencyKey: "checkout-higherrorrate-1a2b3c4d5e/rollback",
        status: "applied",
        reused: false,
        revision: "a1b2c3d",
        changeRequest: {
          id: "42",
          url: "https://gitlab.example.com/shop/deploy/-/merge_requests/42",
          state: "merged",
        },
        startedAt: "2026-05-01T11:58:07.000Z",
        finishedAt: "2026-05-01T11:59:00.000Z",
      },
    });

    await notifier.notify(
      notification({
        kind: "resolved",
        incident: subject,
        title: "checkout recovered",
        text: "Verified for 5 minutes.",
        links: [{ label: "MR !42", url: "https://gitlab.example.com/shop/deploy/-/merge_requests/42" }],
      }),
      call(),
    );

    const request = hook.received[0];
    expect(request?.headers.authorization).toBe("Bearer hook-token-1234567890");
    expect(request?.headers["x-team"]).toBe("sre");
    expect(request?.body).not.toContain(token);
    expect(JSON.parse(request?.body ?? "")).toEqual({
      version: "1",
      kind: "resolved",
      title: "checkout recovered",
      text: "Verified for 5 minutes.",
      links: [{ label: "MR !42", url: "https://gitlab.example.com/shop/deploy/-/merge_requests/42" }],
      incident: {
        id: "checkout-higherrorrate-1a2b3c4d5e",
        key: "checkout/HighErrorRate",
        service: "checkout",
        alertname: "HighErrorRate",
        state: "resolved",
        openedAt: "2026-05-01T11:58:05.000Z",
        closedAt: "2026-05-01T12:10:00.000Z",
        decision: {
          action: "rollback",
          params: { image: "registry/checkout:v1.1.0" },
          reason: "rollback (token ghp_[REDACTED] was in the log)",
          escalate: false,
          policy: "builtin",
          decidedAt: "2026-05-01T11:58:06.000Z",
        },
        result: subject.result,
      },
    });
  });

  it("leaves out what the incident does not have yet and sends links as []", async () => {
    const hook = await startStandIn("webhook", "/notify");
    hook.answer({ status: 204, body: "" });
    const { decision: _decision, ...undecided } = incident({ state: "received" });

    await webhookNotifier({ url: `${hook.origin}/notify` }).notify(
      notification({ incident: undecided }),
      call(),
    );

    const body = JSON.parse(hook.received[0]?.body ?? "") as {
      links: unknown;
      incident: Record<string, unknown>;
    };
    expect(body.links).toEqual([]);
    expect(Object.keys(body.incident).sort()).toEqual(
      ["alertname", "id", "key", "openedAt", "service", "state"].sort(),
    );
  });

  it.each([
    [400, false],
    [401, false],
    [404, false],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
  ])("maps %i to a SelfHealError (retryable: %s), without header values", async (status, retryable) => {
    const hook = await startStandIn("webhook", "/notify");
    hook.answer({ status, body: "nope" });
    const notifier = webhookNotifier({
      url: `${hook.origin}/notify`,
      headers: { authorization: "Bearer hook-token-1234567890" },
    });

    const error = await rejection(notifier.notify(notification(), call()));

    expect(SelfHealError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ adapter: "webhook", operation: "notify", status, retryable });
    expect((error as Error).message).toBe(`webhook ${hook.origin}/notify answered ${status} nope`);
    expect(JSON.stringify(error)).not.toContain("hook-token");
  });
});

describe("createNotificationDispatcher", () => {
  it("never blocks send: a failing and a hanging notifier do not hold up the others", async () => {
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 200, body: "ok" });
    const failing = await startStandIn("webhook", "/failing");
    failing.answer({ status: 400, body: "bad request" });
    const hanging = await startStandIn("webhook", "/hanging");
    hanging.answer("hang");
    let ignoringCalls = 0;
    // Ignores its signal and never settles.
    const ignoring: Notifier = {
      name: "ignores-signal",
      notify: () => {
        ignoringCalls += 1;
        return new Promise<void>(() => {});
      },
    };
    const outcomes: NotificationOutcome[] = [];
    const logger = memoryLogger();
    const dispatcher = createNotificationDispatcher({
      notifiers: [
        slackNotifier({ url: `${slack.origin}${slackPath}` }),
        webhookNotifier({ url: `${failing.origin}/failing`, name: "failing" }),
        // The notifier's own timeout is long: the dispatcher's bound ends the call.
        webhookNotifier({ url: `${hanging.origin}/hanging`, name: "hanging", timeoutMs: 60_000 }),
        ignoring,
      ],
      logger,
      record: (outcome) => {
        outcomes.push(outcome);
      },
      // Long enough that the healthy notifier is through first even on a loaded machine.
      timeoutMs: 3000,
      retries: 0,
    });

    // send returns nothing to wait for, before any notifier is even called.
    expect(dispatcher.send(notification())).toBeUndefined();
    expect(ignoringCalls).toBe(0);
    expect(outcomes).toEqual([]);

    // The healthy notifier is through long before the hanging ones time out.
    await until(() => outcomes.some((outcome) => outcome.notifier === "slack"));
    expect(slack.received).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.notifier)).not.toContain("hanging");
    expect(outcomes.map((outcome) => outcome.notifier)).not.toContain("ignores-signal");
    await dispatcher.drain(15_000);

    const byName = Object.fromEntries(outcomes.map((outcome) => [outcome.notifier, outcome]));
    expect(outcomes).toHaveLength(4);
    expect(byName.slack).toEqual({
      notifier: "slack",
      kind: "remediated",
      incidentId: "checkout-higherrorrate-1a2b3c4d5e",
      ok: true,
      attempts: 1,
    });
    expect(byName.failing).toMatchObject({
      ok: false,
      attempts: 1,
      error: expect.stringContaining("answered 400"),
    });
    expect(byName.hanging).toMatchObject({
      ok: false,
      attempts: 1,
      error: expect.stringContaining("within 3000 ms"),
    });
    expect(byName["ignores-signal"]).toMatchObject({
      ok: false,
      attempts: 1,
      error: expect.stringContaining("3000 ms"),
    });
    expect(ignoringCalls).toBe(1);
    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings.map((line) => line.message)).toEqual(Array(3).fill("notification failed"));
  });

  it("retries retryable failures with doubling backoff, and no others", async () => {
    const flaky = await startStandIn("webhook", "/flaky");
    flaky.answer({ status: 500, body: "" }, { status: 200, body: "" });
    const limited = await startStandIn("slack", slackPath);
    limited.answer(
      { status: 429, body: "rate_limited" },
      { status: 429, body: "rate_limited" },
      {
        status: 429,
        body: "rate_limited",
      },
    );
    const refused = await startStandIn("slack", slackPath);
    refused.answer({ status: 400, body: "invalid_blocks" });
    const outcomes: NotificationOutcome[] = [];
    const sleeps: number[] = [];
    const dispatcher = createNotificationDispatcher({
      notifiers: [
        webhookNotifier({ url: `${flaky.origin}/flaky`, name: "flaky" }),
        slackNotifier({ url: `${limited.origin}${slackPath}`, name: "limited" }),
        slackNotifier({ url: `${refused.origin}${slackPath}`, name: "refused" }),
      ],
      logger: memoryLogger(),
      record: (outcome) => {
        outcomes.push(outcome);
      },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    dispatcher.send(notification());
    await dispatcher.drain(5000);

    const byName = Object.fromEntries(outcomes.map((outcome) => [outcome.notifier, outcome]));
    expect(byName.flaky).toMatchObject({ ok: true, attempts: 2 });
    expect(byName.limited).toMatchObject({ ok: false, attempts: 3, error: expect.stringContaining("429") });
    expect(byName.refused).toMatchObject({
      ok: false,
      attempts: 1,
      error: expect.stringContaining("invalid_blocks"),
    });
    // flaky waits once (~500 ms), limited twice (~500 ms, ~1000 ms); ±20 % jitter.
    const first = sleeps.filter((ms) => ms < 750);
    const second = sleeps.filter((ms) => ms >= 750);
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(1);
    for (const ms of first) expect(ms >= 400 && ms <= 600, `${ms} ms`).toBe(true);
    for (const ms of second) expect(ms >= 800 && ms <= 1200, `${ms} ms`).toBe(true);
  });

  it("sends each notification only to notifiers of its kind", async () => {
    const seen: string[] = [];
    const recorder = (name: string, kinds?: Notification["kind"][]): Notifier => ({
      name,
      ...(kinds === undefined ? {} : { kinds }),
      notify: async (sent) => {
        seen.push(`${name}:${sent.kind}`);
      },
    });
    const outcomes: NotificationOutcome[] = [];
    const dispatcher = createNotificationDispatcher({
      notifiers: [recorder("all"), recorder("pager", ["escalated", "failed"])],
      logger: memoryLogger(),
      record: (outcome) => {
        outcomes.push(outcome);
      },
    });

    dispatcher.send(notification({ kind: "remediated" }));
    dispatcher.send(notification({ kind: "escalated" }));
    await dispatcher.drain();

    expect(seen.sort()).toEqual(["all:escalated", "all:remediated", "pager:escalated"]);
    expect(outcomes).toHaveLength(3);
  });

  it("redacts tokens in title, text and links before any notifier sees them", async () => {
    const token = `ghp_${"Zx9Yw8Vu7".repeat(4)}`;
    const slack = await startStandIn("slack", slackPath);
    slack.answer({ status: 200, body: "ok" });
    const hook = await startStandIn("webhook", "/notify");
    hook.answer({ status: 200, body: "" });
    const dispatcher = createNotificationDispatcher({
      notifiers: [
        slackNotifier({ url: `${slack.origin}${slackPath}` }),
        webhookNotifier({ url: `${hook.origin}/notify` }),
      ],
      logger: memoryLogger(),
      record: () => {},
    });

    dispatcher.send(
      notification({
        title: `push failed with ${token}`,
        text: `git said: remote: Invalid credentials ${token}`,
        links: [{ label: "log", url: `https://ci.example.com/log?token=${token}` }],
      }),
    );
    await dispatcher.drain();

    for (const request of [...slack.received, ...hook.received]) {
      expect(request.body).not.toContain(token);
      expect(request.body).toContain("ghp_[REDACTED]");
    }
    expect(slack.received).toHaveLength(1);
    expect(hook.received).toHaveLength(1);
    const text = (JSON.parse(hook.received[0]?.body ?? "") as { text: string }).text;
    expect(text).toBe("git said: remote: Invalid credentials ghp_[REDACTED]");
  });

  it("never throws from send, even when a notifier or record throws", async () => {
    const logger = memoryLogger();
    const throwing: Notifier = {
      name: "throws",
      notify: () => {
        throw new Error("synchronous boom");
      },
    };
    const dispatcher = createNotificationDispatcher({
      notifiers: [throwing],
      logger,
      record: () => {
        throw new Error("store is closed");
      },
    });

    expect(() => dispatcher.send(notification())).not.toThrow();
    await dispatcher.drain();

    expect(logger.lines.map((line) => [line.level, line.message])).toEqual([
      ["warn", "notification failed"],
      ["error", "notification outcome could not be recorded"],
    ]);
  });

  it("drain is bounded by its timeout and aborts what still runs", async () => {
    const outcomes: NotificationOutcome[] = [];
    const logger = memoryLogger();
    const dispatcher = createNotificationDispatcher({
      notifiers: [{ name: "stuck", notify: () => new Promise<void>(() => {}) }],
      logger,
      record: (outcome) => {
        outcomes.push(outcome);
      },
      timeoutMs: 60_000,
    });

    dispatcher.send(notification());
    const started = performance.now();
    await dispatcher.drain(100);
    const elapsed = performance.now() - started;

    // It waited its bound (a lower bound holds on a loaded machine); that it returned at all
    // shows it is bounded: the notifier never settles, and its own timeout is 60 s.
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(logger.lines.map((line) => line.message)).toContain(
      "notifications still in flight at drain timeout: aborting them",
    );
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({
      notifier: "stuck",
      ok: false,
      attempts: 1,
      error: "notifier stuck: aborted",
    });
    await dispatcher.drain(100);
  });

  it("drain resolves at once when nothing is in flight", async () => {
    const dispatcher = createNotificationDispatcher({
      notifiers: [],
      logger: memoryLogger(),
      record: () => {},
    });
    // Settled before the next turn of the event loop: no timer was waited on.
    const first = await Promise.race([
      dispatcher.drain(10_000).then(() => "drained"),
      new Promise((resolve) => setImmediate(() => resolve("still waiting"))),
    ]);
    expect(first).toBe("drained");
  });
});
