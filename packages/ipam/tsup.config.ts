import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.base.ts";

const lib = packageBuild(["src/index.ts"]);

export default defineConfig([
  { ...lib, clean: false },
  // knet-host-local: one self-contained CommonJS file (a CNI plugin is copied alone into
  // /opt/cni/bin, and starts faster without the ES module loader), so the @knet packages
  // are bundled from their sources.
  {
    ...lib,
    entry: { "host-local": "src/host-local-main.ts" },
    format: ["cjs"],
    dts: false,
    clean: false,
    noExternal: [/^@knet\//],
    esbuildOptions(options) {
      options.conditions = ["@knet/source", ...(options.conditions ?? [])];
    },
  },
]);
