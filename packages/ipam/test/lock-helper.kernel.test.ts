// The in-process lock (issue 24 point 3) against real flock(2) holders: the long-lived lock
// helper excludes util-linux flock(1) and the real host-local both ways, and batches of
// in-process ADDs under one lock interleave with concurrent real host-local processes on
// one store without a duplicate address or a lost record.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskStore, FileLock, hostLocalAdd, loadHostLocalConfig } from "@knet/ipam";
import { describeKernel } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";
import { realHostLocal } from "./plugin-exec.js";

const work = mkdtempSync(join(tmpdir(), "knet-ipam-lockhelper-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) resolve(p.exitCode);
    else p.on("exit", (code) => resolve(code ?? -1));
  });
}

function realAdd(dataDir: string, cid: string): { proc: ChildProcess; out: () => string } {
  const config = { cniVersion: "1.0.0", name: "mixed", ipam: { type: "host-local", subnet: "10.93.0.0/24", dataDir } };
  const proc = spawn(realHostLocal, [], {
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: cid,
      CNI_NETNS: "/var/run/netns/knet-ipam-only",
      CNI_IFNAME: "eth0",
      CNI_PATH: "/usr/lib/cni",
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += d;
  });
  proc.stdin?.end(JSON.stringify(config));
  return { proc, out: () => out };
}

describeKernel("the lock helper and real flock(2) holders", { root: false, commands: [realHostLocal] }, () => {
  it("a helper-held lock makes the real host-local wait; flock(1) holding it makes the helper wait", async () => {
    const dataDir = join(work, "wait");
    mkdirSync(join(dataDir, "mixed"), { recursive: true });
    const lockPath = join(dataDir, "mixed", "lock");
    const ours = new FileLock(lockPath, { method: "helper" });
    ours.lock();
    const add = realAdd(dataDir, "go-1");
    await tick(700);
    expect(add.proc.exitCode, "host-local finished while we held the lock").toBeNull();
    const probe = spawnSync("flock", ["--nonblock", "--exclusive", lockPath, "true"]);
    expect(probe.status, "flock(1) got the lock while the helper held it").not.toBe(0);
    ours.unlock();
    expect(await exited(add.proc)).toBe(0);
    expect(JSON.parse(add.out()).ips[0].address).toBe("10.93.0.2/24");

    // The other way round: flock(1) holds the lock for 1.5 s; the helper gives up after 0.3 s.
    const holder = spawn("flock", ["--exclusive", lockPath, "sleep", "1.5"], { stdio: "ignore" });
    await tick(300);
    const waiting = new FileLock(lockPath, { method: "helper", timeoutSeconds: 0.3 });
    expect(() => waiting.lock()).toThrow(/cannot lock .*timed out/);
    await exited(holder);
    waiting.lock();
    waiting.unlock();
  });

  it("batches of in-process ADDs and real host-local processes share a store without collisions", async () => {
    const dataDir = join(work, "mixed");
    const conf = loadHostLocalConfig({
      cniVersion: "1.0.0",
      name: "mixed",
      ipam: { type: "host-local", subnet: "10.93.0.0/24", dataDir },
    });
    const store = DiskStore.open(dataDir, "mixed", { lockMethod: "helper" });
    const real: ReturnType<typeof realAdd>[] = [];
    const ours = new Map<string, string>();
    try {
      for (let wave = 0; wave < 8; wave++) {
        for (let k = 0; k < 3; k++) real.push(realAdd(dataDir, `go-${wave}-${k}`));
        store.withLock(() => {
          for (let k = 0; k < 6; k++) {
            const id = `ts-${wave}-${k}`;
            const r = hostLocalAdd(conf, { containerId: id, ifname: "eth0" }, store);
            ours.set(id, r.ips[0]?.address.split("/")[0] as string);
          }
        });
        await tick(20);
      }
      const codes = await Promise.all(real.map((r) => exited(r.proc)));
      expect(codes.every((c) => c === 0)).toBe(true);
    } finally {
      store.close();
    }
    const theirs = new Map(
      real.map((r, i) => [
        `go-${Math.floor(i / 3)}-${i % 3}`,
        JSON.parse(r.out()).ips[0].address.split("/")[0] as string,
      ]),
    );
    const all = [...ours.values(), ...theirs.values()];
    expect(all.length).toBe(24 + 48);
    expect(new Set(all).size).toBe(all.length);
    // Every address handed out has the record of the container it was handed to.
    const records = readStoreDir(join(dataDir, "mixed"));
    for (const [id, ip] of [...ours, ...theirs]) expect(records[ip], `${id} ${ip}`).toBe(`${id}\r\neth0`);
    expect(Object.keys(records).filter((n) => n.startsWith(".knet-tmp"))).toEqual([]);
  });
});
