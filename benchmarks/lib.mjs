// Shared harness for knet benchmarks. A bench file (packages/<pkg>/bench/*.bench.mjs)
// registers mitata cases and calls runBench(name): the cases run, a table is printed,
// and benchmarks/results/<name>.json gets one row per case:
//   { group, name, args, p50_ns, avg_ns, min_ns, p99_ns, ops_per_s }
// Results that are not mitata timings (qps from dnsperf, kernel timings) go through
// writeResults(name, rows, notes) with free-form rows.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "mitata";

export { bench, boxplot, do_not_optimize, group, lineplot, summary } from "mitata";

/** Directory the JSON files go to. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");

/** Write benchmarks/results/<name>.json with machine facts beside the rows. */
export function writeResults(name, rows, notes = {}) {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const doc = { benchmark: name, date: new Date().toISOString(), node: process.version, notes, rows };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** Run the registered mitata cases, print them, and write the JSON rows. */
export async function runBench(name, notes = {}) {
  const out = await run({ format: { json: { samples: false, debug: false } }, print: () => {}, throw: true });
  const rows = [];
  for (const b of out.benchmarks) {
    for (const r of b.runs) {
      if (!r.stats) continue;
      rows.push({
        group: b.group === null || b.group === undefined ? "" : (out.layout?.[b.group]?.name ?? String(b.group)),
        name: r.name,
        args: r.args ?? {},
        p50_ns: r.stats.p50,
        avg_ns: r.stats.avg,
        min_ns: r.stats.min,
        p99_ns: r.stats.p99,
        ops_per_s: 1e9 / r.stats.p50,
      });
    }
  }
  const w = Math.max(10, ...rows.map((r) => `${r.group} ${r.name}`.length));
  console.log(`\n# ${name}`);
  for (const r of rows) {
    console.log(
      `${`${r.group} ${r.name}`.padEnd(w)}  p50 ${fmt(r.p50_ns).padStart(10)}  (${(r.ops_per_s / 1e6).toFixed(2)} M/s)`,
    );
  }
  const file = writeResults(name, rows, notes);
  console.log(`-> ${file}`);
  return rows;
}

function fmt(ns) {
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** ns per call of `fn`: median and best of `batches` batches sized to take about `ms` each. */
export function timePerCall(fn, batches = 21, ms = 20) {
  let per = 1;
  for (const t0 = performance.now(); performance.now() - t0 < ms; per *= 2) for (let i = 0; i < per; i++) fn(i);
  // Warm up past the JIT's tiers before timing: at least 300 ms of calls.
  for (const t0 = performance.now(); performance.now() - t0 < 300; ) for (let i = 0; i < per; i++) fn(i);
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < per; i++) fn(i);
    samples.push(((performance.now() - t0) * 1e6) / per);
  }
  samples.sort((a, c) => a - c);
  return { p50: samples[batches >> 1], min: samples[0] };
}

/** The middle value of `xs` (the upper middle for an even count). */
export const median = (xs) => [...xs].sort((a, c) => a - c)[xs.length >> 1];
