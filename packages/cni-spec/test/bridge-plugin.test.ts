import {
  type BridgeTopology,
  bridgePlugin,
  type CmdArgs,
  CniRuntime,
  inProcessExec,
  memoryCacheFs,
  type Plugin,
  parseNetConfList,
} from "@knet/cni-spec";
import { buildTopology, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

/** A static IPAM plugin: one address per call, from a counter. */
function staticIpam(): Plugin & { released: string[] } {
  let next = 2;
  const released: string[] = [];
  return {
    released,
    add: (_a: CmdArgs) => ({ cniVersion: "1.0.0", ips: [{ address: `10.244.1.${next++}/24`, gateway: "10.244.1.1" }] }),
    del: (a: CmdArgs) => {
      released.push(a.containerId);
    },
  };
}

const conflist = parseNetConfList(
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "cbr0",
    plugins: [{ type: "bridge", bridge: "cni0", isGateway: true, mtu: 1450, ipam: { type: "static" } }],
  }),
);

describe("in-process bridge plugin", () => {
  it("ADD writes the veth pair, address and default route; the network works; DEL removes them", async () => {
    const topology: BridgeTopology = { namespaces: [], links: [], routes: [] };
    const ipam = staticIpam();
    const rt = new CniRuntime({
      exec: inProcessExec({ bridge: bridgePlugin({ hostNs: "node", ipam, topology }) }),
      fs: memoryCacheFs(),
    });
    const result = await rt.addNetworkList(conflist, { containerId: "c1", netns: "pod1", ifName: "eth0" });
    expect(result).toMatchObject({ ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1", interface: 2 }] });
    expect(topology.namespaces).toEqual([{ name: "pod1" }]);
    const veth = topology.links[0];
    expect(veth?.kind === "veth" && veth.b.master).toBe("cni0");
    expect(veth?.kind === "veth" && veth.a.mtu).toBe(1450);

    // The written pieces plus a node with the bridge form a working network.
    const dp = buildTopology({
      namespaces: [{ name: "node" }, ...topology.namespaces],
      links: [{ kind: "bridge", ns: "node", name: "cni0", addresses: ["10.244.1.1/24"] }, ...topology.links],
      routes: topology.routes,
    });
    dp.ns("node").listen({ proto: "tcp", port: 10250 });
    expect(dp.exchange("pod1", makePacket({ dst: "10.244.1.1", dport: 10250 })).ok).toBe(true);

    await rt.delNetworkList(conflist, { containerId: "c1", netns: "pod1", ifName: "eth0" });
    expect(topology).toEqual({ namespaces: [], links: [], routes: [] });
    expect(ipam.released).toEqual(["c1"]);
  });

  it("rejects a config without an ipam section with code 7", async () => {
    const topology: BridgeTopology = { namespaces: [], links: [], routes: [] };
    const rt = new CniRuntime({
      exec: inProcessExec({ bridge: bridgePlugin({ hostNs: "node", ipam: staticIpam(), topology }) }),
      fs: memoryCacheFs(),
    });
    const bad = parseNetConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "cbr0", plugins: [{ type: "bridge", bridge: "cni0" }] }),
    );
    await expect(rt.addNetworkList(bad, { containerId: "c2", netns: "pod2", ifName: "eth0" })).rejects.toMatchObject({
      code: 7,
    });
    expect(topology.links).toHaveLength(0);
  });
});
