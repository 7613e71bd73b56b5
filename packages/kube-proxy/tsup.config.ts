import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.base.ts";

// The contract suite (`@knet/kube-proxy/contract`) runs under the caller's vitest: never bundled.
export default defineConfig({ ...packageBuild(["src/index.ts", "src/contract/index.ts"]), external: ["vitest"] });
