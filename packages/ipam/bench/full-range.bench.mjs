// "Range full": one ADD into a range where every address is taken, so the allocator probes
// every candidate before failing with "no IP addresses available". knet-host-local against
// the real /usr/lib/cni/host-local, both as executables on identical pre-filled stores, in
// one run (issue 17 point 9). Sizes: /24, /22, /18.
// Run: pnpm --filter "@knet/ipam..." run build && node packages/ipam/bench/full-range.bench.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Prefix } from "@knet/netstack";
import { writeResults } from "../../../benchmarks/lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ours = join(here, "..", "dist", "host-local.cjs");
const real = "/usr/lib/cni/host-local";
const work = mkdtempSync(join(tmpdir(), "knet-ipam-full-"));
const sizes = (process.env.KNET_FULL_RANGE_SIZES ?? "24,22,18").split(",").map(Number);

/** Every allocatable address of a subnet taken (network, gateway .1 and broadcast excluded). */
function prefill(dir, subnet) {
  mkdirSync(dir, { recursive: true });
  const p = Prefix.parse(subnet);
  const first = p.first().next().next();
  let a = first;
  let n = 0;
  const last = p.last();
  while (!a.equals(last)) {
    writeFileSync(join(dir, a.toString()), `full${n}\r\neth0`);
    n++;
    a = a.next();
  }
  return n;
}

function addOnce(binary, dataDir, subnet) {
  const config = { cniVersion: "1.0.0", name: "full", ipam: { type: "host-local", subnet, dataDir } };
  const env = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "late",
    CNI_NETNS: "/var/run/netns/knet-bench",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/usr/lib/cni",
  };
  const js = binary.endsWith("js");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(js ? process.execPath : binary, js ? [binary] : [], {
    env,
    input: JSON.stringify(config),
    encoding: "utf8",
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!r.stdout.includes("no IP addresses available")) throw new Error(`expected range full, got ${r.stdout}`);
  return seconds;
}

const rows = [];
try {
  if (!existsSync(ours)) throw new Error(`build first: ${ours} is missing`);
  for (const len of sizes) {
    const subnet = `10.${len}.0.0/${len}`;
    const row = { name: `range full /${len}`, subnet, occupied: 0 };
    for (const [label, bin] of [
      ["knet", ours],
      ["real", real],
    ]) {
      if (!existsSync(bin)) continue;
      const dataDir = join(work, `${label}-${len}`);
      row.occupied = prefill(join(dataDir, "full"), subnet);
      row[`${label}_s`] = addOnce(bin, dataDir, subnet);
    }
    if (row.real_s !== undefined) row.ratio_knet_vs_real = row.knet_s / row.real_s;
    rows.push(row);
    console.log(
      `${row.name.padEnd(16)} ${String(row.occupied).padStart(6)} taken  knet ${row.knet_s.toFixed(3)} s` +
        (row.real_s === undefined ? "" : `  real ${row.real_s.toFixed(3)} s  x${row.ratio_knet_vs_real.toFixed(2)}`),
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const file = writeResults("ipam-full-range", rows, {
  loadavg: (await import("node:os")).loadavg(),
  what: "one ADD (executable, fresh process) into a range whose every address is taken; wall time until 'range full'",
  before:
    "measured on 2026-12-07 with the store of bdf8f84 (temp file + fsync + link + unlink per taken address): " +
    "/24 knet 2.391 s vs real 0.020 s, /22 12.916 s vs 0.142 s, /18 177.9 s vs 1.746 s (load average ~20)",
});
console.log(`-> ${file}`);
