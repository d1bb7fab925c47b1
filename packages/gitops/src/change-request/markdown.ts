import { redact } from "@selfheal/core";

/**
 * Markdown helpers for text we do not control (alert labels, annotations, policy reasons).
 * Every helper redacts first and escapes second: escaping first would split a token such as
 * `ghp_…` (its `_` escaped) so that `redact` no longer recognises it.
 */

/** Characters with inline meaning in GitHub and GitLab markdown (`|` splits table cells). */
const inlineSpecials = /[\\`*_[\]<>|~#&!]/g;

/** Line starts that would open a list, a heading underline or a thematic break. */
const blockStart = /^(\s*)([-+=]|\d+[.)](?=\s|$))/;

/** One line of plain text, safe anywhere inline, in a table cell or a list item. */
export function inlineText(text: string): string {
  const oneLine = redact(text).replace(/\s+/g, " ").trim();
  return oneLine
    .replace(inlineSpecials, "\\$&")
    .replace(
      blockStart,
      (_match, space: string, marker: string) => `${space}${marker.replace(/[-+=.)]$/, "\\$&")}`,
    );
}

/**
 * Text that may span lines, as a blockquote: each line escaped like {@link inlineText}, so a
 * line cannot start a heading, a list or a fence.
 */
export function quotedText(text: string): string {
  return redact(text)
    .split(/\r?\n/)
    .map((line) => (line.trim() === "" ? ">" : `> ${inlineText(line)}`))
    .join("\n");
}

/**
 * A code span that holds `text` verbatim: its delimiter is one backtick longer than the
 * longest run inside (CommonMark), and `|` is escaped so it stays in its table cell (GFM
 * unescapes `\|` before it parses the span).
 */
export function codeSpan(text: string): string {
  const oneLine = redact(text).replace(/\s+/g, " ").trim();
  if (oneLine === "") return "` `";
  const longest = Math.max(0, ...Array.from(oneLine.matchAll(/`+/g), (match) => match[0].length));
  const fence = "`".repeat(longest + 1);
  const padded = oneLine.startsWith("`") || oneLine.endsWith("`") ? ` ${oneLine} ` : oneLine;
  return `${fence}${padded.replace(/\|/g, "\\|")}${fence}`;
}

/**
 * A fenced code block that `text` cannot close: the fence is longer than any backtick run in
 * the text (a shorter or equal run inside is then plain content, per CommonMark).
 */
export function fencedBlock(text: string, language: string): string {
  const body = redact(text).replace(/\r\n/g, "\n").replace(/\n$/, "");
  const longest = Math.max(0, ...Array.from(body.matchAll(/`+/g), (match) => match[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${body}\n${fence}`;
}
