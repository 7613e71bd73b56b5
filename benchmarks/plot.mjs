#!/usr/bin/env node
// Draws benchmarks/results/*.json as PNG plots (SVG rendered by resvg) and writes
// the summary table between the markers in benchmarks/README.md.
// Rows with a numeric `args.n` form scaling series (log-log line chart, one line
// per case); other rows become horizontal bars on a log axis, grouped.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Resvg } from "@resvg/resvg-js";

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, "results");
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function fmtNs(ns) {
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

function logScale(min, max, from, to) {
  const lo = Math.log10(min);
  const hi = Math.log10(max) === lo ? lo + 1 : Math.log10(max);
  return (v) => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from);
}

function decades(min, max) {
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function barChart(title, rows) {
  const rowH = 22;
  const left = 430;
  const width = 1000;
  const groups = [...new Set(rows.map((r) => r.group))];
  const height = 60 + rows.length * rowH + groups.length * 24 + 40;
  const min = Math.min(...rows.map((r) => r.p50_ns)) / 2;
  const max = Math.max(...rows.map((r) => r.p50_ns)) * 2;
  const x = logScale(min, max, left, width - 110);
  let y = 50;
  let svg = `<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)} (p50 per operation, log scale)</text>`;
  for (const t of decades(min, max)) {
    if (t < min || t > max) continue;
    svg += `<line x1="${x(t)}" y1="40" x2="${x(t)}" y2="${height - 30}" stroke="#ddd"/><text x="${x(t)}" y="${height - 14}" font-size="10" text-anchor="middle">${fmtNs(t)}</text>`;
  }
  groups.forEach((g, gi) => {
    svg += `<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${esc(g || "(ungrouped)")}</text>`;
    y += 24;
    for (const r of rows.filter((q) => q.group === g)) {
      svg += `<text x="${left - 6}" y="${y + 14}" font-size="11" text-anchor="end">${esc(r.name.slice(0, 64))}</text>`;
      svg += `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(r.p50_ns) - left)}" height="${rowH - 6}" fill="${COLORS[gi % COLORS.length]}"/>`;
      svg += `<text x="${x(r.p50_ns) + 4}" y="${y + 14}" font-size="10">${fmtNs(r.p50_ns)}</text>`;
      y += rowH;
    }
  });
  return { svg, width, height };
}

function lineChart(title, rows, figure = "p50") {
  const width = 1000;
  const height = 560;
  const [l, r, t, b] = [90, 300, 50, 60];
  const series = new Map();
  for (const row of rows) {
    const key = `${row.group ? `${row.group}: ` : ""}${row.name
      .replace(/\s*\S*=?\s*\d+$/, "")
      .replace(/\$n|\d+$/g, "")
      .trim()}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key).push([row.args.n, row.p50_ns]);
  }
  const ns = rows.map((q) => q.args.n);
  const ys = rows.map((q) => q.p50_ns);
  const x = logScale(Math.min(...ns), Math.max(...ns), l, width - r);
  const yMin = Math.min(...ys) / 2;
  const yMax = Math.max(...ys) * 2;
  const y = logScale(yMin, yMax, height - b, t);
  let svg = `<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)} (${esc(figure)} vs n, log-log)</text>`;
  for (const d of decades(yMin, yMax)) {
    if (d < yMin || d > yMax) continue;
    svg += `<line x1="${l}" y1="${y(d)}" x2="${width - r}" y2="${y(d)}" stroke="#ddd"/><text x="${l - 6}" y="${y(d) + 4}" font-size="10" text-anchor="end">${fmtNs(d)}</text>`;
  }
  for (const n of [...new Set(ns)])
    svg += `<text x="${x(n)}" y="${height - b + 18}" font-size="10" text-anchor="middle">${n}</text>`;
  svg += `<text x="${(l + width - r) / 2}" y="${height - 14}" font-size="12" text-anchor="middle">n</text>`;
  [...series.entries()].forEach(([name, pts], i) => {
    pts.sort((a, c) => a[0] - c[0]);
    const c = COLORS[i % COLORS.length];
    svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([n, v]) => `${x(n)},${y(v)}`).join(" ")}"/>`;
    for (const [n, v] of pts) svg += `<circle cx="${x(n)}" cy="${y(v)}" r="3" fill="${c}"/>`;
    svg += `<rect x="${width - r + 12}" y="${t + i * 20}" width="12" height="12" fill="${c}"/><text x="${width - r + 30}" y="${t + i * 20 + 10}" font-size="11">${esc(name.slice(0, 40))}</text>`;
  });
  return { svg, width, height };
}

