import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bandwidthPlugin,
  type CmdArgs,
  CniError,
  CniRuntime,
  cacheFileName,
  chainExec,
  inProcessExec,
  loopbackPlugin,
  memoryCacheFs,
  type Plugin,
  PluginError,
  parseNetConfList,
  type Result100,
  recordingLoopback,
} from "@knet/cni-spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A main plugin that "creates" eth0 and returns a fixed address; records every call. */
function recorder(log: string[], name: string): Plugin {
  return {
    add(a: CmdArgs) {
      log.push(
        `${name} ADD prev=${a.config.prevResult ? "yes" : "no"} rc=${JSON.stringify(a.config.runtimeConfig ?? null)}`,
      );
      if (a.config.prevResult) return a.config.prevResult as Result100;
      return {
        cniVersion: "1.0.0",
        interfaces: [{ name: a.ifName, sandbox: a.netns }],
        ips: [{ address: "10.22.0.5/24", gateway: "10.22.0.1", interface: 0 }],
      };
    },
    del(a) {
      log.push(`${name} DEL prev=${a.config.prevResult ? "yes" : "no"} args=${a.args}`);
    },
    check(a) {
      log.push(`${name} CHECK prev=${a.config.prevResult ? "yes" : "no"}`);
    },
    status() {
      log.push(`${name} STATUS`);
    },
    gc(a) {
      log.push(`${name} GC ${JSON.stringify(a.config["cni.dev/valid-attachments"])}`);
    },
  };
}

const LIST = {
  cniVersion: "1.1.0",
  name: "podnet",
  plugins: [
    { type: "main" },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "bandwidth", capabilities: { bandwidth: true } },
  ],
};
const RT = {
  containerId: "c1",
  netns: "/var/run/netns/c1",
  ifName: "eth0",
  args: [
    ["K8S_POD_NAME", "web"],
    ["IgnoreUnknown", "1"],
  ] as [string, string][],
  capabilityArgs: {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    bandwidth: { ingressRate: 1000000, ingressBurst: 100000 },
    mac: "c2:11:22:33:44:55",
  },
};

