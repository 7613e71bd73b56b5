import { defineConfig } from "vitest/config";

/** Unit and property tests: every package's test/**\/*.test.ts except kernel tests. */
export default defineConfig({
  ssr: { resolve: { conditions: ["@knet/source", "module", "node", "development|production"] } },
  resolve: { conditions: ["@knet/source"] },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", "**/*.kernel.test.ts", "**/*.live.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
