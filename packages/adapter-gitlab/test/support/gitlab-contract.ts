import { readFileSync } from "node:fs";

// shared/ sits beside the repository clone (here /work/shared beside /work/main).
const contractUrl = new URL("../../../../../shared/contracts/gitlab-api.md", import.meta.url);

/** `shared/contracts/gitlab-api.md`, read once per test file. */
export function loadGitLabContract(): GitLabContract {
  return gitLabContract(readFileSync(contractUrl, "utf8"));
}

/** Questions the stand-in asks the contract, so its route table is checked against it. */
export interface GitLabContract {
  /** The text of the `## ` section whose heading starts with `heading`; throws when absent. */
  section(heading: string): string;
  /** Whether the section documents attribute `name` (written `` `name` `` or `` `name[]` ``). */
  documents(heading: string, name: string): boolean;
  /**
   * The names in backticks in the sentence of `heading` that starts at `marker`
   * (`"MergeRequest fields an adapter reads"`), nested parts (`diff_refs{...}`) cut off.
   */
  fieldsAfter(heading: string, marker: string): readonly string[];
  /**
   * The attributes the section marks required: a `required: [a, b]` list, table rows whose
   * third column is `yes`, and `` `name` is **required** ``. The path's `id` is left out.
   */
  requiredAttributes(heading: string): readonly string[];
  /** The values of an enum written `` `name` (`a|b|c` `` in the section. */
  enumValues(heading: string, name: string): readonly string[];
}

function gitLabContract(text: string): GitLabContract {
  const sections = new Map<string, string>();
  for (const part of text.split(/^## /m).slice(1)) {
    const newline = part.indexOf("\n");
    // The heading stays in the text: it carries the method and path.
    sections.set(part.slice(0, newline).trim(), part);
  }
  const section = (heading: string): string => {
    for (const [title, body] of sections) if (title.startsWith(heading)) return body;
    throw new Error(`gitlab-api.md has no section starting "## ${heading}"`);
  };
  return {
    section,
    documents: (heading, name) =>
      new RegExp(`\`${escapeRegExp(name)}(\\[\\])?\``).test(section(heading)) ||
      (/required: \[([^\]]+)\]/.exec(section(heading))?.[1] ?? "").split(/,\s*/).includes(name),
    fieldsAfter(heading, marker) {
      const body = section(heading);
      const start = body.indexOf(marker);
      if (start < 0) throw new Error(`gitlab-api.md ## ${heading}: no "${marker}"`);
      // The paragraph ends at a blank line or at a sentence that ends a line.
      const ends = [body.indexOf("\n\n", start), body.indexOf(".\n", start)].filter((index) => index >= 0);
      const end = ends.length === 0 ? -1 : Math.min(...ends);
      const paragraph = body.slice(start + marker.length, end < 0 ? undefined : end);
      // Values in parentheses (`state` (`opened|closed`)) are not fields.
      return [...paragraph.matchAll(/(?<!\()`([a-z][a-z0-9_]*)[^`]*`/g)].map((match) => match[1] ?? "");
    },
    requiredAttributes(heading) {
      const body = section(heading);
      const names = new Set<string>();
      const list = /required: \[([^\]]+)\]/.exec(body);
      for (const name of list?.[1]?.split(",") ?? []) names.add(name.trim());
      for (const row of body.matchAll(/^\| `([a-z_]+)(?:\[\])?` \|[^|]*\| yes \|/gm)) names.add(row[1] ?? "");
      for (const prose of body.matchAll(/`([a-z_]+)` is \*\*required\*\*/g)) names.add(prose[1] ?? "");
      names.delete("id");
      return [...names];
    },
    enumValues(heading, name) {
      const match = new RegExp(`\`${escapeRegExp(name)}\`[^\`]*\\(\`([a-z_|]+)\``).exec(section(heading));
      if (match?.[1] === undefined) throw new Error(`gitlab-api.md ## ${heading}: no values for ${name}`);
      return match[1].split("|");
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
