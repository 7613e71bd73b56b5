#!/usr/bin/env node
// The README's entry points. Needs only Node 20 and npm: it brings pnpm (pinned),
// installs the workspace, and then runs the demo, the tests, the kernel suite or
// the benchmarks. Usage: node scripts/dev.mjs setup|demo|test|test:kernel|test:live|bench
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM_VERSION = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  .packageManager.split("+")[0]
  .split("@")[1];
const started = performance.now();
/** A phase banner with the time since the command started, so no step is a silent gap. */
function phase(what) {
  console.log(`\n==> ${what} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
}
const env = { ...process.env, CI: process.env.CI ?? "true", COREPACK_ENABLE_DOWNLOAD_PROMPT: "0" };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env, ...opts });
  if (r.error) {
    console.error(`knet dev: could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  return r.status ?? 1;
}

function must(cmd, args, what) {
  const code = run(cmd, args);
  if (code !== 0) {
    console.error(`knet dev: ${what} failed (exit ${code})`);
    process.exit(code);
  }
}

let pnpmCmd;
/** pnpm as [command, leading args]: the pinned one on PATH, else fetched by npx (probed once, when first needed). */
function pnpm() {
  if (pnpmCmd) return pnpmCmd;
  const probe = spawnSync("pnpm", ["--version"], { encoding: "utf8", env });
  pnpmCmd =
    probe.status === 0 && probe.stdout.trim() === PNPM_VERSION
      ? ["pnpm", []]
      : ["npx", ["--yes", `pnpm@${PNPM_VERSION}`]];
  return pnpmCmd;
}
const p = (...args) => {
  const [pn, pnArgs] = pnpm();
  return [pn, [...pnArgs, ...args]];
};

/** Install the workspace unless node_modules already holds exactly this lockfile (pnpm keeps a copy). */
function setup() {
  const installed = join(root, "node_modules", ".pnpm", "lock.yaml");
  const lock = join(root, "pnpm-lock.yaml");
  if (existsSync(installed) && readFileSync(installed, "utf8") === readFileSync(lock, "utf8")) {
    phase("workspace installed: node_modules matches pnpm-lock.yaml");
    return;
  }
  phase(`installing the workspace (pnpm ${PNPM_VERSION}, fetched by npx when it is not on PATH)`);
  must(...p("install", "--frozen-lockfile", "--reporter=append-only"), "pnpm install");
}

/** Build what changed: JavaScript only for what runs here, declarations too for `build`. */
function build(jsOnly) {
  phase(jsOnly ? "building the packages (JavaScript, only what changed)" : "building the packages");
  must("node", ["scripts/build.mjs", ...(jsOnly ? ["--js"] : [])], "build");
}

/** Run vitest with a JSON report and print the closing `N passed, N failed` line. */
function vitest(config, label) {
  mkdirSync(join(root, "build"), { recursive: true });
  const out = `build/vitest-${label}.json`;
  const code = run(
    ...p(
      "exec",
      "vitest",
      "run",
      "--config",
      config,
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${out}`,
    ),
  );
  if (!existsSync(join(root, out))) {
    console.error(`knet dev: vitest wrote no report (exit ${code})`);
    process.exit(code || 1);
  }
  const r = JSON.parse(readFileSync(join(root, out), "utf8"));
  // Every skipped test by name: kernel suites put the reason in it ("[skipped: this kernel lacks IPVS]").
  for (const file of r.testResults)
    for (const t of file.assertionResults)
      if (t.status === "skipped" || t.status === "pending" || t.status === "todo")
        console.log(`skipped: ${t.fullName}`);
  // A file that fails to load has no test results of its own: count it as a failure.
  const brokenFiles = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  const failed = r.numFailedTests + brokenFiles;
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code !== 0 ? code : failed > 0 ? 1 : 0);
}

const cmd = process.argv[2];
switch (cmd) {
  case "setup":
    setup();
    break;
  case "demo":
    setup();
    build(true);
    phase("knet demo");
    process.exit(run("node", ["packages/cli/dist/bin.js", "demo", ...process.argv.slice(3)]));
    break;
  case "test":
    setup();
    phase("unit and property tests");
    vitest("vitest.config.ts", "unit");
    break;
  case "test:kernel": {
    setup();
    if (process.getuid?.() !== 0) {
      console.log("kernel tests need root (network namespaces, iptables, nft): not run");
      console.log("0 passed, 0 failed");
      process.exit(0);
    }
    phase("kernel-test prerequisites");
    must("bash", ["scripts/kernel-prereqs.sh"], "installing kernel-test packages");
    phase("kernel tests");
    vitest("vitest.kernel.config.ts", "kernel");
    break;
  }
  case "test:live": {
    setup();
    if (process.getuid?.() !== 0) {
      console.log("live tests need root (apt for Go and etcd, throw-away node namespaces): not run");
      console.log("0 passed, 0 failed");
      process.exit(0);
    }
    phase("kube-apiserver 1.20.2 binaries (cached outside the clone; a cold build takes ~17 min on 2 cores)");
    must("bash", ["scripts/k8s-apiserver-build.sh"], "building kube-apiserver");
    phase("live tests (a real kube-apiserver + etcd on 127.0.0.1)");
    vitest("vitest.live.config.ts", "live");
    break;
  }
  case "bench":
    setup();
    build(true);
    phase("benchmarks");
    process.exit(run("node", ["benchmarks/run.mjs", ...process.argv.slice(3)]));
    break;
  default:
    console.error("usage: node scripts/dev.mjs setup|demo|test|test:kernel|test:live|bench");
    process.exit(2);
}
