import { defineConfig } from "vitest/config";

/**
 * Kernel tests (`*.kernel.test.ts`): need root; they build throw-away `knet-*`
 * network namespaces and load our artifacts into the real kernel. Files run one
 * at a time so they do not fight over the two cores.
 */
export default defineConfig({
  ssr: { resolve: { conditions: ["@knet/source", "module", "node", "development|production"] } },
  resolve: { conditions: ["@knet/source"] },
  test: {
    include: ["packages/*/test/**/*.kernel.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    fileParallelism: false,
    passWithNoTests: true,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
