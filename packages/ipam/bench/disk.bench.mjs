// Disk store and plugin executables, side by side in one run (issue 24 points 2 and 3):
//  - in-process DiskStore ADD/DEL rates on a /16 in host-local's on-disk layout: one lock per
//    operation through flock(1) (a process per lock, the old way) and through the long-lived
//    lock helper (no process per lock), and batches of ADDs under one lock (withLock);
//  - executables driven as a runtime drives them (one process per operation, minimal env):
//    knet-host-local, Debian's real host-local, and bare `node -e 0` for Node's start-up.
// Run: pnpm --filter "@knet/ipam..." run build && node packages/ipam/bench/disk.bench.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskStore, hostLocalAdd, hostLocalDel, loadHostLocalConfig, MemoryStore } from "@knet/ipam";
import { writeResults } from "../../../benchmarks/lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ours = join(here, "..", "dist", "host-local.cjs");
const real = "/usr/lib/cni/host-local";
const work = mkdtempSync(join(tmpdir(), "knet-ipam-bench-"));
const scale = Number(process.env.KNET_BENCH_SCALE ?? 1);

const config = (dataDir) => ({
  cniVersion: "1.0.0",
  name: "bench",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.250.0.0/16" }]], dataDir },
});

const perSecond = (n, t0, t1) => n / (Number(t1 - t0) / 1e9);

/** One store object and one lock per operation, as a runtime calling the plugin in-process does. */
function inProcess(label, n, lockMethod) {
  const conf = loadHostLocalConfig(config(join(work, label)));
  const open = () => DiskStore.open(conf.dataDir, conf.name, { lockMethod });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const store = open();
    try {
      hostLocalAdd(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
    } finally {
      store.close();
    }
  }
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const store = open();
    try {
      hostLocalDel(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
    } finally {
      store.close();
    }
  }
  const t2 = process.hrtime.bigint();
  return { name: label, n, add_per_s: perSecond(n, t0, t1), del_per_s: perSecond(n, t1, t2) };
}

/** Batches of `batch` operations under one lock (one directory read and one directory fsync each). */
function batched(label, n, batch) {
  const conf = loadHostLocalConfig(config(join(work, label)));
  const store = DiskStore.open(conf.dataDir, conf.name);
  const run = (fn) => {
    for (let i = 0; i < n; i += batch)
      store.withLock(() => {
        for (let j = i; j < Math.min(n, i + batch); j++) fn({ containerId: `c${j}`, ifname: "eth0" });
      });
  };
  try {
    const t0 = process.hrtime.bigint();
    run((att) => hostLocalAdd(conf, att, store));
    const t1 = process.hrtime.bigint();
    run((att) => hostLocalDel(conf, att, store));
    const t2 = process.hrtime.bigint();
    return { name: label, n, batch, add_per_s: perSecond(n, t0, t1), del_per_s: perSecond(n, t1, t2) };
  } finally {
    store.close();
  }
}

function memory(label, n) {
  const conf = loadHostLocalConfig(config("/nonexistent"));
  const store = new MemoryStore();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) hostLocalAdd(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) hostLocalDel(conf, { containerId: `c${i}`, ifname: "eth0" }, store);
  const t2 = process.hrtime.bigint();
  return { name: label, n, add_per_s: perSecond(n, t0, t1), del_per_s: perSecond(n, t1, t2) };
}

const ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  CNI_NETNS: "/var/run/netns/knet-bench",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/usr/lib/cni",
};

/**
 * The executables, interleaved op by op so that machine load hits each alike: per round one
 * `node -e 0`, one knet-host-local op and one real host-local op.
 */
