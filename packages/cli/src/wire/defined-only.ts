/** `value` without its `undefined` properties, typed so (for `exactOptionalPropertyTypes`). */
export type DefinedOnly<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * Settings objects of the adapters take optional properties that must be absent rather than
 * `undefined`; config sections give `undefined` for what the file leaves out.
 */
export function definedOnly<T extends object>(value: T): DefinedOnly<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as DefinedOnly<T>;
}
