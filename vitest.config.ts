import { defineConfig } from "vitest/config";

// Tests run against the TypeScript sources: the `@selfheal/source` export condition
// points each workspace package at its `src/` so no build is needed between edits.
const conditions = ["@selfheal/source", "import", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  // Workers get `ssr.resolve.conditions` as Node `--conditions`: leaving "import" out keeps
  // Node's `require()` of CommonJS packages (pg requires pg-pool) from loading their ESM builds.
  ssr: { resolve: { conditions: ["@selfheal/source", "node", "default"], externalConditions: conditions } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/test/**/*.test.ts"],
    // Enough for a unit or stand-in test on a loaded 2-core machine. Tests that are long by
    // nature (real Prometheus and Alertmanager, child processes, the closed loop) set their own
    // timeout instead, so a hang elsewhere still fails fast.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
