import { BadInputError } from "@selfheal/core";

/**
 * Read-only view of a configuration repository at one revision. The git workspace implements
 * it over a commit's tree; {@link memoryTree} serves tests and dry runs.
 */
export interface ConfigTree {
  /** Every file path in the tree: posix separators, relative to the root, no leading `./`. */
  list(): Promise<readonly string[]>;
  /** The UTF-8 text of the file at `path`. Rejects when there is no such file. */
  read(path: string): Promise<string>;
}

/** A {@link ConfigTree} over an object of path → text; the object is copied, later changes to it are not seen. */
export function memoryTree(files: Readonly<Record<string, string>>): ConfigTree {
  const contents = new Map(Object.entries(files));
  return {
    list: async () => [...contents.keys()].sort(),
    read: async (path) => {
      const text = contents.get(path);
      if (text === undefined)
        throw new BadInputError(`no file "${path}" in the tree`, { adapter: "gitops", path });
      return text;
    },
  };
}
