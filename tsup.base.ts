import type { Options } from "tsup";

/**
 * The one build recipe every @knet package uses: ESM only, declarations, Node 20.
 * `ignoreDeprecations`/`composite` work around tsup 8.5 injecting `baseUrl` into its
 * d.ts program, which TypeScript 6 rejects (see ../shared/reference/ts-toolchain.md).
 */
export function packageBuild(entry: string[]): Options {
  return {
    entry,
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: { compilerOptions: { ignoreDeprecations: "6.0", composite: false } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
  };
}
