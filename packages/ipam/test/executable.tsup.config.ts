import { defineConfig } from "tsup";
import configs from "../tsup.config.ts";

// Only the knet-host-local entry of the package build (no declarations): what the tests
// rebuild when the sources are newer than dist/host-local.cjs.
const all = configs as unknown as Record<string, unknown>[];
export default defineConfig(all.filter((c) => typeof c.entry === "object" && !Array.isArray(c.entry)));
