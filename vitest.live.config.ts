import { defineConfig } from "vitest/config";

/**
 * Live tests (`*.live.test.ts`): knet against a real kube-apiserver + etcd (and
 * kube-controller-manager) on 127.0.0.1, built by scripts/k8s-apiserver-build.sh and
 * started by @knet/testkit's startApiServer. Files run one at a time: each starts its
 * own server, and the machine has two cores.
 */
export default defineConfig({
  ssr: { resolve: { conditions: ["@knet/source", "module", "node", "development|production"] } },
  resolve: { conditions: ["@knet/source"] },
  test: {
    include: ["packages/*/test/**/*.live.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
