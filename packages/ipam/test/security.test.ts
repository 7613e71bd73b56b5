// Hostile names and planted symlinks must never make the store touch anything outside
// <dataDir>/<network>, nor forge another owner's record.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dispatch } from "@knet/cni-spec";
import { DiskStore, hostLocal, hostLocalAdd, IpamError, loadHostLocalConfig } from "@knet/ipam";
import { Addr } from "@knet/netstack";
import { afterEach, describe, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";

let root = "";
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function fresh(): { data: string; outside: string } {
  root = mkdtempSync(join(tmpdir(), "knet-ipam-sec-"));
  const data = join(root, "data");
  const outside = join(root, "outside");
  mkdirSync(data);
  mkdirSync(outside);
  writeFileSync(join(outside, "victim"), "precious");
  return { data, outside };
}

const conf = (name: string, dataDir: string) => ({
  cniVersion: "1.0.0",
  name,
  ipam: { type: "host-local", subnet: "10.66.0.0/29", dataDir },
});

describe("store path safety", () => {
  it("refuses network names that are paths", () => {
    const { data } = fresh();
    for (const name of ["..", ".", "../outside", "a/b", "/etc", "", "x\n", "-x", ".hidden", "a b"]) {
      expect(() => DiskStore.open(data, name), JSON.stringify(name)).toThrow(IpamError);
    }
    expect(existsSync(join(root, "outside", "lock"))).toBe(false);
  });

  it("refuses container IDs and ifnames that could forge records", () => {
    const { data } = fresh();
    const store = DiskStore.open(data, "net");
    store.lock();
    try {
      const ip = Addr.parse("10.66.0.2");
      for (const [id, ifname] of [
        ["a\r\nother", "eth0"],
        ["../x", "eth0"],
        ["ok", "eth0\r\nx"],
        ["ok", "../../x"],
        ["ok", "a/b"],
        ["ok", "waytoolonginterface"],
        ["", "eth0"],
      ] as const) {
        expect(() => store.reserve(id, ifname, ip, "0"), `${JSON.stringify(id)} ${JSON.stringify(ifname)}`).toThrow(
          IpamError,
        );
      }
      expect(() => store.reserve("ok", "eth0", ip, "../../x")).toThrow(IpamError);
    } finally {
      store.close();
    }
    expect(readStoreDir(join(data, "net"))).toEqual({ lock: "" });
  });

  it("the plugin rejects hostile values through the CNI skel before touching disk", async () => {
    const { data } = fresh();
    const env = (cid: string, ifname: string) => ({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: cid,
      CNI_NETNS: "/x",
      CNI_IFNAME: ifname,
      CNI_PATH: "/x",
    });
    const cases: [Record<string, string>, unknown][] = [
      [env("c1", "eth0"), conf("../../outside", data)],
      [env("../c1", "eth0"), conf("net", data)],
      [env("c1", "../eth0"), conf("net", data)],
      [env("c1\r\nc2", "eth0"), conf("net", data)],
    ];
    for (const [e, c] of cases) {
      const out = await dispatch(hostLocal(), "x", e, JSON.stringify(c));
      expect(out.exitCode, JSON.stringify(e)).toBe(1);
    }
    expect(existsSync(join(data, "net"))).toBe(false);
    expect(readFileSync(join(root, "outside", "victim"), "utf8")).toBe("precious");
  });

  it("refuses a store directory that is a symlink", () => {
    const { data, outside } = fresh();
    symlinkSync(outside, join(data, "net"));
    expect(() => DiskStore.open(data, "net")).toThrow(/not a directory/);
  });

  it("never follows planted symlinks for records, last_reserved_ip or lock", () => {
    const { data, outside } = fresh();
    const dir = join(data, "net");
    mkdirSync(dir);
    const victim = join(outside, "victim");
    symlinkSync(victim, join(dir, "10.66.0.2")); // first candidate
    symlinkSync(victim, join(dir, "last_reserved_ip.0"));
    const config = loadHostLocalConfig(conf("net", data));
    const store = DiskStore.open(data, "net");
    try {
      const r = hostLocalAdd(config, { containerId: "c1", ifname: "eth0" }, store);
      // The symlinked name counts as taken; last_reserved_ip.0 pointed nowhere valid, so the scan
      // starts at the range start and .2 is skipped.
      expect(r.ips[0]?.address).toBe("10.66.0.3/29");
    } finally {
      store.close();
    }
    expect(readFileSync(victim, "utf8")).toBe("precious");
    expect(readFileSync(join(dir, "last_reserved_ip.0"), "utf8")).toBe("10.66.0.3");
  });

  it("fails closed when the lock file is a symlink", () => {
    const { data, outside } = fresh();
    const dir = join(data, "net");
    mkdirSync(dir);
    symlinkSync(join(outside, "victim"), join(dir, "lock"));
    const store = DiskStore.open(data, "net");
    expect(() =>
      hostLocalAdd(loadHostLocalConfig(conf("net", data)), { containerId: "c1", ifname: "eth0" }, store),
    ).toThrow(/cannot open lock file/);
    expect(readFileSync(join(outside, "victim"), "utf8")).toBe("precious");
    expect(Object.keys(readStoreDir(dir))).toEqual([]);
  });
});

describe("FileLock", () => {
  it.each(["flock", "helper", "auto"] as const)(
    "(%s) is re-entrant across objects of one path in one process, and excludes other processes",
    async (method) => {
      const { FileLock } = await import("@knet/ipam");
      const { spawnSync } = await import("node:child_process");
      const { data } = fresh();
      const path = join(data, "lock");
      const a = new FileLock(path, { method });
      const b = new FileLock(path, { method });
      a.lock();
      b.lock(); // would deadlock if each object took its own flock
      const probe = () => spawnSync("flock", ["--nonblock", "--exclusive", path, "true"]).status;
      expect(probe()).not.toBe(0); // another process cannot take it
      a.unlock();
      expect(probe()).not.toBe(0); // still held through b
      b.unlock();
      expect(probe()).toBe(0);
    },
  );

  it("the lock helper is one process for many locks (crash.kernel.test.ts SIGKILLs its users)", async () => {
    const { FileLock } = await import("@knet/ipam");
    const { data } = fresh();
    const children = (): string[] =>
      readdirSync(`/proc/${process.pid}/task`)
        .flatMap((t) => readFileSync(`/proc/${process.pid}/task/${t}/children`, "utf8").trim().split(/\s+/))
        .filter((p) => p !== "" && readFileSync(`/proc/${p}/comm`, "utf8").trim() === "perl");
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const l = new FileLock(join(data, `lock${i % 3}`), { method: "helper" });
      l.lock();
      for (const p of children()) seen.add(p);
      l.unlock();
    }
    // The same helper held all 20 locks (flock(1) per lock would show no perl at all).
    expect(seen.size).toBe(1);
  });
});
