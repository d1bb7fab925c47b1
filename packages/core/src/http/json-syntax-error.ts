/** Where a JSON text stops being valid, for a 400 that tells the sender where to look. */
export interface JsonSyntaxProblem {
  /** Offset of the offending character in the text (UTF-16 code units, as `JSON.parse` counts). */
  readonly position: number;
  /** 1-based line of `position`. */
  readonly line: number;
  /** 1-based column of `position`. */
  readonly column: number;
  /** What was found and what was expected there, e.g. `unexpected "}", expected a value`. */
  readonly description: string;
}

const OBJECT = 1;
const ARRAY = 2;

/** What the scanner expects next. */
const Expect = {
  /** Any value. */
  Value: 0,
  /** A value or `]` (right after `[`). */
  ArrayValueOrEnd: 1,
  /** A property name or `}` (right after `{`). */
  KeyOrEnd: 2,
  /** A property name (after `,` in an object). */
  Key: 3,
  /** `:` after a property name. */
  Colon: 4,
  /** `,`, the closing bracket of the enclosing container, or the end of the text. */
  AfterValue: 5,
} as const;
type Expect = (typeof Expect)[keyof typeof Expect];

// Compiled once: the number grammar of RFC 8259, anchored at lastIndex.
const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const hexDigits = /^[0-9a-fA-F]{4}$/;
const escapable = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

/**
 * Find the first syntax error of a JSON text. Only called after `JSON.parse` has failed: V8's
 * messages do not always carry a position (`Unexpected token '}', "{"a":}" is not valid JSON`),
 * and they echo a slice of the body. Iterative, so deeply nested input cannot overflow the stack.
 * Returns `undefined` when the text is valid.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const stack: number[] = [];
  let expect: Expect = Expect.Value;
  let i = 0;
  const length = text.length;
  const fail = (position: number, expected: string): JsonSyntaxProblem =>
    problem(
      text,
      position,
      `${position >= length ? "unexpected end of input" : `unexpected ${describeAt(text, position)}`}, expected ${expected}`,
    );

  for (;;) {
    while (i < length) {
      const code = text.charCodeAt(i);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      i++;
    }
    if (i >= length) {
      if (expect === Expect.AfterValue && stack.length === 0) return undefined;
      return fail(i, expectation(expect, stack));
    }
    const char = text[i];
    let arrayStart = false;
    if (expect === Expect.ArrayValueOrEnd) {
      if (char === "]") {
        stack.pop();
        i++;
        expect = Expect.AfterValue;
        continue;
      }
      arrayStart = true;
      expect = Expect.Value;
    }
    switch (expect) {
      case Expect.Colon:
        if (char !== ":") return fail(i, "':' after the property name");
        i++;
        expect = Expect.Value;
        continue;
      case Expect.Key:
      case Expect.KeyOrEnd:
        if (char === "}" && expect === Expect.KeyOrEnd) {
          stack.pop();
          i++;
          expect = Expect.AfterValue;
          continue;
        }
        if (char !== '"') return fail(i, expectation(expect, stack));
        {
          const end = scanString(text, i);
          if (typeof end !== "number") return end;
          i = end;
        }
        expect = Expect.Colon;
        continue;
      case Expect.AfterValue: {
        const top = stack[stack.length - 1];
        if (top === undefined) return fail(i, "nothing after the JSON value");
        if (char === ",") {
          i++;
          expect = top === OBJECT ? Expect.Key : Expect.Value;
          continue;
        }
        if ((top === OBJECT && char === "}") || (top === ARRAY && char === "]")) {
          stack.pop();
          i++;
          continue;
        }
        return fail(i, expectation(expect, stack));
      }
      case Expect.Value: {
        if (char === "{") {
          stack.push(OBJECT);
          i++;
          expect = Expect.KeyOrEnd;
          continue;
        }
        if (char === "[") {
          stack.push(ARRAY);
          i++;
          expect = Expect.ArrayValueOrEnd;
          continue;
        }
        if (char === '"') {
          const end = scanString(text, i);
          if (typeof end !== "number") return end;
          i = end;
        } else if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) {
          numberPattern.lastIndex = i;
          if (!numberPattern.test(text)) return fail(i + 1, "a digit");
          i = numberPattern.lastIndex;
        } else if (text.startsWith("true", i)) i += 4;
        else if (text.startsWith("false", i)) i += 5;
        else if (text.startsWith("null", i)) i += 4;
        else return fail(i, arrayStart ? "a value or ']'" : "a value");
        expect = Expect.AfterValue;
        continue;
      }
    }
  }
}

/** Index just past the closing quote of the string starting at `start`, or the problem in it. */
function scanString(text: string, start: number): number | JsonSyntaxProblem {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20)
      return problem(text, i, `unescaped control character ${describeAt(text, i)} in a string`);
    if (code === 0x5c) {
      const next = text[i + 1];
      if (next === "u") {
        if (!hexDigits.test(text.slice(i + 2, i + 6))) {
          return problem(text, i, "bad \\u escape in a string: expected four hex digits");
        }
        i += 6;
        continue;
      }
      if (next === undefined || !escapable.has(next)) {
        return problem(text, i, `bad escape "\\${next ?? ""}" in a string`);
      }
      i += 2;
      continue;
    }
    i++;
  }
  return problem(text, start, "unterminated string (no closing quote)");
}

function expectation(expect: Expect, stack: readonly number[]): string {
  switch (expect) {
    case Expect.Value:
      return "a value";
    case Expect.ArrayValueOrEnd:
      return "a value or ']'";
    case Expect.KeyOrEnd:
      return "a property name in double quotes or '}'";
    case Expect.Key:
      return "a property name in double quotes";
    case Expect.Colon:
      return "':' after the property name";
    case Expect.AfterValue:
      return stack[stack.length - 1] === OBJECT ? "',' or '}'" : "',' or ']'";
  }
}

function describeAt(text: string, position: number): string {
  const codePoint = text.codePointAt(position);
  return codePoint === undefined ? "end of input" : JSON.stringify(String.fromCodePoint(codePoint));
}

function problem(text: string, position: number, description: string): JsonSyntaxProblem {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < position; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { position, line, column: position - lineStart + 1, description };
}
