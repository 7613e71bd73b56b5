// GC (CNI 1.1): host-local has none; ours releases every reservation whose attachment is
// not in cni.dev/valid-attachments (legacy ID-only records stay while their container is valid).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dispatch } from "@knet/cni-spec";
import { hostLocal } from "@knet/ipam";
import { afterAll, describe, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "knet-ipam-gc-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const base = {
  cniVersion: "1.1.0",
  name: "gcnet",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.40.0.0/24" }], [{ subnet: "fd00:40::/120" }]], dataDir: work },
};

async function call(verb: string, cid: string, ifname: string, extra: Record<string, unknown> = {}) {
  const env = { CNI_COMMAND: verb, CNI_CONTAINERID: cid, CNI_NETNS: "/x", CNI_IFNAME: ifname, CNI_PATH: "/x" };
  return dispatch(hostLocal(), "knet-host-local", env, JSON.stringify({ ...base, ...extra }));
}

describe("GC", () => {
  it("releases exactly the attachments missing from cni.dev/valid-attachments", async () => {
    for (const [cid, ifname] of [
      ["a", "eth0"],
      ["b", "eth0"],
      ["b", "net1"],
      ["c", "eth0"],
    ] as const) {
      expect((await call("ADD", cid, ifname)).exitCode).toBe(0);
    }
    const dir = join(work, "gcnet");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "10.40.0.200"), "a"); // legacy record of a valid container
    writeFileSync(join(dir, "10.40.0.201"), "gone"); // legacy record of a dead one
    const gc = await call("GC", "", "", {
      "cni.dev/valid-attachments": [
        { containerID: "a", ifname: "eth0" },
        { containerID: "b", ifname: "net1" },
      ],
    });
    expect(gc.exitCode, gc.stdout).toBe(0);
    const owners = Object.entries(readStoreDir(dir))
      .filter(([k]) => k !== "lock" && !k.startsWith("last_reserved_ip"))
      .map(([k, v]) => `${k}=${v}`)
      .sort();
    expect(owners).toEqual([
      "10.40.0.200=a",
      "10.40.0.2=a\r\neth0",
      "10.40.0.4=b\r\nnet1",
      "fd00:40::2=a\r\neth0",
      "fd00:40::4=b\r\nnet1",
    ]);
    // A config below 1.1.0 cannot GC (skel gate).
    const old = await call("GC", "", "", { cniVersion: "1.0.0" });
    expect(old.exitCode).toBe(1);
    expect(JSON.parse(old.stdout).code).toBe(1);
  });
});

describe("hostLocal with memory stores", () => {
  it("keeps host-local semantics in memory, one store per network", async () => {
    const { memoryStores } = await import("@knet/ipam");
    const open = memoryStores();
    const plugin = hostLocal({ openStore: open });
    const conf = { cniVersion: "1.0.0", name: "mem", ipam: { type: "host-local", subnet: "10.41.0.0/29" } };
    const env = (verb: string, cid: string) => ({
      CNI_COMMAND: verb,
      CNI_CONTAINERID: cid,
      CNI_NETNS: "/x",
      CNI_IFNAME: "eth0",
      CNI_PATH: "/x",
    });
    const ips: string[] = [];
    for (const cid of ["a", "b", "c", "d", "e"]) {
      const out = await dispatch(plugin, "x", env("ADD", cid), JSON.stringify(conf));
      ips.push(JSON.parse(out.stdout).ips[0].address);
    }
    expect(ips).toEqual(["10.41.0.2/29", "10.41.0.3/29", "10.41.0.4/29", "10.41.0.5/29", "10.41.0.6/29"]);
    const full = await dispatch(plugin, "x", env("ADD", "f"), JSON.stringify(conf));
    expect(JSON.parse(full.stdout).msg).toBe(
      "failed to allocate for range 0: no IP addresses available in range set: 10.41.0.1-10.41.0.6",
    );
    expect((await dispatch(plugin, "x", env("DEL", "c"), JSON.stringify(conf))).exitCode).toBe(0);
    const again = await dispatch(plugin, "x", env("ADD", "g"), JSON.stringify(conf));
    expect(JSON.parse(again.stdout).ips[0].address).toBe("10.41.0.4/29");
    expect(open.stores.size).toBe(1);
    expect(existsSync("/var/lib/cni/networks/mem")).toBe(false);
  });
});
