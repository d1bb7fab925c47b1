import * as fs from "node:fs";
import git from "isomorphic-git";
import type { GitAuth } from "./git-workspace.js";

/**
 * The URL without its user and password, and the auth to use: `auth` when given, else the
 * credentials the URL carried. isomorphic-git writes the clone URL into `.git/config` as
 * `remote.origin.url`, and errors show it: neither may carry a credential.
 */
export function withoutCredentials(
  raw: string,
  auth: GitAuth | undefined,
): { readonly url: string; readonly auth: GitAuth | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { url: raw, auth };
  }
  if (parsed.username === "" && parsed.password === "") return { url: raw, auth };
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  return {
    url: parsed.toString().replace(/\/+$/, ""),
    auth: auth ?? (username === "" ? { password } : { username, password }),
  };
}

/**
 * A clone made before (by an older version, or by hand from a URL with credentials) may keep
 * them in its config: replace its origin URL by the clean one once, when the workspace opens.
 */
export async function cleanRemoteUrl(gitdir: string, url: string): Promise<void> {
  const current: unknown = await git.getConfig({ fs, gitdir, path: "remote.origin.url" });
  if (current !== url) await git.setConfig({ fs, gitdir, path: "remote.origin.url", value: url });
}
