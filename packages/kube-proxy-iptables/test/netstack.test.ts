import { buildProxyState, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { Dataplane, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

/** client (10.0.1.2) -- node (10.0.1.1 | 10.1.0.1, 10.1.1.1) -- backends b0 10.1.0.2, b1 10.1.1.2 */
function cluster(): { dp: Dataplane; engine: IptablesEngine } {
  const dp = new Dataplane();
  for (const n of ["client", "node", "b0", "b1"]) dp.addNamespace(n);
  dp.addVeth("client", "eth0", "node", "c0");
  dp.ns("client").addAddress("eth0", "10.0.1.2/24");
  dp.ns("node").addAddress("c0", "10.0.1.1/24");
  dp.ns("client").addRoute({ dst: "default", via: "10.0.1.1" });
  for (const k of [0, 1]) {
    dp.addVeth(`b${k}`, "eth0", "node", `b${k}`);
    dp.ns(`b${k}`).addAddress("eth0", `10.1.${k}.2/24`);
    dp.ns("node").addAddress(`b${k}`, `10.1.${k}.1/24`);
    dp.ns(`b${k}`).addRoute({ dst: "default", via: `10.1.${k}.1` });
    dp.ns(`b${k}`).listen({ proto: "tcp", port: 8080 });
  }
  dp.ns("node").addRoute({ dst: "default", via: "10.1.0.2" });
  dp.ns("node").setSysctl("net.ipv4.ip_forward", 1);
  const config = proxyConfig({ nodeName: "node", nodeIPs: ["10.0.1.1"], clusterCIDR: "10.0.0.0/16" });
  const engine = new IptablesEngine({ config, random: seededRandom(4) });
  engine.sync(
    buildProxyState(config, {
      services: [
        service({
          name: "web",
          clusterIP: "172.30.0.10",
          type: "NodePort",
          ports: [{ name: "p80", port: 80, nodePort: 30080 }],
        }),
        service({ name: "empty", clusterIP: "172.30.0.11" }),
      ],
      endpointSlices: [slice("web", ["10.1.0.2", "10.1.1.2"], { ports: [{ name: "p80", port: 8080 }] })],
    }),
  );
  for (const reg of engine.netfilterHooks()) dp.ns("node").registerHook(reg);
  return { dp, engine };
}

describe("the engine's hooks in the netstack pipeline", () => {
  it("a connection to the ClusterIP is DNATed to a backend and the reply is un-NATed", () => {
    const { dp } = cluster();
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const ex = dp.exchange(
        "client",
        makePacket({ src: "10.0.1.2", dst: "172.30.0.10", dport: 80, sport: 41000 + i }),
      );
      expect(ex.ok).toBe(true);
      const out = ex.request.outcome;
      expect(out.kind).toBe("delivered");
      if (out.kind === "delivered") seen.add(out.ns);
    }
    expect([...seen].sort()).toEqual(["b0", "b1"]);
  });

  it("a NodePort connection is DNATed and masqueraded (the backend sees a node address)", () => {
    const { dp } = cluster();
    const ex = dp.exchange("client", makePacket({ src: "10.0.1.2", dst: "10.0.1.1", dport: 30080 }));
    expect(ex.ok).toBe(true);
    expect(ex.request.outcome.kind).toBe("delivered");
    expect(ex.request.packet.dport).toBe(8080);
    expect(["10.1.0.1", "10.1.1.1"]).toContain(ex.request.packet.src.toString());
    // pod traffic to the ClusterIP keeps its source (no masquerade inside the cluster CIDR)
    const pod = dp.exchange("client", makePacket({ src: "10.0.1.2", dst: "172.30.0.10", dport: 80, sport: 42000 }));
    expect(pod.request.packet.src.toString()).toBe("10.0.1.2");
  });

  it("a service without endpoints is rejected by the filter table", () => {
    const { dp } = cluster();
    const t = dp.send("client", makePacket({ src: "10.0.1.2", dst: "172.30.0.11", dport: 80 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", ns: "node" });
  });
});
