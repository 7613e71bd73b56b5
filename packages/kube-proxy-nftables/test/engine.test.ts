import type { EndpointSlice, Service } from "@knet/k8s";
import { buildProxyState, ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { NftablesEngine, NftRuleset, parseNftScript } from "@knet/kube-proxy-nftables";
import { Addr } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });

function engineAt(clock: { t: number }): NftablesEngine {
  return new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], random: seededRandom(5), now: () => clock.t });
}

/** A random mix of services: ClusterIP, NodePort (Cluster/Local), LB with source ranges, affinity, no endpoints. */
function objects(rand: () => number, n: number): { services: Service[]; endpointSlices: EndpointSlice[] } {
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(rand() * 5);
    const name = `s${i}`;
    services.push(
      service({
        name,
        clusterIP: `172.30.${i >> 8}.${i & 255}`,
        ...(kind === 1 ? { type: "NodePort" as const, ports: [{ name: "p80", port: 80, nodePort: 30000 + i }] } : {}),
        ...(kind === 2
          ? {
              type: "NodePort" as const,
              eTP: "Local" as const,
              ports: [{ name: "p80", port: 80, nodePort: 30000 + i }],
            }
          : {}),
        ...(kind === 3
          ? {
              type: "LoadBalancer" as const,
              ports: [{ name: "p80", port: 80, nodePort: 30000 + i }],
              lbIngress: [`5.6.${i >> 8}.${i & 255}`],
              sourceRanges: ["203.0.113.0/25"],
            }
          : {}),
        ...(kind === 4 ? { affinitySeconds: 60 } : {}),
      }),
    );
    const count = Math.floor(rand() * 4);
    const eps = Array.from({ length: count }, (_, k) => ({
      ip: `10.180.${i & 255}.${1 + Math.floor(rand() * 6) + k * 10}`,
      node: rand() < 0.5 ? "node-1" : "node-2",
    }));
    if (count > 0) endpointSlices.push(slice(name, eps));
  }
  return { services, endpointSlices };
}

function mulberry(seed: number): () => number {
  const r = seededRandom(seed);
  return () => r.next();
}

describe("evaluator fast path", () => {
  it("generated code and the tracing interpreter give the same result for every packet", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const rand = mulberry(seed);
      const e = engineAt({ t: 5 });
      e.sync(buildProxyState({ family: 4, nodeName: "node-1" }, objects(rand, 40)));
      const dsts = ["192.168.0.2", "172.30.9.9", "8.8.8.8", "10.180.1.1"];
      for (let i = 0; i < 40; i++) dsts.push(`172.30.0.${i}`, `5.6.0.${i}`);
      const srcs = ["10.0.1.5", "203.0.113.9", "198.51.100.1", "192.168.0.2", "10.180.3.11"];
      for (let k = 0; k < 600; k++) {
        const dst = dsts[Math.floor(rand() * dsts.length)] as string;
        const src = srcs[Math.floor(rand() * srcs.length)] as string;
        const dport = rand() < 0.5 ? 80 : 30000 + Math.floor(rand() * 40);
        const pkt = {
          src: Addr.parse(src),
          dst: Addr.parse(dst),
          proto: rand() < 0.9 ? "tcp" : "udp",
          sport: 1000 + k,
          dport,
        };
        const origin = src === "192.168.0.2" ? ("local" as const) : ("inbound" as const);
        const pickA = seededRandom(k);
        const pickB = seededRandom(k);
        const fast = e.evaluator.evaluate(pkt, { origin, now: 10, random: (n) => Math.floor(pickA.next() * n) });
        const slow = e.evaluator.evaluate(pkt, {
          origin,
          now: 10,
          trace: true,
          random: (n) => Math.floor(pickB.next() * n),
        });
        const strip = (r: typeof fast) => ({ ...r, trace: undefined, dst: r.dst.toString() });
        expect(strip(fast), `${src} -> ${dst}:${dport}`).toEqual(strip(slow));
      }
    }
  });
});

