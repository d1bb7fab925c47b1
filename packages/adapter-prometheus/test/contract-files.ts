import { existsSync } from "node:fs";

/**
 * A file of the official contracts (`shared/contracts/<name>`). shared/ sits beside the
 * repository clone (/work/shared beside /work/main), or further up for a clone one level deeper
 * (a worktree under /work/wt/): the nearest one up from here is taken.
 */
export function contractUrl(name: string): URL {
  const relative = `shared/contracts/${name}`;
  for (let up = "../../../../"; up.length <= 24; up += "../") {
    const candidate = new URL(`${up}${relative}`, import.meta.url);
    if (existsSync(candidate)) return candidate;
  }
  return new URL(`../../../../${relative}`, import.meta.url);
}
