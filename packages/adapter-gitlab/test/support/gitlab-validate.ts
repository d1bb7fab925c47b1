import type { GitLabContract } from "./gitlab-contract.js";
import type { ParamType, Route } from "./gitlab-routes.js";

/** Attributes of one `actions[]` item (contract, "Create commit with several file actions"). */
export const actionItemKeys = [
  "action",
  "file_path",
  "content",
  "encoding",
  "previous_path",
  "last_commit_id",
  "execute_filemode",
] as const;

/** A request the contract does not allow, answered as GitLab would and failing the test. */
export interface Refusal {
  readonly status: number;
  readonly body: unknown;
  readonly problem: string;
}

/** The checks of one request's query and body against its route; `undefined` when it passes. */
export function checkRequest(
  contract: GitLabContract,
  route: Route,
  query: URLSearchParams,
  contentType: string | undefined,
  rawBody: string,
): { readonly refusal?: Refusal; readonly body: Record<string, unknown> } {
  const refuse = (problem: string, body: unknown = { error: problem }) => ({
    refusal: { status: 400, body, problem: `${route.id}: ${problem}` },
    body: {},
  });
  const present = new Set<string>();
  for (const [name, value] of query) {
    const type = route.query[name];
    if (type === undefined) return refuse(`query parameter ${name} is not documented for this route`);
    const problem =
      type === "boolean"
        ? /^(true|false)$/.test(value)
          ? undefined
          : "is not a boolean"
        : type === "integer"
          ? /^\d+$/.test(value)
            ? undefined
            : "is not an integer"
          : typeProblem(contract, type, value);
    if (problem !== undefined) return refuse(`${name} ${problem}`, { error: `${name} is invalid` });
    if (route.enumerated?.includes(name) === true && "section" in route.source) {
      const allowed = contract.enumValues(route.source.section, name);
      if (!allowed.includes(value)) {
        return refuse(`${name}=${value} is not one of ${allowed.join("|")}`, {
          error: `${name} does not have a valid value`,
        });
      }
    }
    present.add(name);
  }
  let body: Record<string, unknown> = {};
  if (route.body === undefined) {
    if (rawBody !== "") return refuse("this route takes no body");
  } else {
    if (!(contentType ?? "").startsWith("application/json"))
      return refuse(`content-type ${contentType} is not JSON`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      return refuse("body is not JSON");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return refuse("body is not an object");
    body = parsed as Record<string, unknown>;
    for (const [name, value] of Object.entries(body)) {
      const type = route.body[name];
      if (type === undefined) return refuse(`attribute ${name} is not documented for this route`);
      const problem = typeProblem(contract, type, value);
      if (problem !== undefined) return refuse(`${name} ${problem}`, { error: `${name} is invalid` });
      present.add(name);
    }
    if (route.atLeastOne === true && Object.keys(body).length === 0) {
      return refuse("no attribute given", { error: "at least one parameter must be provided" });
    }
  }
  for (const name of route.required) {
    // GitLab's own words for a missing attribute (contract, "Common rules").
    if (!present.has(name))
      return refuse(`${name} not given`, { message: `400 (Bad request) "${name}" not given` });
  }
  return { body };
}

function typeProblem(contract: GitLabContract, type: ParamType, value: unknown): string | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : "is not a string";
    case "boolean":
      return typeof value === "boolean" ? undefined : "is not a boolean";
    case "integer":
      return Number.isInteger(value) ? undefined : "is not an integer";
    case "sha":
      return typeof value === "string" && /^[0-9a-f]{40}$/.test(value) ? undefined : "is not a commit SHA";
    case "labels":
      // "comma-separated names; typed `array of string` in the spec" (contract, "Create MR").
      return typeof value === "string" ||
        (Array.isArray(value) && value.every((item) => typeof item === "string"))
        ? undefined
        : "is not a label list";
    case "actions":
      return actionsProblem(contract, value);
  }
}

function actionsProblem(contract: GitLabContract, value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return "is not a non-empty array";
  const heading = "Create commit with several file actions";
  const listed = /`action` \(required: ([^)]*)\)/.exec(contract.section(heading))?.[1] ?? "";
  const kinds = [...listed.matchAll(/`([a-z]+)`/g)].map((match) => match[1]);
  for (const item of value) {
    if (typeof item !== "object" || item === null) return "holds a non-object";
    const action = item as Record<string, unknown>;
    for (const key of Object.keys(action)) {
      if (!(actionItemKeys as readonly string[]).includes(key))
        return `item attribute ${key} is not documented`;
    }
    if (!kinds.includes(String(action.action)))
      return `action ${String(action.action)} is not one of ${kinds.join("|")}`;
    if (typeof action.file_path !== "string" || action.file_path === "") return "item has no file_path";
    const needsContent = !["delete", "chmod", "move"].includes(String(action.action));
    if (needsContent && typeof action.content !== "string") return "item has no content";
    if (action.last_commit_id !== undefined && !/^[0-9a-f]{40}$/.test(String(action.last_commit_id))) {
      return "item last_commit_id is not a SHA";
    }
  }
  return undefined;
}
