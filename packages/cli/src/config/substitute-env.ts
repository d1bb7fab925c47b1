import { type Document, isScalar, parse, Scalar, visit } from "yaml";

/** A `${VAR}` whose variable is not set, where it is. */
export interface MissingVariable {
  readonly name: string;
  /** Offset in the file of the scalar that names it. */
  readonly offset: number;
  /** Key path of that scalar. */
  readonly path: readonly (string | number)[];
}

const reference = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replace `${VAR}` in every string value of `document` by the variable's value (`$$` stands for
 * a literal `$`). Keys and comments are left alone.
 *
 * Done on parsed scalars rather than on the file's text: a secret holding `: `, `#`, quotes or
 * newlines (a PEM key) cannot break the YAML, and a `${VAR}` in a comment needs no variable.
 * A plain scalar that is exactly one `${VAR}` takes the type of the value (`port: ${PORT}` is
 * a number).
 */
export function substituteEnv(document: Document, env: NodeJS.ProcessEnv): MissingVariable[] {
  const missing: MissingVariable[] = [];
  visit(document, {
    Scalar(key, node, ancestors) {
      if (key === "key" || typeof node.value !== "string" || !node.value.includes("$")) return;
      const text = node.value;
      const path = keyPath(ancestors, node);
      let unresolved = false;
      const replaced = text.replace(reference, (match, name: string | undefined) => {
        if (name === undefined) return "$";
        const value = env[name];
        if (value === undefined) {
          unresolved = true;
          missing.push({ name, offset: node.range?.[0] ?? 0, path });
          return match;
        }
        return value;
      });
      if (unresolved || replaced === text) return;
      const whole = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text) && node.type === Scalar.PLAIN;
      node.value = whole ? typed(replaced) : replaced;
    },
  });
  return missing;
}

function typed(value: string): unknown {
  try {
    const parsed: unknown = parse(value);
    return typeof parsed === "number" || typeof parsed === "boolean" ? parsed : value;
  } catch {
    return value;
  }
}

function keyPath(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let index = 0; index < chain.length - 1; index++) {
    const parent = chain[index];
    const child = chain[index + 1];
    if (parent !== null && typeof parent === "object" && "key" in parent && "value" in parent) {
      if (parent.value !== child) continue;
      const key = parent.key;
      path.push(isScalar(key) ? String(key.value) : String(key));
    } else if (
      parent !== null &&
      typeof parent === "object" &&
      "items" in parent &&
      Array.isArray(parent.items)
    ) {
      const position = parent.items.indexOf(child);
      if (position >= 0 && !(child !== null && typeof child === "object" && "key" in child))
        path.push(position);
    }
  }
  return path;
}