describe("CniRuntime with in-process plugins", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "knet-cni-cache-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("ADD chains prevResult, injects only declared capabilities, caches in libcni's format", async () => {
    const log: string[] = [];
    const limits = new Map();
    const rt = new CniRuntime({
      exec: inProcessExec({
        main: recorder(log, "main"),
        portmap: recorder(log, "portmap"),
        bandwidth: bandwidthPlugin(limits),
      }),
      cacheDir: dir,
    });
    const list = parseNetConfList(JSON.stringify(LIST));
    const result = (await rt.addNetworkList(list, RT)) as Result100;
    expect(result.cniVersion).toBe("1.1.0");
    expect(result.ips?.[0]?.address).toBe("10.22.0.5/24");
    expect(log).toEqual([
      "main ADD prev=no rc=null",
      `portmap ADD prev=yes rc=${JSON.stringify({ portMappings: RT.capabilityArgs.portMappings })}`,
    ]);
    expect(limits.get("c1/eth0")).toEqual({
      ingressRate: 1000000,
      ingressBurst: 100000,
      egressRate: 0,
      egressBurst: 0,
    });

    const file = join(dir, "results", "podnet-c1-eth0");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "results"))).mode & 0o777).toBe(0o700);
    const cached = JSON.parse(await readFile(file, "utf8"));
    expect(Object.keys(cached)).toEqual([
      "kind",
      "containerId",
      "config",
      "ifName",
      "networkName",
      "netns",
      "cniArgs",
      "capabilityArgs",
      "result",
    ]);
    expect(cached.kind).toBe("cniCacheV1");
    expect(Buffer.from(cached.config, "base64").toString()).toBe(JSON.stringify(LIST));
    expect(cached.cniArgs).toEqual(RT.args);
    expect(cached.result).toEqual(result);

    log.length = 0;
    await rt.checkNetworkList(list, RT);
    expect(log).toEqual(["main CHECK prev=yes", "portmap CHECK prev=yes"]);

    log.length = 0;
    await rt.delNetworkList(list, RT);
    expect(log).toEqual([
      "portmap DEL prev=yes args=K8S_POD_NAME=web;IgnoreUnknown=1",
      "main DEL prev=yes args=K8S_POD_NAME=web;IgnoreUnknown=1",
    ]);
    expect(limits.size).toBe(0);
    await expect(stat(file)).rejects.toThrow();
    // DEL again: no cache, no prevResult, still succeeds
    log.length = 0;
    await rt.delNetworkList(list, RT);
    expect(log).toEqual([
      "portmap DEL prev=no args=K8S_POD_NAME=web;IgnoreUnknown=1",
      "main DEL prev=no args=K8S_POD_NAME=web;IgnoreUnknown=1",
    ]);
    // CHECK after DEL: no cached result
    await expect(rt.checkNetworkList(list, RT)).rejects.toThrow(/no cached result/);
  });

  it("a 300-character container ID: cached under a shortened name, CHECK, DEL and GC work, nothing leaks", async () => {
    const held = new Map<string, string>();
    let next = 2;
    const allocating: Plugin = {
      add(a) {
        const ip = `10.23.0.${next++}`;
        held.set(`${a.containerId}/${a.ifName}`, ip);
        return { cniVersion: "1.0.0", ips: [{ address: `${ip}/24`, gateway: "10.23.0.1" }] };
      },
      del(a) {
        held.delete(`${a.containerId}/${a.ifName}`);
      },
      check(a) {
        if (!held.has(`${a.containerId}/${a.ifName}`)) throw new CniError(11, "not allocated");
      },
    };
    const cacheDir = join(dir, "long");
    const rt = new CniRuntime({ exec: inProcessExec({ alloc: allocating }), cacheDir });
    const list = parseNetConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "longnet", plugins: [{ type: "alloc" }] }),
    );
    const id = `c${"0123456789abcdef".repeat(19)}`.slice(0, 300);
    const att = { containerId: id, netns: "/var/run/netns/long", ifName: "eth0" };
    expect(cacheFileName("longnet", id, "eth0")).toBe(
      `${`longnet-${id}-eth0`.slice(0, 150)}-sha256-${createHash("sha256").update(`longnet-${id}-eth0`).digest("hex")}`,
    );
    // A name that fits stays libcni's.
    expect(cacheFileName("longnet", id.slice(0, 200), "eth0")).toBe(`longnet-${id.slice(0, 200)}-eth0`);

    const result = (await rt.addNetworkList(list, att)) as Result100;
    expect(result.ips?.[0]?.address).toBe("10.23.0.2/24");
    const files = await readdir(join(cacheDir, "results"));
    expect(files).toHaveLength(1);
    expect(Buffer.byteLength(files[0] as string)).toBeLessThanOrEqual(255);
    expect((await rt.getCachedAttachments(id)).map((a) => a.containerId)).toEqual([id]);
    expect(await rt.getCachedResult(list, att)).toEqual(result);
    await rt.checkNetworkList(list, att);
    await rt.delNetworkList(list, att);
    expect(held.size).toBe(0);
    expect(await readdir(join(cacheDir, "results"))).toEqual([]);
    await rt.delNetworkList(list, att);

    // GC finds a stale long-ID attachment through its cache entry and DELs it.
    await rt.addNetworkList(list, att);
    await rt.gcNetworkList(list, []);
    expect(held.size).toBe(0);
    expect(await readdir(join(cacheDir, "results"))).toEqual([]);
  });

  it("stops at the first failing plugin and reports which one, with its code", async () => {
    const failing: Plugin = {
      add() {
        throw new CniError(11, "pool busy", "retry");
      },
      del() {},
    };
    const rt = new CniRuntime({ exec: inProcessExec({ main: failing, portmap: failing }), fs: memoryCacheFs() });
    const err = await rt.addNetworkList(parseNetConfList(JSON.stringify(LIST)), RT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).code).toBe(11);
    expect((err as PluginError).plugin).toBe("main");
    expect((err as PluginError).message).toMatch(/^plugin type="main" failed \(add\): pool busy/);
  });

  it("version gates: CHECK needs 0.4.0, disableCheck skips; STATUS/GC plugin calls need 1.1.0", async () => {
    const log: string[] = [];
    const fs = memoryCacheFs();
    const rt = new CniRuntime({ exec: inProcessExec({ main: recorder(log, "main") }), fs });
    const old = parseNetConfList(JSON.stringify({ cniVersion: "0.3.1", name: "n", plugins: [{ type: "main" }] }));
    await expect(rt.checkNetworkList(old, RT)).rejects.toThrow(
      'configuration version "0.3.1" does not support the CHECK command',
    );
    const off = parseNetConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "n", disableCheck: true, plugins: [{ type: "main" }] }),
    );
    await rt.checkNetworkList(off, RT);
    await rt.statusNetworkList(off);
    expect(log).toEqual([]);
    const v11 = parseNetConfList(JSON.stringify({ cniVersion: "1.1.0", name: "n", plugins: [{ type: "main" }] }));
    await rt.statusNetworkList(v11);
    expect(log).toEqual(["main STATUS"]);
  });

  it("STATUS returns the plugin's 50/51 code", async () => {
    const down: Plugin = {
      add: () => ({ cniVersion: "1.0.0" }),
      del() {},
      status() {
        throw new CniError(50, "plugin not available");
      },
    };
    const rt = new CniRuntime({ exec: inProcessExec({ main: down }), fs: memoryCacheFs() });
    const l = parseNetConfList(JSON.stringify({ cniVersion: "1.1.0", name: "n", plugins: [{ type: "main" }] }));
    await expect(rt.statusNetworkList(l)).rejects.toMatchObject({ code: 50 });
  });

  it("GC deletes cached attachments not in the valid set, then sends GC with valid-attachments", async () => {
    const log: string[] = [];
    const fs = memoryCacheFs();
    const rt = new CniRuntime({ exec: inProcessExec({ main: recorder(log, "main") }), fs });
    const l = parseNetConfList(JSON.stringify({ cniVersion: "1.1.0", name: "n", plugins: [{ type: "main" }] }));
    const other = parseNetConfList(JSON.stringify({ cniVersion: "1.1.0", name: "other", plugins: [{ type: "main" }] }));
    for (const id of ["keep", "stale1", "stale2"]) {
      await rt.addNetworkList(l, { containerId: id, netns: `/ns/${id}`, ifName: "eth0", args: [["A", id]] });
    }
    await rt.addNetworkList(other, { containerId: "stale3", netns: "/ns/x", ifName: "eth0" });
    log.length = 0;
    await rt.gcNetworkList(l, [{ containerID: "keep", ifname: "eth0" }]);
    expect(log).toEqual([
      "main DEL prev=yes args=A=stale1",
      "main DEL prev=yes args=A=stale2",
      'main GC [{"containerID":"keep","ifname":"eth0"}]',
    ]);
    expect((await rt.getCachedAttachments()).map((a) => `${a.networkName}/${a.containerId}`)).toEqual([
      "n/keep",
      "other/stale3",
    ]);
    log.length = 0;
    await rt.gcNetworkList({ ...l, disableGC: true }, []);
    expect(log).toEqual([]);
  });

  it("in-process loopback: lo up on ADD with the reference result, passes prevResult through", async () => {
    const lo = recordingLoopback();
    const rt = new CniRuntime({ exec: inProcessExec({ loopback: loopbackPlugin(lo) }), fs: memoryCacheFs() });
    const l = parseNetConfList(JSON.stringify({ cniVersion: "0.4.0", name: "lo", plugins: [{ type: "loopback" }] }));
    const r = await rt.addNetworkList(l, { containerId: "c", netns: "/ns/c", ifName: "lo" });
    expect(r).toEqual({
      cniVersion: "0.4.0",
      interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: "/ns/c" }],
      ips: [
        { version: "4", interface: 0, address: "127.0.0.1/8" },
        { version: "6", interface: 0, address: "::1/128" },
      ],
    });
    expect(lo.upIn.has("/ns/c")).toBe(true);
    await rt.checkNetworkList(l, { containerId: "c", netns: "/ns/c", ifName: "lo" });
    await rt.delNetworkList(l, { containerId: "c", netns: "/ns/c", ifName: "lo" });
    expect(lo.upIn.size).toBe(0);
  });

  it("in-process bandwidth validates rate/burst like the reference plugin", async () => {
    const rt = new CniRuntime({
      exec: inProcessExec({ loopback: loopbackPlugin(), bandwidth: bandwidthPlugin() }),
      fs: memoryCacheFs(),
    });
    const l = parseNetConfList(
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "bw",
        plugins: [{ type: "loopback" }, { type: "bandwidth", ingressRate: 100 }],
      }),
    );
    await expect(rt.addNetworkList(l, { containerId: "c", netns: "/ns/c", ifName: "lo" })).rejects.toThrow(
      "if rate is set, burst must also be set",
    );
    const alone = parseNetConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "bw", plugins: [{ type: "bandwidth" }] }),
    );
    await expect(rt.addNetworkList(alone, { containerId: "c", netns: "/ns/c", ifName: "lo" })).rejects.toThrow(
      "must be called as chained plugin",
    );
  });

  it("validateNetworkList uses VERSION and returns the enabled capabilities", async () => {
    const rt = new CniRuntime({
      exec: inProcessExec({
        main: { plugin: recorder([], "m"), about: { supportedVersions: ["0.4.0", "1.0.0"] } },
        portmap: recorder([], "p"),
        bandwidth: recorder([], "b"),
      }),
      fs: memoryCacheFs(),
    });
    await expect(rt.validateNetworkList(parseNetConfList(JSON.stringify(LIST)))).rejects.toMatchObject({
      code: 1,
      field: "plugins[0]",
    });
    const caps = await rt.validateNetworkList(parseNetConfList(JSON.stringify({ ...LIST, cniVersion: "1.0.0" })));
    expect(caps).toEqual(["bandwidth", "portMappings"]);
  });

  it("rejects a bad container id / ifname before running anything", async () => {
    const log: string[] = [];
    const rt = new CniRuntime({ exec: chainExec(inProcessExec({ main: recorder(log, "main") })), fs: memoryCacheFs() });
    const l = parseNetConfList(JSON.stringify({ cniVersion: "1.0.0", name: "n", plugins: [{ type: "main" }] }));
    await expect(rt.addNetworkList(l, { ...RT, containerId: "a b" })).rejects.toMatchObject({ code: 4 });
    await expect(rt.addNetworkList(l, { ...RT, ifName: "much-too-long-name" })).rejects.toMatchObject({ code: 4 });
    expect(log).toEqual([]);
  });
});

