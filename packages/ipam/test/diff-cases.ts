// Shared differential cases: reference scenarios and random sequences run through a
// host-local executable, compared with the recordings or with the real binary.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expect } from "vitest";
import { loadScenarios, opConfig, readStoreDir, workDir } from "./helpers.js";
import { execPlugin, normalizeOutput, ourBinary, realHostLocal } from "./plugin-exec.js";

/** Runs one CNI verb of some host-local implementation. */
export type Runner = (
  verb: string,
  config: unknown,
  cid: string,
  ifname: string,
  cniArgs: string,
) => { rc: number; stdout: unknown } | Promise<{ rc: number; stdout: unknown }>;

/** Our executable as a runner. */
export const ourExecutable: Runner = (verb, config, cid, ifname, cniArgs) =>
  execPlugin(ourBinary, verb, config, cid, ifname, cniArgs);

/** Replay the reference scenarios (optionally only some) through `run`; returns the number of ops compared. */
export async function replayScenarios(run: Runner, only?: readonly string[]): Promise<number> {
  let ops = 0;
  const tmp: string[] = [];
  try {
    for (const { def, rows } of loadScenarios()) {
      if (only && !only.includes(def.name)) continue;
      const work = workDir(def.name);
      tmp.push(work);
      const dataDir = join(work, "data");
      const storeDir = join(dataDir, def.config.name as string);
      for (const row of rows) {
        if (row.verb === "SEED") {
          mkdirSync(storeDir, { recursive: true });
          writeFileSync(join(storeDir, row.file as string), row.content as string);
          continue;
        }
        const config = opConfig(def.config, row.patch, dataDir, work);
        const got = await run(row.verb, config, row.cid as string, row.ifname as string, row.cniArgs ?? "");
        const label = `${def.name} [${row.n}] ${row.verb} ${row.cid} ${row.ifname}`;
        expect(got.rc, `${label} ${JSON.stringify(got.stdout)}`).toBe(row.rc);
        expect(normalizeOutput(got.stdout), label).toEqual(normalizeOutput(row.stdout));
        expect(readStoreDir(storeDir), label).toEqual(row.store);
        ops++;
      }
    }
  } finally {
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  }
  return ops;
}

// ---- random sequences against the real binary

export interface Op {
  verb: "ADD" | "DEL" | "CHECK";
  cid: string;
  ifname: string;
  cniArgs: string;
  patch: Record<string, unknown> | undefined;
}

export const v4Range = fc
  .record({
    third: fc.integer({ min: 0, max: 3 }),
    len: fc.integer({ min: 27, max: 29 }),
    gw: fc.integer({ min: 0, max: 3 }),
    start: fc.integer({ min: 0, max: 3 }),
    end: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ third, len, gw, start, end }) => {
    const size = 2 ** (32 - len);
    const base = `10.99.${third}.`;
    const r: Record<string, string> = { subnet: `${base}0/${len}` };
    if (gw === 1) r.gateway = `${base}3`;
    if (gw === 2) r.gateway = `${base}${size - 2}`;
    if (start === 1) r.rangeStart = `${base}2`;
    if (start === 2) r.rangeStart = `${base}0`;
    if (end === 1) r.rangeEnd = `${base}${size - 3}`;
    return r;
  });

export const v6Range = fc.record({ len: fc.integer({ min: 124, max: 126 }), gw: fc.boolean() }).map(({ len, gw }) => {
  const r: Record<string, string> = { subnet: `fd00:99::/${len}` };
  if (gw) r.gateway = "fd00:99::2";
  return r;
});

export const configArb = fc
  .record({
    v4: v4Range,
    second: fc.option(fc.constantFrom("10.99.8.0/30", "10.99.9.0/29"), { nil: undefined }),
    v6: fc.option(v6Range, { nil: undefined }),
    legacy: fc.boolean(),
    version: fc.constantFrom("1.0.0", "1.0.0", "0.4.0", "0.3.1"),
  })
  .map(({ v4, second, v6, legacy, version }) => {
    const ipam: Record<string, unknown> = { type: "host-local" };
    const v4Set: Record<string, string>[] = [v4];
    if (second) v4Set.push({ subnet: second });
    if (legacy && !second) Object.assign(ipam, v4);
    else ipam.ranges = [v4Set];
    if (v6) ipam.ranges = [...((ipam.ranges as unknown[]) ?? []), [v6]];
    return { cniVersion: version, name: "rnd", ipam };
  });

export const opArb = fc
  .record({
    verb: fc.constantFrom<"ADD" | "DEL" | "CHECK">("ADD", "ADD", "ADD", "DEL", "CHECK"),
    cid: fc.constantFrom("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"),
    ifname: fc.constantFrom("eth0", "eth0", "net1"),
    req: fc.option(fc.integer({ min: 0, max: 9 }), { freq: 4, nil: undefined }),
    how: fc.constantFrom("env", "runtime", "args"),
  })
  .map(({ verb, cid, ifname, req, how }): Op => {
    let cniArgs = "";
    let patch: Record<string, unknown> | undefined;
    if (verb === "ADD" && req !== undefined) {
      const ip = `10.99.0.${req}`;
      if (how === "env") cniArgs = `IgnoreUnknown=1;IP=${ip}`;
      else if (how === "runtime") patch = { runtimeConfig: { ips: [`${ip}/24`] } };
      else patch = { args: { cni: { ips: [ip] } } };
    }
    return { verb, cid, ifname, cniArgs, patch };
  });

/** Run `numRuns` random config + op sequences through our executable and the real host-local, side by side. */
export function diffRandomSequences(numRuns: number, seed: number): void {
  fc.assert(
    fc.property(configArb, fc.array(opArb, { minLength: 8, maxLength: 16 }), (config, ops) => {
      const work = workDir("rnd");
      try {
        const oursDir = join(work, "ours");
        const realDir = join(work, "real");
        for (const [i, op] of ops.entries()) {
          const base = op.patch ? (opConfig(config, op.patch, "", work) as typeof config) : config;
          const cfg = (d: string) => ({ ...base, ipam: { ...base.ipam, dataDir: d } });
          const a = execPlugin(ourBinary, op.verb, cfg(oursDir), op.cid, op.ifname, op.cniArgs);
          const b = execPlugin(realHostLocal, op.verb, cfg(realDir), op.cid, op.ifname, op.cniArgs);
          const label = `op ${i} ${JSON.stringify(op)}`;
          expect(a.rc, label).toBe(b.rc);
          expect(normalizeOutput(a.stdout), label).toEqual(normalizeOutput(b.stdout));
          expect(readStoreDir(join(oursDir, "rnd")), label).toEqual(readStoreDir(join(realDir, "rnd")));
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }),
    { numRuns, seed, endOnFailure: true },
  );
}
