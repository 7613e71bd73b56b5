import {
  type CmdArgs,
  CniRuntime,
  inProcessExec,
  memoryCacheFs,
  type Plugin,
  parseNetConfList,
  portmapPlugin,
} from "@knet/cni-spec";
import { Dataplane, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

/** A node "node" with a client on 192.168.0.0/24 and a pod wired by a tiny veth plugin. */
function world(): { dp: Dataplane; rt: CniRuntime } {
  const dp = new Dataplane();
  const node = dp.addNamespace("node");
  dp.addNamespace("client");
  dp.addVeth("client", "eth0", "node", "eth1");
  dp.ns("client").addAddress("eth0", "192.168.0.2/24");
  node.addAddress("eth1", "192.168.0.1/24");
  node.setSysctl("net.ipv4.ip_forward", 1);
  const veth: Plugin = {
    add(a: CmdArgs) {
      const pod = dp.addNamespace(a.netns);
      dp.addVeth(a.netns, a.ifName, "node", "vethpod");
      pod.addAddress(a.ifName, "10.88.0.5/24");
      node.addAddress("vethpod", "10.88.0.1/24");
      pod.addRoute({ dst: "default", via: "10.88.0.1" });
      pod.listen({ proto: "tcp", port: 80 });
      return {
        cniVersion: "1.0.0",
        interfaces: [{ name: "vethpod" }, { name: a.ifName, sandbox: a.netns }],
        ips: [{ address: "10.88.0.5/24", gateway: "10.88.0.1", interface: 1 }],
      };
    },
    del() {},
  };
  const rt = new CniRuntime({ exec: inProcessExec({ veth, portmap: portmapPlugin(node) }), fs: memoryCacheFs() });
  return { dp, rt };
}

const LIST = parseNetConfList(
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "pm",
    plugins: [{ type: "veth" }, { type: "portmap", capabilities: { portMappings: true } }],
  }),
);
const ATT = {
  containerId: "c1",
  netns: "pod1",
  ifName: "eth0",
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
};

describe("in-process portmap on netstack", () => {
  it("DNATs hostPort to the container, masquerades hairpin traffic, and DEL removes it", async () => {
    const { dp, rt } = world();
    await rt.addNetworkList(LIST, ATT);
    await rt.checkNetworkList(LIST, ATT);

    const t = dp.send("client", makePacket({ src: "192.168.0.2", dst: "192.168.0.1", dport: 8080 }));
    expect(t.outcome).toMatchObject({ kind: "delivered", ns: "pod1" });
    expect(t.packet.dport).toBe(80);
    expect(t.packet.src.toString()).toBe("192.168.0.2");
    // other ports and UDP are not mapped
    // (they end in the node itself, where nothing listens)
    const other = dp.send("client", makePacket({ src: "192.168.0.2", dst: "192.168.0.1", dport: 8081 }));
    expect(other.outcome).toMatchObject({ ns: "node" });
    expect(other.packet.dport).toBe(8081);
    const udp = dp.send("client", makePacket({ src: "192.168.0.2", dst: "192.168.0.1", dport: 8080, proto: "udp" }));
    expect(udp.outcome).toMatchObject({ ns: "node" });

    // hairpin: the pod reaches itself through the host port, source masqueraded to the node
    const h = dp.send("pod1", makePacket({ src: "10.88.0.5", dst: "192.168.0.1", dport: 8080 }));
    expect(h.outcome).toMatchObject({ kind: "delivered", ns: "pod1" });
    expect(h.packet.src.toString()).toBe("10.88.0.1");

    await rt.delNetworkList(LIST, ATT);
    const after = dp.send("client", makePacket({ src: "192.168.0.2", dst: "192.168.0.1", dport: 8080 }));
    expect(after.outcome).toMatchObject({ ns: "node" });
    expect(after.packet.dport).toBe(8080);
    // DEL again is fine
    await rt.delNetworkList(LIST, ATT);
  });

  it("validates mappings like the reference plugin and needs prevResult", async () => {
    const { rt } = world();
    const bad = { ...ATT, capabilityArgs: { portMappings: [{ hostPort: 70000, containerPort: 80 }] } };
    await expect(rt.addNetworkList(LIST, bad)).rejects.toThrow("Invalid host port number: 70000");
    const alone = parseNetConfList(
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "pm",
        plugins: [{ type: "portmap", capabilities: { portMappings: true } }],
      }),
    );
    await expect(rt.addNetworkList(alone, { ...ATT, containerId: "c2" })).rejects.toThrow(
      "must be called as chained plugin",
    );
  });
});