function writePng(file, { svg, width, height }) {
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif"><rect width="100%" height="100%" fill="white"/>${svg}</svg>`;
  writeFileSync(file.replace(/\.png$/, ".svg"), doc);
  writeFileSync(file, new Resvg(doc, { font: { loadSystemFonts: true } }).render().asPng());
}

/**
 * A custom row (no mitata p50) as a table cell pair: its case from the descriptive fields
 * (`name`, or engine/server/services/pattern/… joined), its figure from the first known
 * measurement (CPU ns per call, median ms, qps), else the remaining fields as JSON.
 */
function describeRow(r) {
  const figures = [
    ["cpu_ns", (v) => `${fmtNs(v)} CPU`],
    ["median_ms", (v) => `${v.toFixed(2)} ms`],
    ["qps", (v) => `${Math.round(v)} qps`],
  ];
  const found = figures.find(([k]) => typeof r[k] === "number");
  const descriptive = Object.entries(r)
    .filter(
      ([k, v]) =>
        k !== "group" &&
        k !== "rcodes" &&
        (typeof v === "string" || (typeof v === "number" && /^(services|n|run)$/.test(k))),
    )
    .map(([k, v]) => (typeof v === "number" ? `${k} ${v}` : v));
  const name = r.name ?? descriptive.join(", ");
  if (found === undefined) {
    const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !["group", "name"].includes(k)));
    return [name, JSON.stringify(rest)];
  }
  return [name, found[1](r[found[0]])];
}

const summary = [];
const files = existsSync(resultsDir)
  ? readdirSync(resultsDir)
      .filter((f) => f.endsWith(".json"))
      .sort()
  : [];
for (const f of files) {
  const doc = JSON.parse(readFileSync(join(resultsDir, f), "utf8"));
  const timed = (doc.rows ?? []).filter((r) => typeof r.p50_ns === "number" && r.p50_ns > 0);
  const series = timed.filter((r) => typeof r.args?.n === "number");
  const bars = timed.filter((r) => typeof r.args?.n !== "number");
  const base = join(resultsDir, f.replace(/\.json$/, ""));
  if (bars.length > 0) writePng(`${base}.png`, barChart(doc.benchmark, bars));
  // One log-log chart per group, so each compares like with like (e.g. the proxy modes' first packet).
  const groups = [...new Set(series.map((r) => r.group))];
  // A benchmark may ask for another figure on its curves (notes.plotField, e.g. "min_ns": the best batch).
  const field = doc.notes?.plotField;
  const plotted = (r) => (field && typeof r[field] === "number" ? { ...r, p50_ns: r[field] } : r);
  const what = field ? (doc.notes?.plotLabel ?? field) : "p50";
  for (const g of groups) {
    const slug =
      groups.length === 1
        ? "scaling"
        : `scaling-${g
            .replace(/[^a-z0-9]+/gi, "-")
            .replace(/^-|-$/g, "")
            .toLowerCase()}`;
    writePng(
      `${base}-${slug}.png`,
      lineChart(
        `${doc.benchmark}: ${g || "cases"}`,
        series.filter((r) => r.group === g).map(plotted),
        series.some((r) => r.group === g && field && typeof r[field] === "number") ? what : "p50",
      ),
    );
  }
  for (const r of timed)
    summary.push(
      `| ${doc.benchmark} | ${r.group} | ${r.name} | ${fmtNs(r.p50_ns)} | ${(1e9 / r.p50_ns).toExponential(2)} |`,
    );
  for (const r of (doc.rows ?? []).filter((q) => typeof q.p50_ns !== "number")) {
    const [name, figure] = describeRow(r);
    summary.push(`| ${doc.benchmark} | ${r.group ?? ""} | ${esc(name)} | ${esc(figure)} | |`);
  }
}
const readme = join(here, "README.md");
const table = ["| benchmark | group | case | p50 | ops/s |", "|---|---|---|---|---|", ...summary].join("\n");
const text = existsSync(readme) ? readFileSync(readme, "utf8") : "";
const start = "<!-- results:start -->";
const end = "<!-- results:end -->";
if (text.includes(start)) {
  writeFileSync(
    readme,
    `${text.slice(0, text.indexOf(start) + start.length)}\n${table}\n${text.slice(text.indexOf(end))}`,
  );
}
console.log(`plotted ${files.length} result files into ${resultsDir}`);
