#!/usr/bin/env node
// `pnpm bench`: run every benchmark file (benchmarks/*.bench.mjs, then
// packages/*/bench/*.bench.mjs) against the built packages, one at a time, with
// progress; then draw the plots and the summary table (plot.mjs).
// Usage: node benchmarks/run.mjs [FILTER]   (FILTER: substring of the file path)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const filter = process.argv[2] ?? "";

const files = [];
for (const f of readdirSync(here)) if (f.endsWith(".bench.mjs")) files.push(join(here, f));
for (const pkg of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", pkg, "bench");
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) if (f.endsWith(".bench.mjs")) files.push(join(dir, f));
}
const selected = files.filter((f) => relative(root, f).includes(filter));
const failed = [];
selected.forEach((file, i) => {
  const name = relative(root, file);
  const t0 = Date.now();
  console.log(`\n[${i + 1}/${selected.length}] ${name}`);
  // Large generated clusters (100k services) need more than Node's default heap.
  const r = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=12288", file], {
    cwd: root,
    stdio: "inherit",
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(name);
  console.log(
    `[${i + 1}/${selected.length}] ${name}: ${r.status === 0 ? "done" : `FAILED (exit ${r.status})`} in ${secs}s`,
  );
});
const plot = spawnSync(process.execPath, [join(here, "plot.mjs")], { cwd: root, stdio: "inherit" });
if (failed.length > 0) console.error(`\nfailed: ${failed.join(", ")}`);
process.exit(failed.length > 0 || plot.status !== 0 ? 1 : 0);
