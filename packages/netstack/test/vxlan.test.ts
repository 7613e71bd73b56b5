import { buildTopology, flannelTopology, formatTrace, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

describe("pod to pod across two nodes over VXLAN (flannel layout)", () => {
  it("names every hop, the encapsulation and the MTU budget", () => {
    const dp = buildTopology(flannelTopology());
    dp.ns("pod2a").listen({ proto: "tcp", port: 8080 });
    const t = dp.send("pod1a", makePacket({ dst: "10.244.2.2", dport: 8080, size: 1450 }));
    expect(t.outcome).toMatchObject({ kind: "delivered", ns: "pod2a", dev: "eth0", socket: { port: 8080 } });
    const hops = t.steps.filter(
      (s) => s.kind === "recv" || s.kind === "xmit" || s.kind === "encap" || s.kind === "decap" || s.kind === "bridge",
    );
    expect(hops.map((s) => `${s.kind} ${s.ns}/${s.dev}`)).toEqual([
      "xmit pod1a/eth0",
      "bridge node1/cni0", // frame for cni0's MAC: up the stack
      "recv node1/cni0",
      "xmit node1/flannel.1",
      "encap node1/flannel.1",
      "xmit node1/eth0",
      "recv node2/eth0",
      "decap node2/flannel.1",
      "recv node2/flannel.1",
      "xmit node2/cni0",
      "bridge node2/cni0", // learned nothing yet: flood, veth2a takes it
      "xmit node2/veth2a",
      "recv pod2a/eth0",
    ]);
    const encap = t.steps.find((s) => s.kind === "encap");
    expect(encap?.note).toContain("vni 1");
    expect(encap?.note).toContain("192.168.56.12:8472");
    expect(encap?.note).toContain("inner 1450 B (mtu 1450) + 50 B");
    expect(encap?.note).toContain("outer 1500 B");
    // The outer packet on the underlay: UDP 8472 between the node addresses, 1500 bytes.
    const underlay = t.steps.find((s) => s.kind === "xmit" && s.ns === "node1" && s.dev === "eth0");
    expect(underlay?.note).toMatch(
      /^udp 192\.168\.56\.11:\d+ > 192\.168\.56\.12:8472 len 1500 \(vxlan vni 1: tcp 10\.244\.1\.2:40000 > 10\.244\.2\.2:8080 \[S\] len 1450\)/,
    );
    // Routing decisions name the flannel route and the pod default route.
    const text = formatTrace(t);
    expect(text).toContain("10.244.2.0/24 via 10.244.2.0 dev flannel.1");
    expect(text).toContain("default via 10.244.1.1 dev eth0");
    expect(t.packet.ttl).toBe(62); // two routers: node1 and node2
  });

  it("one byte over the budget with DF is refused at the pod's eth0", () => {
    const dp = buildTopology(flannelTopology());
    const t = dp.send("pod1a", makePacket({ dst: "10.244.2.2", size: 1451 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "mtu-exceeded", ns: "pod1a", dev: "eth0" });
  });

  it("a pod with a 1500 MTU hits the 1450 VXLAN MTU at the node (frag needed)", () => {
    const topo = flannelTopology();
    const links = (topo.links ?? []).map((l) =>
      l.kind === "veth" && l.a.ns === "pod1a" ? { ...l, a: { ...l.a, mtu: 1500 }, b: { ...l.b, mtu: 1500 } } : l,
    );
    const dp = buildTopology({ ...topo, links });
    dp.ns("node1").setMtu("cni0", 1500);
    const t = dp.send("pod1a", makePacket({ dst: "10.244.2.2", size: 1500 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "mtu-exceeded", ns: "node1", dev: "flannel.1" });
    // Without DF the node fragments instead and the packet arrives.
    const t2 = dp.send("pod1a", makePacket({ dst: "10.244.2.2", size: 1500, df: false }));
    expect(t2.outcome.kind).toBe("delivered");
  });

  it("a TCP handshake completes and conntrack on the nodes stays empty (no rules)", () => {
    const dp = buildTopology(flannelTopology({ nodes: 3, podsPerNode: 2 }));
    dp.ns("pod3b").listen({ proto: "tcp", port: 80 });
    const x = dp.exchange("pod1a", makePacket({ dst: "10.244.3.3", dport: 80 }));
    expect(x.ok).toBe(true);
    expect(x.reply?.outcome).toMatchObject({ kind: "delivered", ns: "pod1a" });
    // Across the underlay bridge namespace too.
    expect(x.request.steps.some((s) => s.ns === "underlay" && s.kind === "bridge")).toBe(true);
  });
});
