#!/usr/bin/env node
// Runs every example (examples/*.mjs) against the built packages; CI calls this
// after `pnpm build`. Fails when an example exits non-zero or prints nothing.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const examples = readdirSync(here)
  .filter((f) => f.endsWith(".mjs") && f !== "run-all.mjs")
  .sort();
let failed = 0;
for (const f of examples) {
  const r = spawnSync(process.execPath, [join(here, f)], { encoding: "utf8", timeout: 60_000 });
  const ok = r.status === 0 && r.stdout.trim().length > 0;
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} examples/${f}${ok ? "" : `: exit ${r.status}\n${r.stderr}`}`);
}
console.log(`${examples.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