function executables(n) {
  const dirs = { knet: join(work, "exec-knet"), real: join(work, "exec-real") };
  const time = { bare: 0n, knet_version: 0n, knet_add: 0n, knet_del: 0n, real_add: 0n, real_del: 0n };
  const run = (argv, env, input) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { env, input, encoding: "utf8" });
    const dt = process.hrtime.bigint() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stdout}${r.stderr}`);
    return dt;
  };
  for (const verb of ["ADD", "DEL"]) {
    for (let i = 0; i < n; i++) {
      const env = { ...ENV, CNI_COMMAND: verb, CNI_CONTAINERID: `c${i}` };
      if (verb === "ADD") {
        time.bare += run([process.execPath, "-e", "0"], ENV);
        // Start-up plus the smallest answer: no store, no lock, no fsync.
        const version = { ...ENV, CNI_COMMAND: "VERSION", CNI_CONTAINERID: `c${i}` };
        time.knet_version += run([process.execPath, ours], version, '{"cniVersion":"1.0.0"}');
      }
      const k = verb === "ADD" ? "add" : "del";
      time[`knet_${k}`] += run([process.execPath, ours], env, JSON.stringify(config(dirs.knet)));
      if (existsSync(real)) time[`real_${k}`] += run([real], env, JSON.stringify(config(dirs.real)));
    }
  }
  const rate = (t) => (t === 0n ? undefined : n / (Number(t) / 1e9));
  const bare = rate(time.bare);
  return [
    { name: "bare node -e 0 (start-up only)", n, runs_per_s: bare, ms_per_run: Number(time.bare) / 1e6 / n },
    {
      name: "knet-host-local VERSION (start-up)",
      n,
      runs_per_s: rate(time.knet_version),
      ms_per_run: Number(time.knet_version) / 1e6 / n,
      time_vs_bare_node: Number(time.knet_version) / Number(time.bare),
    },
    {
      name: "knet-host-local executable",
      n,
      add_per_s: rate(time.knet_add),
      del_per_s: rate(time.knet_del),
      ms_per_add: Number(time.knet_add) / 1e6 / n,
      add_time_vs_bare_node: Number(time.knet_add) / Number(time.bare),
    },
    ...(existsSync(real)
      ? [
          {
            name: "real host-local executable",
            n,
            add_per_s: rate(time.real_add),
            del_per_s: rate(time.real_del),
            ms_per_add: Number(time.real_add) / 1e6 / n,
          },
        ]
      : []),
  ];
}

const rows = [];
try {
  if (!existsSync(ours)) throw new Error(`build first: ${ours} is missing`);
  rows.push(...executables(Math.round(40 * scale)));
  rows.push(memory("MemoryStore in-process", Math.round(20000 * scale)));
  rows.push(inProcess("DiskStore in-process, flock(1) per lock", Math.round(100 * scale), "flock"));
  rows.push(inProcess("DiskStore in-process, lock helper", Math.round(300 * scale), "helper"));
  rows.push(batched("DiskStore in-process, batches of 50 under one lock", Math.round(1000 * scale), 50));
} finally {
  rmSync(work, { recursive: true, force: true });
}
const realRow = rows.find((r) => r.name.startsWith("real"));
for (const r of rows) {
  if (realRow && r.add_per_s !== undefined) r.add_ratio_vs_real_exec = r.add_per_s / realRow.add_per_s;
  const parts = [r.name.padEnd(52)];
  if (r.runs_per_s !== undefined) parts.push(`runs ${r.runs_per_s.toFixed(1).padStart(7)}/s`);
  if (r.add_per_s !== undefined)
    parts.push(`ADD ${r.add_per_s.toFixed(1).padStart(8)}/s  DEL ${r.del_per_s.toFixed(1).padStart(8)}/s`);
  if (r.add_ratio_vs_real_exec !== undefined) parts.push(`ADD x${r.add_ratio_vs_real_exec.toFixed(2)} real exec`);
  if (r.add_time_vs_bare_node !== undefined) parts.push(`ADD time x${r.add_time_vs_bare_node.toFixed(2)} bare node`);
  if (r.time_vs_bare_node !== undefined) parts.push(`time x${r.time_vs_bare_node.toFixed(2)} bare node`);
  console.log(parts.join("  "));
}
const file = writeResults("ipam-disk", rows, {
  loadavg: (await import("node:os")).loadavg(),
  pool: "10.250.0.0/16, one range set, sequential ADDs of distinct containers, then DELs",
  exec: "one process per op with a minimal env, as cni-oracle.sh drives plugins; bare node, knet and real interleaved op by op",
  lock: "flock(1) per lock: a util-linux flock process per lock on an inherited fd; lock helper: one long-lived perl child per process takes flock(2) on request over two FIFOs",
});
console.log(`-> ${file}`);
