// Crash test: 4 allocator processes share one host-local data directory (dual stack) while
// the driver SIGKILLs each one 5-120 ms after it started allocating and restarts it (5 times
// per process and round); 3 rounds. Afterwards
// (and after each worker's crash recovery) no address is held twice, every live container
// has exactly the addresses its ADD returned, nothing else is reserved, no temporary file
// or malformed record is left, and a fresh run continues allocating. No root needed; it
// lives in the slower suite because it spawns a few hundred processes.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pkgDir } from "./plugin-exec.js";

const LANES = 4;
const ROUNDS = 3;
/** SIGKILL cycles per lane and round: a fixed amount of chaos, however loaded the machine is. */
const CYCLES = 5;
const worker = join(pkgDir, "node_modules/.cache/knet-ipam-test/crash-worker.js");
const work = mkdtempSync(join(tmpdir(), "knet-ipam-crash-"));
const dataDir = join(work, "data");
const storeDir = join(dataDir, "crash");
const journal = (lane: number) => join(work, `lane${lane}.journal`);

beforeAll(() => {
  // One plain-node file: the worker and the @knet sources it imports, bundled.
  const args = ["exec", "esbuild", "test/crash-worker.ts", "--bundle", "--platform=node", "--format=esm"];
  args.push("--target=node20", "--packages=bundle", "--conditions=@knet/source", `--outfile=${worker}`);
  const r = spawnSync("pnpm", args, { cwd: pkgDir, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building the crash worker failed: ${r.stderr || r.stdout}`);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function start(lane: number, seed: number, ops: number): ChildProcess {
  return spawn(process.execPath, [worker, dataDir, String(lane), String(seed), journal(lane), String(ops)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves once the worker has recovered and started allocating (or has exited). */
function ready(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    p.stdout?.once("data", () => resolve());
    p.once("exit", () => resolve());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runToEnd(lane: number, seed: number, ops: number): void {
  const r = spawnSync(process.execPath, [worker, dataDir, String(lane), String(seed), journal(lane), String(ops)], {
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
}

/** Live containers and their addresses, from the journals. */
function liveFromJournals(): Map<string, string[]> {
  const live = new Map<string, string[]>();
  for (let lane = 0; lane < LANES; lane++) {
    if (!existsSync(journal(lane))) continue;
    for (const line of readFileSync(journal(lane), "utf8").split("\n")) {
      const [phase, verb, cid, ...ips] = line.split(" ");
      if (!cid) continue;
      if (phase === "B" && verb === "DEL") live.delete(cid);
      if (phase === "B" && verb === "ADD") live.delete(cid);
      if (phase === "O" && verb === "ADD")
        live.set(
          cid,
          ips.map((i) => i.split("/")[0] as string),
        );
    }
  }
  return live;
}

function verifyStore(): number {
  const live = liveFromJournals();
  const names = readdirSync(storeDir);
  expect(
    names.filter((n) => n.startsWith(".knet-tmp.")),
    "temporary files left",
  ).toEqual([]);
  const records = new Map<string, string>();
  for (const n of names) {
    if (n === "lock" || n.startsWith("last_reserved_ip.")) continue;
    const content = readFileSync(join(storeDir, n), "utf8");
    expect(content, `record ${n}`).toMatch(/^l\d-\d+-\d+\r\neth0$/);
    records.set(n, content.split("\r\n")[0] as string);
  }
  const all = [...live.values()].flat();
  expect(new Set(all).size, "an address is held by two live containers").toBe(all.length);
  for (const [cid, ips] of live) {
    expect(ips.length, cid).toBe(2);
    for (const ip of ips) expect(records.get(ip), `${cid} lost ${ip}`).toBe(cid);
  }
  expect(records.size, "reservations of containers that are not live").toBe(all.length);
  return live.size;
}

describe("crash safety of the disk store under SIGKILL", () => {
  it(`${LANES} processes, ${ROUNDS} rounds of random SIGKILLs, then recovery and a clean restart`, {
    timeout: 180_000,
  }, async () => {
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Each lane: start a worker, let it allocate for 5-120 ms after it is ready, SIGKILL it, repeat.
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          let seed = round * 31 + lane + 1;
          const rand = (n: number) => {
            seed = (seed * 1103515245 + 12345) % 2147483648;
            return seed % n;
          };
          for (let cycle = 0; cycle < CYCLES; cycle++) {
            const p = start(lane, seed, 1_000_000);
            await ready(p);
            await sleep(5 + rand(115));
            const exited = new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)));
            p.kill("SIGKILL");
            await exited;
            kills++;
          }
        }),
      );
      // Crash recovery (a runtime restart): each lane DELs what it had not finished.
      for (let lane = 0; lane < LANES; lane++) runToEnd(lane, 999, 0);
      verifyStore();
    }
    expect(kills).toBe(LANES * ROUNDS * CYCLES);
    // How many kills interrupted an op (begun, never finished) and how many ops completed.
    let interrupted = 0;
    let done = 0;
    for (let lane = 0; lane < LANES; lane++) {
      const open = new Set<string>();
      for (const line of readFileSync(journal(lane), "utf8").split("\n")) {
        const [phase, verb, cid] = line.split(" ");
        if (!cid) continue;
        const key = `${verb} ${cid}`;
        if (phase === "B") {
          if (open.size > 0) interrupted += open.size;
          open.clear();
          open.add(key);
        } else if (phase === "O") {
          open.delete(key);
          done++;
        }
      }
    }
    console.log(`crash test: ${kills} SIGKILLs, ${interrupted} interrupted ops, ${done} completed ops`);
    expect(interrupted).toBeGreaterThan(30);
    // Restart continues: a clean run of every lane allocates and releases without error.
    for (let lane = 0; lane < LANES; lane++) runToEnd(lane, 4242 + lane, 40);
    const live = verifyStore();
    expect(live).toBeGreaterThan(0);
  });
});