describe("NftablesEngine syncs", () => {
  it("incremental syncs reach the same table as a full sync of the final state", () => {
    for (let seed = 1; seed <= 8; seed++) {
      const rand = mulberry(seed);
      const clock = { t: 0 };
      const inc = engineAt(clock);
      const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });
      let objs = objects(rand, 30);
      for (const s of objs.services) tracker.updateService(s);
      for (const s of objs.endpointSlices) tracker.updateEndpointSlice(s);
      expect(inc.sync(tracker.state()).full).toBe(true);
      for (let step = 0; step < 6; step++) {
        // Change some services' endpoints, delete some, add some.
        const next = objects(rand, 30);
        for (let i = 0; i < 30; i++) {
          const r = rand();
          if (r < 0.2) {
            const s = next.services[i] as Service;
            tracker.updateService(s);
            tracker.deleteEndpointSlice("ns1", `s${i}-v4`);
            const sl = next.endpointSlices.find((x) => x.metadata?.name === `s${i}-v4`);
            if (sl) tracker.updateEndpointSlice(sl);
          } else if (r < 0.25) {
            tracker.deleteService("ns1", `s${i}`);
            tracker.deleteEndpointSlice("ns1", `s${i}-v4`);
          }
        }
        objs = next;
        clock.t += 400;
        const res = inc.sync(tracker.state());
        expect(res.full).toBe(false);
      }
      // Let the stale chains age past 1 s and get deleted.
      clock.t += 2000;
      inc.sync(tracker.state());
      expect(inc.pendingStaleChains).toEqual([]);
      const fresh = engineAt({ t: 0 });
      fresh.sync(tracker.state());
      expect(inc.ruleset.dump()).toBe(fresh.ruleset.dump());
      // A full resync on top of the incremental state also gives the same table.
      inc.sync(tracker.state(), { full: true });
      expect(inc.ruleset.dump()).toBe(fresh.ruleset.dump());
    }
  });

  it("a partial sync writes only the changed service's chains and element changes", () => {
    const clock = { t: 0 };
    const e = engineAt(clock);
    const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });
    for (let i = 0; i < 50; i++) {
      tracker.updateService(service({ name: `s${i}`, clusterIP: `172.30.1.${i}` }));
      tracker.updateEndpointSlice(slice(`s${i}`, [`10.180.1.${i}`]));
    }
    e.sync(tracker.state());
    tracker.updateEndpointSlice(slice("s7", ["10.180.9.7"]));
    clock.t = 100;
    const r = e.sync(tracker.state());
    expect(r.full).toBe(false);
    expect(r.servicePortsWritten).toBe(1);
    const lines = r.payload.trim().split("\n");
    expect(lines.every((l) => l.includes("ns1/s7/"))).toBe(true);
    expect(
      lines.some((l) =>
        /^flush chain ip kube-proxy endpoint-[A-Z2-7]{8}-ns1\/s7\/tcp\/p80__10\.180\.1\.7\/80$/.test(l),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith("add rule") && l.includes("dnat to 10.180.9.7:80"))).toBe(true);
    expect(lines.some((l) => l.startsWith("delete chain"))).toBe(false);
    // The old endpoint chain is deleted by a sync at least 1 s later, in its own transaction.
    clock.t = 600;
    expect(e.sync(tracker.state()).transactions).toEqual([]);
    clock.t = 1200;
    const later = e.sync(tracker.state());
    expect(later.transactions).toHaveLength(1);
    expect(later.transactions[0]).toMatch(
      /^delete chain ip kube-proxy endpoint-[A-Z2-7]{8}-ns1\/s7\/tcp\/p80__10\.180\.1\.7\/80\n$/,
    );
  });

  it("a service port name change of element value is written as delete + add", () => {
    const clock = { t: 0 };
    const e = engineAt(clock);
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(service({ name: "a", clusterIP: "172.30.0.1" }));
    e.sync(t.state());
    t.updateEndpointSlice(slice("a", ["10.180.0.1"]));
    const r = e.sync(t.state());
    const lines = r.payload.trim().split("\n");
    expect(lines).toContain("delete element ip kube-proxy no-endpoint-services { 172.30.0.1 . tcp . 80 }");
    expect(
      lines.some((l) => /^add element ip kube-proxy service-ips \{ 172\.30\.0\.1 \. tcp \. 80 : goto service-/.test(l)),
    ).toBe(true);
    expect(lines.some((l) => l.includes("cluster-ips"))).toBe(false); // unchanged element not rewritten
  });

  it("a failed transaction leaves the rules as they were and forces the next sync to be full", () => {
    const clock = { t: 0 };
    const e = engineAt(clock);
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(service({ name: "a", clusterIP: "172.30.0.1" }));
    t.updateEndpointSlice(slice("a", ["10.180.0.1"]));
    e.sync(t.state());
    t.updateService(service({ name: "b", clusterIP: "172.30.0.2" }));
    t.updateEndpointSlice(slice("a", ["10.180.0.1", "10.180.0.2"]));
    // Someone deletes the table behind kube-proxy's back: the next partial sync cannot apply.
    e.ruleset.apply(parseNftScript("delete table ip kube-proxy\n"));
    expect(() => e.sync(t.state())).toThrow(/No such file or directory/);
    expect(e.ruleset.dump()).toBe("\n");
    const r = e.sync(t.state());
    expect(r.full).toBe(true);
    const fresh = engineAt({ t: 0 });
    fresh.sync(t.state());
    expect(e.ruleset.dump()).toBe(fresh.ruleset.dump());
  });

  it("renders IPv6 tables that parse and evaluate", () => {
    const c6 = proxyConfig({ family: 6, nodeIPs: ["fd00:192::2"], clusterCIDR: "fd00:10::/32" });
    const e = new NftablesEngine({ config: c6, now: () => 0 });
    const st = buildProxyState(
      { family: 6, nodeName: "node-1" },
      {
        services: [
          service({
            name: "v6",
            clusterIP: "fd00:30::5",
            type: "NodePort",
            ports: [{ name: "p80", port: 80, nodePort: 30080 }],
          }),
        ],
        endpointSlices: [slice("v6", ["fd00:10:180::1"], { family: 6 })],
      },
    );
    const text = e.sync(st).payload;
    expect(text).toContain("add table ip6 kube-proxy");
    expect(text).toContain("meta l4proto tcp dnat to [fd00:10:180::1]:80");
    expect(text).toMatch(/add chain ip6 kube-proxy endpoint-[A-Z2-7]{8}-ns1\/v6\/tcp\/p80__fd00\.10\.180\.\.1\/80\n/);
    const rs = new NftRuleset();
    rs.apply(parseNftScript(text));
    expect(rs.dump()).toBe(e.ruleset.dump());
    const o = e.evaluate({ src: "2001:db8::9", dst: "fd00:192::2", dport: 30080 }).outcome;
    expect(o).toEqual({ kind: "dnat", backend: { ip: "fd00:10:180::1", port: 80 }, masquerade: true });
  });
});
