/**
 * Light static checks of Rego source, for a machine without `opa`: not a parser, only what a
 * tokenizer can see (balanced brackets, OPA 1.x rule heads, known builtins, input fields read).
 * `opa test policies/` remains the real check.
 */

/** The source with comments removed and every string literal replaced by `""`. */
export function stripRego(source: string): { code: string; strings: string[] } {
  let code = "";
  const strings: string[] = [];
  for (let index = 0; index < source.length; index++) {
    const char = source[index] as string;
    if (char === "#") {
      while (index < source.length && source[index] !== "\n") index++;
      code += "\n";
    } else if (char === '"' || char === "`") {
      let end = index + 1;
      while (end < source.length && source[end] !== char) {
        if (char === '"' && source[end] === "\\") end++;
        if (char === '"' && source[end] === "\n") throw new Error(`unterminated string at offset ${index}`);
        end++;
      }
      if (end >= source.length) throw new Error(`unterminated string at offset ${index}`);
      strings.push(source.slice(index + 1, end));
      code += '""';
      index = end;
    } else {
      code += char;
    }
  }
  return { code, strings };
}

/** Problems found in brackets: unbalanced or wrongly nested `{[(`. */
export function bracketProblems(code: string): string[] {
  const pairs: Record<string, string> = { "}": "{", "]": "[", ")": "(" };
  const stack: { char: string; line: number }[] = [];
  const problems: string[] = [];
  code.split("\n").forEach((text, line) => {
    for (const char of text) {
      if (char === "{" || char === "[" || char === "(") stack.push({ char, line: line + 1 });
      else if (char in pairs) {
        const open = stack.pop();
        if (open?.char !== pairs[char])
          problems.push(`line ${line + 1}: ${char} does not close ${open?.char}`);
      }
    }
  });
  for (const open of stack) problems.push(`line ${open.line}: ${open.char} never closed`);
  return problems;
}

/** The statements at brace depth 0, one string each, with the line they start on. */
export function topLevelStatements(code: string): { text: string; line: number }[] {
  const statements: { text: string; line: number }[] = [];
  let depth = 0;
  let current: { text: string; line: number } | undefined;
  code.split("\n").forEach((text, line) => {
    if (depth === 0 && text.trim() !== "" && !/^\s/.test(text) && !text.startsWith("}")) {
      current = { text: "", line: line + 1 };
      statements.push(current);
    }
    if (current !== undefined) current.text += `${text}\n`;
    for (const char of text) {
      if (char === "{" || char === "[" || char === "(") depth++;
      if (char === "}" || char === "]" || char === ")") depth--;
    }
  });
  return statements;
}

/** Names called as functions (`sprintf(`, `object.get(`), with the functions the file defines. */
export function calledFunctions(code: string): { called: Set<string>; defined: Set<string> } {
  const called = new Set(
    [...code.matchAll(/(?<![\w.])([a-z_][\w]*(?:\.[a-z_][\w]*)*)\(/g)].map((m) => m[1] as string),
  );
  const defined = new Set(
    topLevelStatements(code)
      .map((statement) => /^([a-z_]\w*)\(/.exec(statement.text)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  return { called, defined };
}

/** Every `input.a.b` path read (dotted part only). */
export function inputPaths(code: string): string[][] {
  return [...code.matchAll(/\binput((?:\.[a-z_]\w*)+)/g)].map((m) => (m[1] as string).slice(1).split("."));
}

/**
 * OPA 1.x shape: `package <name>` first, no `future.keywords` / `rego.v1` imports (not needed),
 * and `if` before every rule body, `else` bodies included (OPA 1.x refuses `allow { ... }`).
 */
export function v1Problems(code: string, packageName: string): string[] {
  const statements = topLevelStatements(code);
  const problems: string[] = [];
  if (statements[0]?.text.trim() !== `package ${packageName}`)
    problems.push(`first statement is not package ${packageName}`);
  for (const { text, line } of statements.slice(1)) {
    if (/^import (future\.keywords|rego\.v1)/.test(text))
      problems.push(`line ${line}: needless import in OPA 1.x`);
    if (text.startsWith("import ") || text.startsWith("default ")) continue;
    const head = text.split("{")[0] ?? "";
    // `x := {` or `x := [a |` start a value, not a body.
    const opensBody = text.includes("{") && !/:=\s*\[?$/.test(head.trimEnd()) && !/:=\s*$/.test(head);
    if (opensBody && !/\bif\s*$/.test(head)) problems.push(`line ${line}: rule body without if`);
    for (const elseHead of text.matchAll(/\}\s*else\b([^{]*)\{/g)) {
      if (!/\bif\s*$/.test(elseHead[1] ?? "")) problems.push(`line ${line}: else body without if`);
    }
  }
  return problems;
}

/** Functions called that are neither in `builtins` nor defined in the file. */
export function unknownCalls(code: string, builtins: ReadonlySet<string>): string[] {
  const { called, defined } = calledFunctions(code);
  return [...called].filter((name) => !builtins.has(name) && !defined.has(name));
}

const keywords = new Set([
  "package",
  "import",
  "default",
  "if",
  "else",
  "some",
  "in",
  "not",
  "contains",
  "every",
  "with",
  "as",
  "true",
  "false",
  "null",
  "input",
  "data",
]);

/**
 * Names used but never defined: not a keyword, a rule or function of the file, a local (`x :=`,
 * `some x in`, `[x |`), a function parameter, an import, or a builtin namespace. Catches a
 * misspelt rule name, the most likely slip in a policy nobody could run.
 */
export function undefinedNames(code: string, builtins: ReadonlySet<string>): string[] {
  const statements = topLevelStatements(code);
  const known = new Set(keywords);
  for (const builtin of builtins) known.add(builtin.split(".")[0] as string);
  for (const { text } of statements) {
    const head = /^(?:default\s+)?([a-z_]\w*)/.exec(text)?.[1];
    if (head !== undefined) known.add(head);
    const imported = /^import\s+data\.([\w.]+)/.exec(text)?.[1];
    if (imported !== undefined) known.add(imported.split(".").at(-1) as string);
    const params = /^[a-z_]\w*\(([^)]*)\)\s*:=/.exec(text)?.[1];
    for (const param of params?.split(",") ?? []) known.add(param.trim());
  }
  for (const match of code.matchAll(/\b([a-z_]\w*)\s*:=/g)) known.add(match[1] as string);
  for (const match of code.matchAll(/\bsome\s+([a-z_]\w*)/g)) known.add(match[1] as string);
  for (const match of code.matchAll(/\[\s*([a-z_]\w*)\s*\|/g)) known.add(match[1] as string);
  const unknown = new Set<string>();
  // Names that start a reference: not after a dot (a field), not a package name on its line.
  for (const line of code.split("\n")) {
    if (/^(package|import)\s/.test(line)) continue;
    for (const match of line.matchAll(/(?<![\w.])([a-z_]\w*)/g)) {
      const name = match[1] as string;
      if (!known.has(name)) unknown.add(name);
    }
  }
  return [...unknown];
}
