import { defineConfig } from "tsup";

// Bundles the crash-test worker (and the ipam sources it imports) into one plain-node file.
export default defineConfig({
  entry: { "crash-worker": "test/crash-worker.ts" },
  outDir: "node_modules/.cache/knet-ipam-test",
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: false,
  clean: false,
  noExternal: [/^@knet\//],
  esbuildOptions(options) {
    options.conditions = ["@knet/source", ...(options.conditions ?? [])];
  },
});
