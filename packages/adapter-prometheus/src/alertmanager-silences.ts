import { BadInputError, type Duration, type Incident, toMs } from "@selfheal/core";
import { z } from "zod";
import { bodyPreview, createHttpClient, type HttpConnectionSettings, parseJson } from "./http-client.js";

/** Settings of `alertmanagerSilences`. */
export interface AlertmanagerSilencesSettings extends HttpConnectionSettings {
  /**
   * `createdBy` of every silence; also how our silences are told apart from people's.
   * @default "selfheal"
   */
  readonly createdBy?: string;
  /**
   * How long a silence lasts unless expired sooner: a crashed controller's silence ends by itself.
   * @default "1h"
   */
  readonly duration?: Duration;
  /**
   * Labels of the alert that become matchers; absent means all of them (the silence then
   * matches this alert and nothing broader).
   * @default undefined
   */
  readonly matchLabels?: readonly string[];
  /**
   * Time limit of each request, in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/** A silence `create` made or found. */
export interface SilenceRef {
  /** Alertmanager's id of the silence. */
  readonly silenceId: string;
  /** The matchers, as sent. */
  readonly matchers: readonly SilenceMatcher[];
  /** When it ends unless expired sooner. */
  readonly endsAt: string;
  /** True when an active silence of ours for this incident existed and was returned instead. */
  readonly reused: boolean;
}

/** One matcher of a silence (`postableSilence.matchers[]`). */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

/** Silences around a remediation: mute the incident's alert while the fix rolls out, then unmute. */
export interface AlertmanagerSilences {
  /**
   * Silence the incident's alert. Idempotent: an active or pending silence we made for the
   * same incident and matchers is returned (`reused`) instead of adding a second one.
   */
  create(options: {
    readonly incident: Incident;
    readonly signal: AbortSignal;
    /** Overrides the configured duration for this silence. */
    readonly duration?: Duration;
    /** Added to the comment after the incident id. */
    readonly comment?: string;
  }): Promise<SilenceRef>;
  /**
   * End a silence now. `expired` is true when the silence is expired after the call (also when it
   * already was), false when Alertmanager does not know it (404); neither is an error.
   */
  expire(options: {
    readonly silenceId: string;
    readonly signal: AbortSignal;
  }): Promise<{ readonly expired: boolean }>;
}

const PostSilenceResponse = z.object({ silenceID: z.string().min(1) });
const GettableSilences = z.array(
  z.object({
    id: z.string(),
    status: z.object({ state: z.string() }),
    createdBy: z.string(),
    comment: z.string(),
    endsAt: z.string(),
    matchers: z.array(
      z.object({
        name: z.string(),
        value: z.string(),
        isRegex: z.boolean(),
        isEqual: z.boolean().optional(),
      }),
    ),
  }),
);

/**
 * Create and expire Alertmanager silences (`/api/v2/silences`) for an incident's alert. To do it
 * around every remediation, give the controller `alertmanagerSilenceHook(settings)`.
 *
 * @example
 * const silences = alertmanagerSilences({ url: "http://alertmanager:9093" });
 * const { silenceId } = await silences.create({ incident, signal });
 */
export function alertmanagerSilences(settings: AlertmanagerSilencesSettings): AlertmanagerSilences {
  const client = createHttpClient("alertmanager", settings);
  const createdBy = settings.createdBy ?? "selfheal";
  const defaultDurationMs = toMs(settings.duration ?? "1h", "duration");
  const timeoutMs = settings.timeoutMs ?? 5000;

  const matchersOf = (incident: Incident): SilenceMatcher[] => {
    const names = settings.matchLabels ?? Object.keys(incident.labels).sort();
    const matchers: SilenceMatcher[] = [];
    for (const name of names) {
      const value = incident.labels[name];
      if (value === undefined || value === "") continue;
      // The controller redacted a credential in this label before storing it: a matcher on the
      // redacted text would never match the alert, and leaving the label out would silence more
      // than this alert. No silence, said in the hook's record.
      if (value.includes("[REDACTED")) {
        throw new BadInputError(
          `alertmanager: incident ${incident.id} label ${name} held a credential (redacted): not silencing by a value that is not the alert's; set matchLabels to labels without secrets`,
          { adapter: "alertmanager", operation: "createSilence", incidentId: incident.id },
        );
      }
      matchers.push({ name, value, isRegex: false, isEqual: true });
    }
    if (matchers.length === 0) {
      throw new BadInputError(`alertmanager: incident ${incident.id} has none of the labels to silence by`, {
        adapter: "alertmanager",
        operation: "createSilence",
        incidentId: incident.id,
      });
    }
    return matchers;
  };

  const findOurs = async (incident: Incident, matchers: readonly SilenceMatcher[], signal: AbortSignal) => {
    const query = new URLSearchParams();
    for (const matcher of matchers)
      query.append("filter", `${matcher.name}=${JSON.stringify(matcher.value)}`);
    const call = {
      operation: "getSilences",
      method: "GET",
      path: "/api/v2/silences",
      query,
      signal,
      timeoutMs,
    } as const;
    const answer = await client.send(call);
    if (answer.status !== 200) throw client.statusError(call, answer, bodyPreview(answer.body));
    const parsed = GettableSilences.safeParse(parseJson(answer.body));
    if (!parsed.success) throw client.unexpectedBody(call, answer, parsed.error);
    const marker = commentPrefix(incident);
    return parsed.data.find(
      (silence) =>
        silence.status.state !== "expired" &&
        silence.createdBy === createdBy &&
        silence.comment.startsWith(marker) &&
        sameMatchers(silence.matchers, matchers),
    );
  };

  return {
    async create({ incident, signal, duration, comment }) {
      const matchers = matchersOf(incident);
      const existing = await findOurs(incident, matchers, signal);
      if (existing !== undefined) {
        return { silenceId: existing.id, matchers, endsAt: existing.endsAt, reused: true };
      }
      const now = Date.now();
      const endsAt = new Date(
        now + (duration === undefined ? defaultDurationMs : toMs(duration, "duration")),
      ).toISOString();
      const body = {
        matchers,
        startsAt: new Date(now).toISOString(),
        endsAt,
        createdBy,
        comment: comment === undefined ? commentPrefix(incident) : `${commentPrefix(incident)}: ${comment}`,
      };
      const call = {
        operation: "createSilence",
        method: "POST",
        path: "/api/v2/silences",
        json: body,
        signal,
        timeoutMs,
      } as const;
      const answer = await client.send(call);
      if (answer.status !== 200) throw client.statusError(call, answer, bodyPreview(answer.body));
      const parsed = PostSilenceResponse.safeParse(parseJson(answer.body));
      if (!parsed.success) throw client.unexpectedBody(call, answer, parsed.error);
      return { silenceId: parsed.data.silenceID, matchers, endsAt, reused: false };
    },
    async expire({ silenceId, signal }) {
      const call = {
        operation: "expireSilence",
        method: "DELETE",
        path: `/api/v2/silence/${encodeURIComponent(silenceId)}`,
        signal,
        timeoutMs,
      } as const;
      const answer = await client.send(call);
      if (answer.status === 200) return { expired: true };
      // Gone already (expired and garbage-collected, or never there): nothing left to end. The
      // spec says 404; Alertmanager 0.25 answers 500 "silence not found".
      if (answer.status === 404 || (answer.status === 500 && /silence not found/i.test(answer.body))) {
        return { expired: false };
      }
      // Some Alertmanager releases answer 500 "silence ... already expired" instead of 200.
      if (answer.status === 500 && /already expired/i.test(answer.body)) return { expired: true };
      throw client.statusError(call, answer, bodyPreview(answer.body));
    },
  };
}

/** How our comments start; also how `create` recognises a silence it made before a restart. */
function commentPrefix(incident: Incident): string {
  return `selfheal incident ${incident.id}`;
}

function sameMatchers(
  found: readonly { name: string; value: string; isRegex: boolean; isEqual?: boolean | undefined }[],
  wanted: readonly SilenceMatcher[],
): boolean {
  if (found.length !== wanted.length) return false;
  return wanted.every((matcher) =>
    found.some(
      (other) =>
        other.name === matcher.name &&
        other.value === matcher.value &&
        other.isRegex === matcher.isRegex &&
        (other.isEqual ?? true) === matcher.isEqual,
    ),
  );
}
