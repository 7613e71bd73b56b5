#!/usr/bin/env node
// Builds every workspace package under packages/: JavaScript with esbuild (one ESM
// file per entry, other packages and npm dependencies left as imports), then the
// declaration files with one incremental `tsc` program. Only what changed is rebuilt:
// each output records the inputs esbuild read (from its metafile) and their mtimes,
// and tsc keeps a .tsbuildinfo, so a rebuild with nothing changed takes about a second.
//
// Usage: node scripts/build.mjs [--js] [--force] [--quiet]
//   --js      JavaScript only (what the demo, examples and benchmarks run); no .d.ts
//   --force   ignore the up-to-date checks
//
// A package says what to build in its package.json:
//   "knetBuild": { "entries": { "index": "src/index.ts", "bin": "src/bin.ts" },
//                  "standalone": { "host-local": "src/host-local-main.ts" } }
// `entries` default to { "index": "src/index.ts" }; `standalone` entries bundle the
// @knet packages they import from source too (an executable copied alone, such as a
// CNI plugin) and are written as CommonJS, dist/<name>.cjs. Packages without a "build" script (testkit) are skipped.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const jsOnly = args.has("--js");
const force = args.has("--force");
const quiet = args.has("--quiet");
const t0 = performance.now();
const log = (msg) => quiet || console.log(`[build ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

const { build } = await import("esbuild");

/** Workspace packages with a build script, in directory order. */
function packages() {
  const dir = join(root, "packages");
  return readdirSync(dir)
    .map((name) => ({ name, dir: join(dir, name) }))
    .filter((p) => existsSync(join(p.dir, "package.json")))
    .map((p) => ({ ...p, json: JSON.parse(readFileSync(join(p.dir, "package.json"), "utf8")) }))
    .filter((p) => p.json.scripts?.build);
}

/** True when every input recorded for this output is unchanged since it was built. */
function upToDate(stampFile) {
  if (force || !existsSync(stampFile)) return false;
  const stamp = JSON.parse(readFileSync(stampFile, "utf8"));
  for (const out of stamp.outputs) if (!existsSync(join(root, out))) return false;
  for (const [file, mtime] of Object.entries(stamp.inputs)) {
    const path = join(root, file);
    if (!existsSync(path) || statSync(path).mtimeMs !== mtime) return false;
  }
  return true;
}

function writeStamp(stampFile, metafile, extraInputs) {
  const inputs = {};
  for (const file of [...Object.keys(metafile.inputs), ...extraInputs]) {
    const path = join(root, file);
    if (existsSync(path)) inputs[file] = statSync(path).mtimeMs;
  }
  writeFileSync(stampFile, JSON.stringify({ inputs, outputs: Object.keys(metafile.outputs) }));
}

async function buildJs(pkg) {
  const cfg = pkg.json.knetBuild ?? {};
  const groups = [
    { kind: "lib", entries: cfg.entries ?? { index: "src/index.ts" }, standalone: false },
    { kind: "standalone", entries: cfg.standalone ?? {}, standalone: true },
  ].filter((g) => Object.keys(g.entries).length > 0);
  let built = 0;
  for (const g of groups) {
    const stampFile = join(pkg.dir, "dist", `.build-${g.kind}.json`);
    if (upToDate(stampFile)) continue;
    const result = await build({
      absWorkingDir: root,
      entryPoints: Object.fromEntries(Object.entries(g.entries).map(([out, src]) => [out, join(pkg.dir, src)])),
      outdir: join(pkg.dir, "dist"),
      bundle: true,
      // A standalone executable is CommonJS (.cjs): it starts without the ES module loader,
      // which is most of a short-lived CNI plugin's start-up.
      format: g.standalone ? "cjs" : "esm",
      ...(g.standalone ? { outExtension: { ".js": ".cjs" } } : {}),
      platform: "node",
      target: "node20",
      sourcemap: true,
      metafile: true,
      logLevel: "warning",
      // Libraries import their dependencies; a standalone executable carries the
      // @knet packages it uses (from source) and nothing else is external but npm deps.
      ...(g.standalone
        ? {
            conditions: ["@knet/source"],
            external: Object.keys(pkg.json.dependencies ?? {}).filter((d) => !d.startsWith("@knet/")),
          }
        : { packages: "external" }),
    });
    mkdirSync(join(pkg.dir, "dist"), { recursive: true });
    writeStamp(stampFile, result.metafile, [relative(root, join(pkg.dir, "package.json"))]);
    built++;
  }
  return built;
}

const pkgs = packages();
let rebuilt = 0;
for (const pkg of pkgs) rebuilt += await buildJs(pkg);
log(`JavaScript: ${pkgs.length} packages, ${rebuilt === 0 ? "all up to date" : `${rebuilt} bundle(s) rebuilt`}`);

/** Every file the declaration build reads from the workspace, with its mtime. */
function dtsInputs() {
  const inputs = {};
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts")) inputs[relative(root, p)] = statSync(p).mtimeMs;
    }
  };
  for (const pkg of pkgs) if (existsSync(join(pkg.dir, "src"))) walk(join(pkg.dir, "src"));
  for (const f of ["tsconfig.base.json", "tsconfig.dts.json"]) inputs[f] = statSync(join(root, f)).mtimeMs;
  return inputs;
}

const dtsStamp = join(root, "build", "dts-stamp.json");
const dtsNow = jsOnly ? {} : dtsInputs();
const dtsFresh =
  !force &&
  existsSync(dtsStamp) &&
  readFileSync(dtsStamp, "utf8") === JSON.stringify(dtsNow) &&
  pkgs.every((p) => !existsSync(join(p.dir, "src", "index.ts")) || existsSync(join(p.dir, "dist", "index.d.ts")));
if (!jsOnly && dtsFresh) log("declarations: up to date");
if (!jsOnly && !dtsFresh) {
  // One incremental program over every package's sources emits the declarations into
  // build/dts/<package>/...; each package's tree is then copied into its dist/.
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.dts.json"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("build: tsc failed to emit declarations (run pnpm typecheck for the errors)");
    process.exit(r.status ?? 1);
  }
  for (const pkg of pkgs) {
    const from = join(root, "build", "dts", pkg.name, "src");
    if (existsSync(from)) cpSync(from, join(pkg.dir, "dist"), { recursive: true });
  }
  writeFileSync(dtsStamp, JSON.stringify(dtsNow));
  log("declarations emitted");
}
