import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.base.ts";

const lib = packageBuild(["src/index.ts"]);

export default defineConfig([
  { ...lib, clean: false },
  // knet-host-local: one self-contained file (a CNI plugin is copied alone into
  // /opt/cni/bin), so the @knet packages are bundled from their sources.
  {
    ...lib,
    entry: { "host-local": "src/host-local-main.ts" },
    dts: false,
    clean: false,
    noExternal: [/^@knet\//],
    esbuildOptions(options) {
      options.conditions = ["@knet/source", ...(options.conditions ?? [])];
    },
  },
]);
