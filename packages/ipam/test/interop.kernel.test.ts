// Lock compatibility with the real host-local: our executable and /usr/lib/cni/host-local
// allocate concurrently from one data directory (3 processes of each at a time, dual stack);
// then each releases the other's containers. No address is handed out twice, every
// container holds exactly the pair its ADD returned, and the store ends empty.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";
import { ensureBuilt, execPlugin, ourBinary, realHostLocal } from "./plugin-exec.js";

const work = mkdtempSync(join(tmpdir(), "knet-ipam-interop-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => ensureBuilt(), 120_000);

const config = {
  cniVersion: "1.0.0",
  name: "interop",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.88.0.0/24" }], [{ subnet: "fd00:88::/120" }]], dataDir: work },
};

function addAsync(binary: string, cid: string): Promise<{ rc: number; stdout: string }> {
  const env = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: cid,
    CNI_NETNS: "/var/run/netns/knet-ipam-only",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/usr/lib/cni",
  };
  const js = binary.endsWith("js");
  const p = spawn(js ? process.execPath : binary, js ? [binary] : [], { env, stdio: ["pipe", "pipe", "ignore"] });
  let out = "";
  p.stdout.on("data", (d) => {
    out += d;
  });
  p.stdin.end(JSON.stringify(config));
  return new Promise((resolve) => p.on("close", (rc) => resolve({ rc: rc ?? -1, stdout: out })));
}

describeKernel(
  "knet-host-local and the real host-local share a store",
  { root: false, commands: [realHostLocal] },
  () => {
    it("concurrent ADDs from both never collide; cross DELs empty the store", { timeout: 120_000 }, async () => {
      const got = new Map<string, string[]>();
      for (let wave = 0; wave < 5; wave++) {
        const jobs: Promise<void>[] = [];
        for (let k = 0; k < 6; k++) {
          const real = k % 2 === 0;
          const cid = `${real ? "go" : "ts"}-${wave}-${k}`;
          jobs.push(
            addAsync(real ? realHostLocal : ourBinary, cid).then((r) => {
              expect(r.rc, `${cid}: ${r.stdout}`).toBe(0);
              got.set(
                cid,
                (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips.map(
                  (i) => i.address.split("/")[0] as string,
                ),
              );
            }),
          );
        }
        await Promise.all(jobs);
      }
      const all = [...got.values()].flat();
      expect(all.length).toBe(60);
      expect(new Set(all).size).toBe(60);
      const store = readStoreDir(join(work, "interop"));
      for (const [cid, ips] of got) for (const ip of ips) expect(store[ip], ip).toBe(`${cid}\r\neth0`);
      // Each implementation releases the other's containers.
      for (const cid of got.keys()) {
        const r = execPlugin(cid.startsWith("go") ? ourBinary : realHostLocal, "DEL", config, cid, "eth0");
        expect(r.rc).toBe(0);
      }
      expect(Object.keys(readStoreDir(join(work, "interop"))).sort()).toEqual([
        "last_reserved_ip.0",
        "last_reserved_ip.1",
        "lock",
      ]);
    });
  },
);
