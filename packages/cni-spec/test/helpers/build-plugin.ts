import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Bundle a TypeScript fixture plugin (importing `@knet/cni-spec` from source)
 * into one executable file `<dir>/<name>` with a node shebang.
 */
export async function buildPlugin(fixture: string, name: string, dir?: string): Promise<string> {
  const outDir = dir ?? (await mkdtemp(join(tmpdir(), "knet-cni-plugin-")));
  const outfile = join(outDir, name);
  await build({
    entryPoints: [fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@knet/source"],
    outfile,
    banner: { js: `#!${process.execPath}` },
    logLevel: "silent",
  });
  await chmod(outfile, 0o755);
  return outfile;
}
