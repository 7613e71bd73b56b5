// A full range is probed as cheaply as host-local probes it (issue 17 point 9): one ADD into a
// /24 whose 253 addresses are all taken, under strace, for our executable and the real
// host-local side by side. Every occupied candidate costs the real plugin one failing
// O_EXCL create; it must cost us one syscall too (an access(2) that finds the name, or a
// failing link(2), our atomic create-if-absent), and the temporary record is written and
// fsynced once per ADD, not once per candidate.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";
import { ensureBuilt, hasRealHostLocal, ourBinary, realHostLocal } from "./plugin-exec.js";

const work = mkdtempSync(join(tmpdir(), "knet-ipam-fullrange-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => ensureBuilt(), 120_000);

const strace = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));

/** A /24 store with every allocatable address (.2-.254; .1 is the gateway) taken. */
function fullStore(tag: string): string {
  const dataDir = join(work, tag);
  mkdirSync(join(dataDir, "full"), { recursive: true });
  for (let i = 2; i <= 254; i++) writeFileSync(join(dataDir, "full", `10.77.0.${i}`), `owner${i}\r\neth0`);
  return dataDir;
}

interface Traced {
  stdout: string;
  /** Syscall lines of the trace (every thread and child). */
  lines: string[];
}

function tracedAdd(binary: string, dataDir: string): Traced {
  const log = join(work, `${Math.random().toString(36).slice(2)}.strace`);
  const config = { cniVersion: "1.0.0", name: "full", ipam: { type: "host-local", subnet: "10.77.0.0/24", dataDir } };
  const js = binary.endsWith(".js");
  const argv = [
    "-f",
    "-qq",
    "-s",
    "4096",
    "-o",
    log,
    "-e",
    "trace=link,linkat,open,openat,access,faccessat,faccessat2,fsync,fdatasync",
    ...(js ? [process.execPath, binary] : [binary]),
  ];
  const r = spawnSync(strace as string, argv, {
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "late",
      CNI_NETNS: "/var/run/netns/knet-ipam-only",
      CNI_IFNAME: "eth0",
      CNI_PATH: "/usr/lib/cni",
    },
    input: JSON.stringify(config),
    encoding: "utf8",
    timeout: 120_000,
  });
  return { stdout: r.stdout, lines: readFileSync(log, "utf8").split("\n") };
}

const storePath = /"[^"]*\/full\/(10\.77\.0\.\d+)"/;

/** Taken candidates probed: failing exclusive creates or links onto a record name, or access(2) finding one. */
function probes(t: Traced): { taken: string[]; fsyncs: number } {
  const taken: string[] = [];
  let fsyncs = 0;
  for (const line of t.lines) {
    if (/\b(fsync|fdatasync)\(/.test(line)) fsyncs++;
    const target = storePath.exec(line)?.[1];
    if (target === undefined) continue;
    const failedCreate =
      line.includes("EEXIST") &&
      (/\blink(at)?\(/.test(line) || (/\bopen(at)?\(/.test(line) && line.includes("O_EXCL")));
    const found = /\b(access|faccessat2?)\(/.test(line) && / = 0$/.test(line.trim());
    if (failedCreate || found) taken.push(target);
  }
  return { taken: taken.sort(), fsyncs };
}

describe.skipIf(!hasRealHostLocal)("ADD into a full range", () => {
  it("costs one syscall per taken address, as host-local, and one fsync", () => {
    expect(strace, "strace is needed (scripts/kernel-prereqs.sh installs it)").toBeDefined();
    const realDir = fullStore("real");
    const oursDir = fullStore("ours");
    const real = tracedAdd(realHostLocal, realDir);
    const ours = tracedAdd(ourBinary, oursDir);
    expect(real.stdout).toContain("no IP addresses available in range set: 10.77.0.1-10.77.0.254");
    expect(ours.stdout).toContain("no IP addresses available in range set: 10.77.0.1-10.77.0.254");

    const r = probes(real);
    const o = probes(ours);
    const all = Array.from({ length: 253 }, (_, i) => `10.77.0.${i + 2}`).sort();
    expect(r.taken).toEqual(all);
    expect(o.taken).toEqual(all);
    // The temporary record: one write + fsync for the whole ADD (253 before).
    expect(o.fsyncs).toBeLessThanOrEqual(2);
    // Nothing changed: every record intact, no temporary file left, no hint written.
    const after = readStoreDir(join(oursDir, "full"));
    expect(Object.keys(after).filter((n) => n.startsWith("10.77.0.")).length).toBe(253);
    expect(Object.keys(after).filter((n) => !n.startsWith("10.77.0.") && n !== "lock")).toEqual([]);
    expect(after["10.77.0.9"]).toBe("owner9\r\neth0");
  });
});
