import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "@knet/cli";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

let dir = "";
let conflist = "";
let cache = "";
let bin = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-cli-cni-"));
  bin = join(dir, "bin");
  cache = join(dir, "cache");
  await import("node:fs/promises").then((fs) => fs.mkdir(bin));
  // a tiny shell plugin: logs each call, ADD answers a fixed 1.0.0 result
  const plugin = join(bin, "shplug");
  await writeFile(
    plugin,
    `#!/bin/sh
stdin=$(cat)
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS" >> "${dir}/calls.log"
case "$CNI_COMMAND" in
  ADD) echo '{"cniVersion":"1.0.0","interfaces":[{"name":"'"$CNI_IFNAME"'","sandbox":"'"$CNI_NETNS"'"}],"ips":[{"address":"10.44.0.7/24","gateway":"10.44.0.1","interface":0}]}' ;;
  DEL|CHECK|GC|STATUS) case "$stdin" in *'"fail":true'*) echo '{"code":11,"msg":"try later"}'; exit 1;; esac ;;
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0","1.1.0"]}' ;;
esac
`,
  );
  await chmod(plugin, 0o755);
  conflist = join(dir, "net.conflist");
  await writeFile(conflist, JSON.stringify({ cniVersion: "1.1.0", name: "clinet", plugins: [{ type: "shplug" }] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = () => ["--conflist", conflist, "--plugin-path", bin, "--cache-dir", cache];

describe("knet cni", () => {
  it("add prints the result JSON and caches it; check, del, del again succeed", async () => {
    const c = capture();
    const code = await main(
      ["cni", "add", ...base(), "--netns", "/var/run/netns/p1", "--container-id", "ctr1", "--ifname", "eth0"],
      c.io,
    );
    expect(c.err()).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(c.out());
    expect(r.cniVersion).toBe("1.1.0");
    expect(r.ips).toEqual([{ address: "10.44.0.7/24", gateway: "10.44.0.1", interface: 0 }]);
    expect(r.interfaces[0]).toEqual({ name: "eth0", sandbox: "/var/run/netns/p1" });
    expect(existsSync(join(cache, "results", "clinet-ctr1-eth0"))).toBe(true);

    const args = [...base(), "--netns", "/var/run/netns/p1", "--container-id", "ctr1"];
    const chk = capture();
    expect(await main(["cni", "check", ...args], chk.io)).toBe(0);
    expect(chk.out()).toBe("");
    expect(await main(["cni", "del", ...args], capture().io)).toBe(0);
    expect(existsSync(join(cache, "results", "clinet-ctr1-eth0"))).toBe(false);
    expect(await main(["cni", "del", ...base(), "--container-id", "ctr1"], capture().io)).toBe(0);
    const calls = (await readFile(join(dir, "calls.log"), "utf8")).trim().split("\n");
    expect(calls).toEqual([
      "ADD ctr1 eth0 /var/run/netns/p1",
      "CHECK ctr1 eth0 /var/run/netns/p1",
      "DEL ctr1 eth0 /var/run/netns/p1",
      "DEL ctr1 eth0",
    ]);
  });

  it("status and gc reach the plugins", async () => {
    await writeFile(join(dir, "calls.log"), "");
    expect(await main(["cni", "add", ...base(), "--netns", "/n/a", "--container-id", "a"], capture().io)).toBe(0);
    expect(await main(["cni", "add", ...base(), "--netns", "/n/b", "--container-id", "b"], capture().io)).toBe(0);
    expect(await main(["cni", "status", ...base()], capture().io)).toBe(0);
    expect(await main(["cni", "gc", ...base(), "--valid", "a/eth0"], capture().io)).toBe(0);
    const calls = (await readFile(join(dir, "calls.log"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => l.trim());
    expect(calls).toEqual(["ADD a eth0 /n/a", "ADD b eth0 /n/b", "STATUS", "DEL b eth0 /n/b", "GC"]);
    expect(existsSync(join(cache, "results", "clinet-a-eth0"))).toBe(true);
    expect(existsSync(join(cache, "results", "clinet-b-eth0"))).toBe(false);
  });

  it("usage errors exit 2 with one line on stderr", async () => {
    for (const argv of [
      ["cni"],
      ["cni", "frob", "--conflist", conflist],
      ["cni", "add", "--netns", "/n", "--container-id", "x"],
      ["cni", "add", ...base(), "--container-id", "x"],
      ["cni", "add", ...base(), "--netns", "/n"],
      ["cni", "add", ...base(), "--bogus"],
      ["cni", "add", ...base(), "--netns", "/n", "--container-id", "x", "--capability-args", "{"],
    ]) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(" ")).toBe(2);
      expect(c.err().trim().split("\n"), argv.join(" ")).toHaveLength(1);
      expect(c.err()).toMatch(/^knet: cni/);
    }
  });

  it("a failing plugin exits 1 (a negative answer); a bad or missing conflist exits 2 (bad input)", async () => {
    const bad = join(dir, "bad.conflist");
    await writeFile(bad, JSON.stringify({ cniVersion: "1.0.0", name: "x", plugins: [{ type: "../../bin/sh" }] }));
    const c1 = capture();
    expect(await main(["cni", "add", "--conflist", bad, "--netns", "/n", "--container-id", "x"], c1.io)).toBe(2);
    expect(c1.err()).toContain("plugins[0].type");
    const failing = join(dir, "fail.conflist");
    await writeFile(
      failing,
      JSON.stringify({ cniVersion: "1.0.0", name: "f", plugins: [{ type: "shplug", fail: true }] }),
    );
    const c2 = capture();
    expect(
      await main(
        ["cni", "del", "--conflist", failing, "--plugin-path", bin, "--cache-dir", cache, "--container-id", "x"],
        c2.io,
      ),
    ).toBe(1);
    expect(c2.err()).toContain('plugin type="shplug" failed (del): try later (CNI error code 11)');
    const c3 = capture();
    expect(
      await main(["cni", "add", "--conflist", join(dir, "missing"), "--netns", "/n", "--container-id", "x"], c3.io),
    ).toBe(2);
    expect(c3.err()).toContain("ENOENT");
  });

  it("a 300-character container ID: add and del succeed, the plugin's allocation is released", async () => {
    // An allocating plugin: ADD records the container, DEL removes it.
    const alloc = join(bin, "allocplug");
    const held = join(dir, "held.txt");
    await writeFile(held, "");
    await writeFile(
      alloc,
      `#!/bin/sh
cat >/dev/null
case "$CNI_COMMAND" in
  ADD) echo "$CNI_CONTAINERID" >> "${held}"; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.45.0.2/24","gateway":"10.45.0.1"}]}' ;;
  DEL) grep -v -x -F "$CNI_CONTAINERID" "${held}" > "${held}.new"; mv "${held}.new" "${held}" ;;
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}' ;;
esac
`,
    );
    await chmod(alloc, 0o755);
    const list = join(dir, "alloc.conflist");
    await writeFile(list, JSON.stringify({ cniVersion: "1.0.0", name: "allocnet", plugins: [{ type: "allocplug" }] }));
    const longCache = join(dir, "long-cache");
    const id = "a".repeat(300);
    const argv = ["--conflist", list, "--plugin-path", bin, "--cache-dir", longCache, "--container-id", id];
    const add = capture();
    expect(await main(["cni", "add", ...argv, "--netns", "/var/run/netns/long"], add.io)).toBe(0);
    expect(add.err()).toBe("");
    expect(JSON.parse(add.out()).ips[0].address).toBe("10.45.0.2/24");
    expect((await readFile(held, "utf8")).trim()).toBe(id);
    const chk = capture();
    expect(await main(["cni", "check", ...argv, "--netns", "/var/run/netns/long"], chk.io)).toBe(0);
    const del = capture();
    expect(await main(["cni", "del", ...argv], del.io)).toBe(0);
    expect(del.err()).toBe("");
    expect((await readFile(held, "utf8")).trim()).toBe("");
    expect(await readdir(join(longCache, "results"))).toEqual([]);
  });
});

describe("knet cni in cnitool's form: NETWORK NETNS with NETCONFPATH, CNI_PATH and friends", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ["NETCONFPATH", "CNI_PATH", "CNI_IFNAME", "CNI_ARGS", "CAP_ARGS"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  async function setup(): Promise<{ netDir: string; log: string; cacheDir: string }> {
    const root = await mkdtemp(join(dir, "cnitool-"));
    const netDir = join(root, "net.d");
    const plugDir = join(root, "bin");
    await mkdir(netDir);
    await mkdir(plugDir);
    const log = join(root, "env.log");
    // Logs what a plugin gets: command, id, ifname, netns, CNI_ARGS, and whether runtimeConfig arrived.
    await writeFile(
      join(plugDir, "envplug"),
      `#!/bin/sh
stdin=$(cat)
rc=no; case "$stdin" in *'"runtimeConfig"'*) rc=yes;; esac
echo "$CNI_COMMAND|$CNI_CONTAINERID|$CNI_IFNAME|$CNI_NETNS|$CNI_ARGS|rc=$rc" >> "${log}"
case "$CNI_COMMAND" in
  ADD) echo '{"cniVersion":"1.0.0","ips":[{"address":"10.46.0.2/24"}]}' ;;
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}' ;;
esac
`,
    );
    await chmod(join(plugDir, "envplug"), 0o755);
    await writeFile(
      join(netDir, "10-other.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "other", plugins: [{ type: "missing" }] }),
    );
    await writeFile(
      join(netDir, "20-pods.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "pods",
        plugins: [{ type: "envplug", capabilities: { portMappings: true } }],
      }),
    );
    await writeFile(
      join(netDir, "30-single.conf"),
      JSON.stringify({ cniVersion: "1.0.0", name: "single", type: "envplug" }),
    );
    await writeFile(join(netDir, "README"), "not a config");
    process.env.NETCONFPATH = netDir;
    process.env.CNI_PATH = `/nonexistent:${plugDir}`;
    return { netDir, log, cacheDir: join(root, "cache") };
  }

  it("add, check, del find the network by name and derive the container id from the netns path", async () => {
    const { log, cacheDir } = await setup();
    process.env.CNI_IFNAME = "net1";
    process.env.CNI_ARGS = "K8S_POD_NAME=web;IgnoreUnknown=1";
    process.env.CAP_ARGS = '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}';
    const netns = resolve("rel/ns1");
    const id = `cnitool-${createHash("sha512").update(netns).digest("hex").slice(0, 20)}`;
    const add = capture();
    expect(await main(["cni", "add", "pods", "rel/ns1", "--cache-dir", cacheDir], add.io)).toBe(0);
    expect(add.err()).toBe("");
    expect(JSON.parse(add.out()).ips[0].address).toBe("10.46.0.2/24");
    expect(existsSync(join(cacheDir, "results", `pods-${id}-net1`))).toBe(true);
    expect(await main(["cni", "check", "pods", "rel/ns1", "--cache-dir", cacheDir], capture().io)).toBe(0);
    expect(await main(["cni", "del", "pods", "rel/ns1", "--cache-dir", cacheDir], capture().io)).toBe(0);
    // A flag still wins over the environment.
    expect(
      await main(
        ["cni", "add", "single", "/var/run/netns/x", "--cache-dir", cacheDir, "--ifname", "eth9"],
        capture().io,
      ),
    ).toBe(0);
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    const xid = `cnitool-${createHash("sha512").update("/var/run/netns/x").digest("hex").slice(0, 20)}`;
    expect(lines).toEqual([
      `ADD|${id}|net1|${netns}|K8S_POD_NAME=web;IgnoreUnknown=1|rc=yes`,
      `CHECK|${id}|net1|${netns}|K8S_POD_NAME=web;IgnoreUnknown=1|rc=yes`,
      `DEL|${id}|net1|${netns}|K8S_POD_NAME=web;IgnoreUnknown=1|rc=yes`,
      `ADD|${xid}|eth9|/var/run/netns/x|K8S_POD_NAME=web;IgnoreUnknown=1|rc=no`,
    ]);
  });

  it("errors as cnitool words them", async () => {
    const { netDir } = await setup();
    const cases: [string[], number, string][] = [
      // A network that is not there is bad input (exit 2), as an unreadable --conflist is.
      [["cni", "add", "nope", "/n"], 2, `no net configuration with name "nope" in ${netDir}`],
      [["cni", "add", "pods"], 2, "network name and namespace are required"],
      [["cni", "add", "pods", "/n", "extra"], 2, "unexpected argument 'extra'"],
      [["cni", "add", "pods", "/n", "--conflist", "x.conflist"], 2, "not both"],
    ];
    for (const [argv, code, msg] of cases) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(" ")).toBe(code);
      expect(c.err(), argv.join(" ")).toContain(msg);
    }
    process.env.CNI_ARGS = "K8S_POD_NAME=";
    const c = capture();
    expect(await main(["cni", "add", "pods", "/n"], c.io)).toBe(2);
    expect(c.err()).toContain('invalid CNI_ARGS pair "K8S_POD_NAME="');
    process.env.NETCONFPATH = join(netDir, "empty");
    await mkdir(process.env.NETCONFPATH);
    const e = capture();
    expect(await main(["cni", "add", "pods", "/n"], e.io)).toBe(2);
    expect(e.err()).toContain(`no net configurations found in ${process.env.NETCONFPATH}`);
  });
});
