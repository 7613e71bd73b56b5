// Disk store throughput: host-local ADDs per second on a /16 with host-local's on-disk
// layout, in-process (DiskStore: flock via util-linux, temp file + fsync + link) and as
// executables driven the same way (one process per ADD, as a runtime does) — our
// knet-host-local against the real /usr/lib/cni/host-local, as a ratio.
// Run: pnpm --filter "@knet/ipam..." run build && node packages/ipam/bench/disk.bench.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskStore, hostLocalAdd, hostLocalDel, loadHostLocalConfig, MemoryStore } from "@knet/ipam";
import { writeResults } from "../../../benchmarks/lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ours = join(here, "..", "dist", "host-local.js");
const real = "/usr/lib/cni/host-local";
const work = mkdtempSync(join(tmpdir(), "knet-ipam-bench-"));

const config = (dataDir) => ({
  cniVersion: "1.0.0",
  name: "bench",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.250.0.0/16" }]], dataDir },
});

function inProcess(label, n, fsync) {
  const dir = join(work, label);
  const conf = loadHostLocalConfig(config(dir));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const store = DiskStore.open(conf.dataDir, conf.name, { fsync });
    try {
      hostLocalAdd(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
    } finally {
      store.close();
    }
  }
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const store = DiskStore.open(conf.dataDir, conf.name, { fsync });
    try {
      hostLocalDel(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
    } finally {
      store.close();
    }
  }
  const t2 = process.hrtime.bigint();
  return { name: label, n, add_per_s: n / (Number(t1 - t0) / 1e9), del_per_s: n / (Number(t2 - t1) / 1e9) };
}

function memory(label, n) {
  const conf = loadHostLocalConfig(config("/nonexistent"));
  const store = new MemoryStore();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) hostLocalAdd(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) hostLocalDel(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
  const t2 = process.hrtime.bigint();
  return { name: label, n, add_per_s: n / (Number(t1 - t0) / 1e9), del_per_s: n / (Number(t2 - t1) / 1e9) };
}

function exec(label, binary, n) {
  const dir = join(work, label);
  const stdin = JSON.stringify(config(dir));
  const run = (verb, i) => {
    const env = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: verb,
      CNI_CONTAINERID: `c${i}`,
      CNI_NETNS: "/var/run/netns/knet-bench",
      CNI_IFNAME: "eth0",
      CNI_PATH: "/usr/lib/cni",
    };
    const js = binary.endsWith(".js");
    const r = spawnSync(js ? process.execPath : binary, js ? [binary] : [], { env, input: stdin, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${label} ${verb} failed: ${r.stdout}${r.stderr}`);
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run("ADD", i);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run("DEL", i);
  const t2 = process.hrtime.bigint();
  return { name: label, n, add_per_s: n / (Number(t1 - t0) / 1e9), del_per_s: n / (Number(t2 - t1) / 1e9) };
}

const rows = [];
try {
  rows.push(memory("MemoryStore in-process", 20000));
  rows.push(inProcess("DiskStore in-process (fsync)", 300, true));
  rows.push(inProcess("DiskStore in-process (no fsync)", 300, false));
  if (!existsSync(ours)) throw new Error(`build first: ${ours} is missing`);
  rows.push(exec("knet-host-local executable", ours, 80));
  if (existsSync(real)) rows.push(exec("real host-local executable", real, 80));
} finally {
  rmSync(work, { recursive: true, force: true });
}
const realRow = rows.find((r) => r.name.startsWith("real"));
for (const r of rows) {
  if (realRow) r.add_ratio_vs_real_exec = r.add_per_s / realRow.add_per_s;
  console.log(
    `${r.name.padEnd(34)} ADD ${r.add_per_s.toFixed(0).padStart(6)}/s  DEL ${r.del_per_s.toFixed(0).padStart(6)}/s` +
      (realRow ? `  ADD ratio vs real host-local exec ${r.add_ratio_vs_real_exec.toFixed(2)}` : ""),
  );
}
const file = writeResults("ipam-disk", rows, {
  loadavg: (await import("node:os")).loadavg(),
  pool: "10.250.0.0/16, one range set, sequential ADDs of distinct containers, then DELs",
  exec: "one process per op with a minimal env, as cni-oracle.sh drives plugins",
  lock: "DiskStore takes flock(2) through util-linux flock(1) on an inherited fd: one short process spawn per lock",
});
console.log(`-> ${file}`);