describe("result cache compatibility", () => {
  it("reads an old-style cache file that is a bare result, and libcni's cniCacheV1 files", async () => {
    const fs = memoryCacheFs();
    const rt = new CniRuntime({ exec: inProcessExec({}), fs, cacheDir: "/c" });
    const l = parseNetConfList(JSON.stringify({ cniVersion: "1.0.0", name: "n", plugins: [{ type: "x" }] }));
    const att = { containerId: "c", netns: "/ns", ifName: "eth0" };
    fs.files.set(
      "/c/results/n-c-eth0",
      JSON.stringify({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.0.0.2/24" }] }),
    );
    expect(await rt.getCachedResult(l, att)).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
    fs.files.set(
      "/c/results/n-c-eth0",
      JSON.stringify({
        kind: "cniCacheV1",
        containerId: "c",
        config: Buffer.from("{}").toString("base64"),
        ifName: "eth0",
        networkName: "n",
        result: { cniVersion: "1.0.0", ips: [{ address: "10.0.0.3/24" }] },
      }),
    );
    expect(await rt.getCachedResult(l, att)).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.3/24" }] });
    expect((await rt.getCachedAttachments("c")).map((a) => a.networkName)).toEqual(["n"]);
    expect(await rt.getCachedAttachments("other")).toEqual([]);
  });
});
