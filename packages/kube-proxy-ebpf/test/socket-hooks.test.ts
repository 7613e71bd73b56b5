import { ChangeTracker, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { Dataplane, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";
import { EbpfEngine } from "../src/index.js";

function setup(): { dp: Dataplane; engine: EbpfEngine } {
  const dp = new Dataplane();
  const a = dp.addNamespace("client");
  const b = dp.addNamespace("backends");
  dp.addVeth("client", "eth0", "backends", "eth0");
  a.addAddress("eth0", "10.0.1.5/24");
  b.addAddress("eth0", "10.0.1.10/24");
  b.addAddress("eth0", "10.0.1.11/24");
  b.listen({ proto: "tcp", port: 8080 });
  b.listen({ proto: "udp", port: 5353 });
  const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["10.0.1.5"], clusterCIDR: "10.0.0.0/16" });
  const engine = new EbpfEngine({ config });
  const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
  t.updateService(service({ name: "web", clusterIP: "10.96.0.20", ports: [{ name: "http", port: 80 }] }));
  t.updateEndpointSlice(slice("web", ["10.0.1.10", "10.0.1.11"], { ports: [{ name: "http", port: 8080 }] }));
  t.updateService(
    service({ name: "dns", clusterIP: "10.96.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
  );
  t.updateEndpointSlice(slice("dns", ["10.0.1.10"], { ports: [{ name: "dns", port: 5353, protocol: "UDP" }] }));
  t.updateService(service({ name: "empty", clusterIP: "10.96.0.30" }));
  engine.sync(t.state());
  for (const reg of engine.socketHooks()) a.registerSocketHook(reg);
  return { dp, engine };
}

describe("EbpfEngine socket hooks in a simulated namespace", () => {
  it("translates at connect() with no NAT step and reports the service address as the peer", () => {
    const { dp } = setup();
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const x = dp.exchange("client", makePacket({ dst: "10.96.0.20", dport: 80, sport: 41000 + i }));
      expect(x.ok).toBe(true);
      expect(x.request.steps.some((s) => s.kind === "nat")).toBe(false);
      expect(x.request.sent.dport).toBe(8080);
      seen.add(x.request.sent.dst.toString());
      expect(x.peer?.addr.toString()).toBe("10.96.0.20");
      expect(x.peer?.port).toBe(80);
    }
    expect([...seen].sort()).toEqual(["10.0.1.10", "10.0.1.11"]);
  });

  it("uses sendmsg/recvmsg for UDP, refuses a service without backends, leaves other traffic alone", () => {
    const { dp } = setup();
    const u = dp.exchange("client", makePacket({ proto: "udp", dst: "10.96.0.10", dport: 53 }));
    expect(u.ok).toBe(true);
    expect(u.peer).toMatchObject({ port: 53 });
    expect(u.peer?.addr.toString()).toBe("10.96.0.10");
    const none = dp.send("client", makePacket({ dst: "10.96.0.30", dport: 80 }));
    expect(none.outcome).toMatchObject({ kind: "dropped", reason: "socket-rejected" });
    const direct = dp.exchange("client", makePacket({ dst: "10.0.1.11", dport: 8080 }));
    expect(direct.ok).toBe(true);
    expect(direct.peer).toBeUndefined();
  });
});
