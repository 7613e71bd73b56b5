/**
 * Kernel test: Debian's real bridge + host-local + portmap driven by
 * CniRuntime (what `knet cni` runs) into namespaces this test made. The
 * plugins run inside a stand-in "host" namespace (never the root one): the
 * plugin path holds wrappers that `exec ip netns exec HOST /usr/lib/cni/<type>`
 * (bridge finds host-local through CNI_PATH, so IPAM runs there too).
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniRuntime, executableExec, type LoadedNetConfList, parseNetConfList, type Result100 } from "@knet/cni-spec";
import { describeKernel, Netns, uniqueIfName } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

const REAL = "/usr/lib/cni";
const PLUGINS = ["bridge", "host-local", "portmap"].map((p) => join(REAL, p));

describeKernel("real bridge + host-local + portmap through CniRuntime", { commands: ["ip", ...PLUGINS] }, () => {
  let host: Netns | undefined;
  let ctr: Netns | undefined;
  let work = "";
  let wrappers = "";
  let conflist = "";
  const bridge = uniqueIfName("kbr");
  const netName = `knet-kt-${process.pid}`;
  const cid = `knet-ctr-${process.pid}`;

  beforeAll(async () => {
    host = Netns.create("cnihost");
    ctr = Netns.create("cnictr");
    work = await mkdtemp(join(tmpdir(), "knet-cni-kernel-"));
    wrappers = join(work, "bin");
    await mkdir(wrappers);
    // portmap v1.1.1 (Debian's) CHECK compares its IPv4 DNAT rules with ip6tables too
    // whenever ip6tables is usable, so CHECK can never pass; upstream checks each
    // family separately since. Its wrapper gets a PATH without ip6tables.
    const v4only = join(work, "v4only");
    await mkdir(v4only);
    for (const t of ["iptables", "iptables-save", "iptables-restore"]) await symlink(`/usr/sbin/${t}`, join(v4only, t));
    for (const p of ["bridge", "host-local", "portmap", "loopback"]) {
      const w = join(wrappers, p);
      const env = p === "portmap" ? `env PATH=${v4only} ` : "";
      await writeFile(w, `#!/bin/sh\nexec ip netns exec ${host.name} ${env}${REAL}/${p} "$@"\n`);
      await chmod(w, 0o755);
    }
    conflist = join(work, "net.conflist");
    await writeFile(
      conflist,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: netName,
        plugins: [
          {
            type: "bridge",
            bridge,
            isGateway: true,
            ipMasq: true,
            ipam: {
              type: "host-local",
              subnet: "10.213.7.0/24",
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: join(work, "ipam"),
            },
          },
          { type: "portmap", capabilities: { portMappings: true }, snat: true },
        ],
      }),
    );
  });

  afterAll(async () => {
    ctr?.delete();
    host?.delete(); // the bridge, veth ends and nat rules live in here
    if (work) await rm(work, { recursive: true, force: true });
  });

  const runtime = (): CniRuntime =>
    new CniRuntime({ exec: executableExec({ timeoutMs: 30_000 }), path: [wrappers], cacheDir: join(work, "cache") });
  const list = async (): Promise<LoadedNetConfList> => parseNetConfList(await readFile(conflist, "utf8"));
  const attachment = () => ({
    containerId: cid,
    netns: `/run/netns/${ctr?.name}`,
    ifName: "eth0",
    capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] },
  });
  const nat = (): string => host?.must("iptables-save", ["-t", "nat"]) ?? "";
  const ctrAddrs = (): string[] => {
    const j = JSON.parse(ctr?.must("ip", ["-j", "addr", "show"]) ?? "[]") as {
      ifname: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    return j.flatMap((l) =>
      l.addr_info.filter((a) => a.family === "inet").map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`),
    );
  };

  it("add gives the namespace the reported address; check passes; del removes it; del again succeeds", async () => {
    const rt = runtime();
    const l = await list();
    const result = (await rt.addNetworkList(l, attachment())) as Result100;
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.ips).toHaveLength(1);
    const ip = result.ips?.[0] as { address: string; gateway: string; interface: number };
    expect(ip.address).toMatch(/^10\.213\.7\.\d+\/24$/);
    expect(ip.gateway).toBe("10.213.7.1");
    expect(result.interfaces?.[ip.interface]).toMatchObject({ name: "eth0", sandbox: `/run/netns/${ctr?.name}` });
    expect(result.interfaces?.[0]?.name).toBe(bridge);

    // the kernel agrees with the result
    expect(ctrAddrs()).toContain(`eth0 ${ip.address}`);
    expect(ctr?.must("ip", ["route", "show", "default"])).toContain("via 10.213.7.1 dev eth0");
    // the bridge is in the stand-in host namespace with the gateway address
    expect(host?.must("ip", ["-br", "addr", "show", bridge])).toContain("10.213.7.1/24");
    // portmap wrote its DNAT for hostPort 18080 -> <ip>:80 in the host namespace
    const rules = nat();
    expect(rules).toContain("CNI-HOSTPORT-DNAT");
    expect(rules).toMatch(new RegExp(`--dport 18080 .*-j DNAT --to-destination ${ip.address.split("/")[0]}:80`));
    // the result is cached in libcni's format
    const cacheFile = join(work, "cache", "results", `${netName}-${cid}-eth0`);
    const cached = JSON.parse(await readFile(cacheFile, "utf8")) as { kind: string; result: unknown };
    expect(cached.kind).toBe("cniCacheV1");
    expect(cached.result).toEqual(result);
    // host-local reserved the address in the private data dir
    expect(await readdir(join(work, "ipam", netName))).toContain(ip.address.split("/")[0]);

    await rt.checkNetworkList(l, attachment());

    await rt.delNetworkList(l, attachment());
    expect(ctrAddrs()).not.toContain(`eth0 ${ip.address}`);
    expect(ctr?.run("ip", ["link", "show", "eth0"]).code).not.toBe(0);
    expect(nat()).not.toMatch(/--dport 18080/);
    expect(existsSync(cacheFile)).toBe(false);
    expect(await readdir(join(work, "ipam", netName))).not.toContain(ip.address.split("/")[0]);

    // DEL again (no cache, nothing left) succeeds
    await rt.delNetworkList(l, attachment());
  });

  it("CHECK fails after the container's default route is removed (the real plugin's verdict reaches the caller)", async () => {
    const rt = runtime();
    const l = await list();
    await rt.delNetworkList(l, attachment()); // start clean whatever the previous test left
    await rt.addNetworkList(l, attachment());
    await rt.checkNetworkList(l, attachment());
    ctr?.must("ip", ["route", "del", "default"]);
    await expect(rt.checkNetworkList(l, attachment())).rejects.toThrow(/plugin type="bridge" failed \(check\)/);
    await rt.delNetworkList(l, attachment());
    expect(ctr?.run("ip", ["link", "show", "eth0"]).code).not.toBe(0);
  });

  it("the runtime's own prefix option runs a plugin inside the host namespace too", async () => {
    const rt = new CniRuntime({
      exec: executableExec({ prefix: ["ip", "netns", "exec", host?.name ?? ""] }),
      path: [REAL],
      cacheDir: join(work, "cache2"),
    });
    const lo = parseNetConfList(JSON.stringify({ cniVersion: "1.0.0", name: "lo", plugins: [{ type: "loopback" }] }));
    const attach = { containerId: cid, netns: `/run/netns/${ctr?.name}`, ifName: "lo" };
    const r = await rt.addNetworkList(lo, attach);
    expect(JSON.stringify(r)).toContain("127.0.0.1/8");
    expect(ctr?.must("ip", ["-br", "link", "show", "lo"])).toMatch(/UNKNOWN|UP/);
    await rt.delNetworkList(lo, attach);
    expect(ctr?.must("ip", ["-br", "link", "show", "lo"])).toContain("DOWN");
  });
});
