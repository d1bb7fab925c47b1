// The warm workspace alone, in a process of its own, so that its RSS is the workspace's and not
// the benchmark's (which also generates the repository): clone, then one rollback commit and push,
// as the remediator does. Prints one JSON line. Arguments: <url> <dir> <manifest path> <tag>.
import { openGitWorkspace, setContainerImage } from "@selfheal/gitops";

const [url, dir, target, tag] = process.argv.slice(2);
if (url === undefined || dir === undefined || target === undefined || tag === undefined) {
  throw new Error("usage: warm-rss.js <url> <dir> <manifest path> <tag>");
}
const workspace = openGitWorkspace({ url, dir });
let started = performance.now();
await workspace.refresh(AbortSignal.timeout(600_000));
const cloneMs = performance.now() - started;
started = performance.now();
const head = await workspace.refresh(AbortSignal.timeout(60_000));
const text = await workspace.readFile(head, target);
if (text === undefined) throw new Error(`${target} missing`);
const name = target.split("/")[2] as string;
const sha = await workspace.commit({
  parent: head,
  message: `Roll back ${name}\n`,
  files: [
    { path: target, content: setContainerImage(text, { image: `registry.example.com/${name}:${tag}` }).text },
  ],
});
if (sha === undefined) throw new Error("nothing to commit");
const status = await workspace.push(
  { ref: "refs/heads/main", oldSha: head, newSha: sha },
  AbortSignal.timeout(60_000),
);
if (!status.ok) throw new Error(`push refused: ${status.reason}`);
const roundMs = performance.now() - started;
console.log(
  JSON.stringify({
    clone_ms: Math.round(cloneMs),
    round_ms: Math.round(roundMs),
    rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
