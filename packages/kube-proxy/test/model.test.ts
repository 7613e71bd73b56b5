import type { EndpointSlice, Service } from "@knet/k8s";
import {
  buildProxyState,
  ChangeTracker,
  categorizeEndpoints,
  diffProxyState,
  type Endpoint,
  type EngineOptions,
  Proxier,
  type ProxyEngine,
  type ProxyLog,
  ProxyModelError,
  type ProxyState,
  parseCIDRSloppy,
  parseIPSloppy,
  proxyConfig,
  type ServicePort,
  type SyncResult,
  servicePortsFor,
  sliceEndpoints,
  trafficPlan,
} from "@knet/kube-proxy";
import { FakeClock } from "@knet/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { service, slice } from "../src/contract/fixtures.js";

/** A {@link ProxyLog} that records `object: field: message` lines. */
function logTo(lines: string[]): ProxyLog {
  return (s) => lines.push(`${s.object}: ${s.field}: ${s.message}`);
}

describe("servicePortsFor", () => {
  it("builds one record per port for the proxier's family, with kube-proxy's derived fields", () => {
    const svc: Service = {
      ...service({
        name: "lb",
        clusterIP: ["172.30.0.5", "fd00::5"],
        type: "LoadBalancer",
        eTP: "Local",
        healthCheckNodePort: 31000,
        externalIPs: ["192.168.99.1", "fd00:99::1"],
        sourceRanges: [" 10.0.0.0/8 ", "fd00::/8"],
        affinitySeconds: 60,
        ports: [
          { name: "http", port: 80, nodePort: 30080 },
          { name: "dns", port: 53, protocol: "UDP" },
        ],
      }),
      status: {
        loadBalancer: { ingress: [{ ip: "1.2.3.4" }, { ip: "5.6.7.8", ipMode: "Proxy" }, { ip: "fd00:1b::1" }] },
      },
    };
    const v4 = servicePortsFor(svc, 4);
    expect(v4.map((p) => [p.spn, p.protocol, p.clusterIP.toString(), p.nodePort])).toEqual([
      ["ns1/lb:http", "tcp", "172.30.0.5", 30080],
      ["ns1/lb:dns", "udp", "172.30.0.5", 0],
    ]);
    const p = v4[0] as ServicePort;
    expect(p.externalIPs.map(String)).toEqual(["192.168.99.1"]);
    expect(p.loadBalancerVIPs.map(String)).toEqual(["1.2.3.4"]);
    expect(p.loadBalancerSourceRanges.map(String)).toEqual(["10.0.0.0/8"]);
    expect(p.healthCheckNodePort).toBe(31000);
    expect(p.sessionAffinitySeconds).toBe(60);
    expect([p.externallyAccessible, p.externalPolicyLocal, p.usesClusterEndpoints, p.usesLocalEndpoints]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    const v6 = servicePortsFor(svc, 6);
    expect(v6[0]?.clusterIP.toString()).toBe("fd00::5");
    expect(v6[0]?.loadBalancerVIPs.map(String)).toEqual(["fd00:1b::1"]);
  });

  it("ignores headless and ExternalName services and services without a ClusterIP of the family", () => {
    expect(servicePortsFor(service({ name: "h", clusterIP: "None" }), 4)).toEqual([]);
    expect(servicePortsFor(service({ name: "v6only", clusterIP: "fd00::1" }), 4)).toEqual([]);
    const en: Service = {
      metadata: { namespace: "a", name: "b" },
      spec: { type: "ExternalName", externalName: "x.example" },
    };
    expect(servicePortsFor(en, 4)).toEqual([]);
  });

  it("healthCheckNodePort only for LoadBalancer with eTP=Local; default affinity timeout 10800", () => {
    const np = servicePortsFor(
      service({
        name: "np",
        clusterIP: "10.96.0.1",
        type: "NodePort",
        eTP: "Local",
        healthCheckNodePort: 31000,
        ports: [{ port: 80, nodePort: 30001 }],
      }),
      4,
    )[0] as ServicePort;
    expect(np.healthCheckNodePort).toBe(0);
    expect(np.spn).toBe("ns1/np");
    const s: Service = { ...service({ name: "a", clusterIP: "10.96.0.2" }) };
    const aff = servicePortsFor({ ...s, spec: { ...s.spec, sessionAffinity: "ClientIP" } }, 4)[0] as ServicePort;
    expect(aff.sessionAffinitySeconds).toBe(10800);
  });

  it("bad input names the object and the field", () => {
    const bad = service({ name: "odd", clusterIP: "10.96.0.3" });
    const withFamily = { ...bad, spec: { ...bad.spec, ipFamilies: ["IPv5"] } };
    expect(() => servicePortsFor(withFamily, 4)).toThrow(ProxyModelError);
    expect(() => servicePortsFor(withFamily, 4)).toThrow(
      'Service ns1/odd: spec.ipFamilies[0]: "IPv5" is not IPv4 or IPv6',
    );
    // An address kube-proxy cannot read is skipped with a log line, as kube-proxy does.
    const badIP = { ...bad, spec: { ...bad.spec, clusterIP: "10.96.0.300", clusterIPs: ["10.96.0.300"] } };
    const log: string[] = [];
    expect(servicePortsFor(badIP, 4, logTo(log))).toEqual([]);
    expect(log).toEqual(['Service ns1/odd: spec.clusterIPs[0]: Skipping invalid IP "10.96.0.300"']);
    const mismatch = { ...bad, spec: { ...bad.spec, ipFamilies: ["IPv6"] } };
    expect(() => servicePortsFor(mismatch, 4)).toThrow(/does not match/);
  });
});

describe("parseIPSloppy / parseCIDRSloppy", () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const padded = (n: number, zeros: number): string => `${"0".repeat(zeros)}${n}`;
  it("leading zeros are decimal: any zero-padding of an IPv4 address is that address, written canonically", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(octet, fc.nat(3)), { minLength: 4, maxLength: 4 }), fc.nat(32), (parts, len) => {
        const canonical = parts.map(([n]) => n).join(".");
        const sloppy = parts.map(([n, z]) => padded(n, z)).join(".");
        expect(parseIPSloppy(sloppy).toString()).toBe(canonical);
        const cidr = parseCIDRSloppy(`${sloppy}/${padded(len, 1)}`);
        expect(cidr.toString()).toBe(parseCIDRSloppy(`${canonical}/${len}`).toString());
        expect(cidr.length).toBe(len);
      }),
    );
  });
  it.each([["10.0.0.256"], ["10.0.0"], ["1.2.3.4.5"], ["10.0.0.1x"], [""], ["fd00::g"]])("%j is still invalid", (t) =>
    expect(() => parseIPSloppy(t)).toThrow(),
  );
  it.each([["10.0.0.0/33"], ["10.0.0.0"], ["10.0.0.0/x"], ["fd00::/129"]])("CIDR %j is still invalid", (t) =>
    expect(() => parseCIDRSloppy(t)).toThrow(),
  );
  it("IPv6 with an embedded dotted quad reads the quad leniently too", () => {
    expect(parseIPSloppy("::ffff:010.001.002.003").toString()).toBe(parseIPSloppy("::ffff:10.1.2.3").toString());
  });
});

describe("sliceEndpoints and merging", () => {
  it("reads conditions with kube-proxy's defaults and marks local endpoints", () => {
    const s = slice("svc", [
      { ip: "10.0.0.1", node: "me" },
      { ip: "10.0.0.2", ready: false, terminating: true },
    ]);
    const [port] = sliceEndpoints(s, 4, "me");
    expect(port?.endpoints.map((e) => [e.endpoint, e.isLocal, e.ready, e.serving, e.terminating])).toEqual([
      ["10.0.0.1:80", true, true, true, false],
      ["10.0.0.2:80", false, false, true, true],
    ]);
    expect(sliceEndpoints(s, 6, "me")).toEqual([]);
  });

  it("an address kube-proxy cannot read is skipped with a log line naming the slice, index and value", () => {
    const s = slice("svc", ["10.0.0.1", "10.0.0.999"]);
    const log: string[] = [];
    const [port] = sliceEndpoints(s, 4, "n", logTo(log));
    expect(port?.endpoints.map((e) => e.endpoint)).toEqual(["10.0.0.1:80"]);
    expect(log).toEqual(['EndpointSlice ns1/svc-v4: endpoints[1].addresses[0]: Skipping invalid IP "10.0.0.999"']);
    const t = new ChangeTracker({ family: 4, nodeName: "n", log: logTo(log) });
    t.updateService(service({ name: "svc", clusterIP: "10.96.0.9" }));
    t.updateEndpointSlice(s);
    expect(
      t
        .state()
        .endpoints.get("ns1/svc:p80/tcp")
        ?.map((e) => e.endpoint),
    ).toEqual(["10.0.0.1:80"]);
    const wrongFamily: EndpointSlice = { ...slice("svc", ["fd00::1"]), addressType: "IPv4" };
    expect(sliceEndpoints(wrongFamily, 4, "n", logTo(log))[0]?.endpoints).toEqual([]);
    expect(log.at(-1)).toMatch(/Skipping "fd00::1": not an IPv4 address/);
  });

  it("reads addresses as netutils ParseIPSloppy/ParseCIDRSloppy do and writes the canonical form", () => {
    // Issue 16.3's examples: leading zeros are decimal, not octal.
    const svc = service({ name: "svc", clusterIP: "172.30.0.041" });
    const odd = {
      ...svc,
      spec: {
        ...svc.spec,
        type: "LoadBalancer" as const,
        externalIPs: ["192.0.2.010", "not-an-ip", " "],
        loadBalancerSourceRanges: ["203.0.113.000/025", "10.0.0.0/33", ""],
      },
    };
    const log: string[] = [];
    const [sp] = servicePortsFor(odd, 4, logTo(log));
    expect(sp?.clusterIP.toString()).toBe("172.30.0.41");
    expect(sp?.externalIPs.map(String)).toEqual(["192.0.2.10"]);
    expect(sp?.loadBalancerSourceRanges.map(String)).toEqual(["203.0.113.0/25"]);
    expect(log).toEqual([
      'Service ns1/svc: spec.externalIPs[1]: Skipping invalid IP "not-an-ip"',
      'Service ns1/svc: spec.loadBalancerSourceRanges[1]: Invalid CIDR ignored "10.0.0.0/33"',
    ]); // blank entries are dropped without a line, as kube-proxy drops them
    const [eps] = sliceEndpoints(slice("svc", ["10.000.0.007"]), 4, "n");
    expect(eps?.endpoints.map((e) => e.endpoint)).toEqual(["10.0.0.7:80"]);
  });

  it("endpoints are ordered by the ip:port string and de-duplicated across slices", () => {
    const state = buildProxyState(
      { family: 4, nodeName: "n" },
      {
        services: [service({ name: "svc", clusterIP: "10.96.0.9" })],
        endpointSlices: [
          slice("svc", ["10.0.0.2", "10.0.0.10"], { name: "a" }),
          slice("svc", ["10.0.0.9", { ip: "10.0.0.2", node: "n" }], { name: "b" }),
        ],
      },
    );
    const eps = state.endpoints.get("ns1/svc:p80/tcp") ?? [];
    expect(eps.map((e) => e.endpoint)).toEqual(["10.0.0.10:80", "10.0.0.2:80", "10.0.0.9:80"]);
    expect(eps.find((e) => e.ip === "10.0.0.2")?.isLocal).toBe(true);
  });
});

const arbEndpoint = fc.record({
  ip: fc.integer({ min: 1, max: 40 }).map((n) => `10.0.0.${n}`),
  node: fc.constantFrom("me", "other"),
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
  zones: fc.option(fc.subarray(["z1", "z2"], { minLength: 1 }), { nil: undefined }),
});

function epsOf(
  list: readonly {
    ip: string;
    node: string;
    ready: boolean;
    serving: boolean;
    terminating: boolean;
    zones?: string[] | undefined;
  }[],
): Endpoint[] {
  const s = slice(
    "svc",
    list.map(({ zones, ...e }) => (zones ? { ...e, zones } : e)),
  );
  const ps = sliceEndpoints(s, 4, "me");
  const byKey = new Map<string, Endpoint>();
  for (const e of ps[0]?.endpoints ?? []) byKey.set(e.endpoint, e);
  return [...byKey.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

/** One service port of each traffic-policy shape, for the endpoint-selection tests. */
const ports = {
  cluster: servicePortsFor(service({ name: "svc", clusterIP: "10.96.0.1" }), 4)[0] as ServicePort,
  iLocal: servicePortsFor(service({ name: "svc", clusterIP: "10.96.0.1", iTP: "Local" }), 4)[0] as ServicePort,
  eLocal: servicePortsFor(
    service({
      name: "svc",
      clusterIP: "10.96.0.1",
      type: "NodePort",
      eTP: "Local",
      ports: [{ name: "p80", port: 80, nodePort: 30000 }],
    }),
    4,
  )[0] as ServicePort,
};

describe("categorizeEndpoints (properties)", () => {
  it("cluster endpoints are the ready ones, or serving+terminating ones only when none is ready", () => {
    fc.assert(
      fc.property(fc.array(arbEndpoint, { maxLength: 12 }), (list) => {
        const eps = epsOf(list);
        const c = categorizeEndpoints(eps, ports.cluster, { nodeName: "me" });
        const ready = eps.filter((e) => e.ready);
        if (ready.length > 0) {
          expect(c.clusterEndpoints.every((e) => e.ready)).toBe(true);
          if (c.topologyMode === "") expect(c.clusterEndpoints).toEqual(ready);
        } else {
          expect(c.clusterEndpoints).toEqual(eps.filter((e) => e.serving && e.terminating));
        }
        expect(c.hasAnyEndpoints).toBe(c.clusterEndpoints.length > 0);
        expect(c.localEndpoints).toEqual([]);
        expect(c.allReachableEndpoints).toEqual(c.clusterEndpoints);
      }),
    );
  });

  it("Local policy: local ready endpoints, else local serving+terminating; reachable = cluster ∪ local", () => {
    fc.assert(
      fc.property(
        fc.array(arbEndpoint, { maxLength: 12 }),
        fc.constantFrom("iLocal", "eLocal") as fc.Arbitrary<"iLocal" | "eLocal">,
        (list, which) => {
          const eps = epsOf(list);
          const c = categorizeEndpoints(eps, ports[which], { nodeName: "me", zone: "z1" });
          const localReady = eps.filter((e) => e.isLocal && e.ready);
          const want = localReady.length > 0 ? localReady : eps.filter((e) => e.isLocal && e.serving && e.terminating);
          expect(c.localEndpoints).toEqual(want);
          expect(c.hasAnyEndpoints).toBe(eps.some((e) => e.ready || (e.serving && e.terminating)));
          const union = new Set([...c.clusterEndpoints, ...c.localEndpoints].map((e) => e.endpoint));
          expect(c.allReachableEndpoints.map((e) => e.endpoint)).toEqual([...union].sort());
          if (which === "iLocal") expect(c.clusterEndpoints).toEqual([]);
        },
      ),
    );
  });

  it("zone hints narrow cluster endpoints only when every ready endpoint has hints and one is for this zone", () => {
    const eps = epsOf([
      { ip: "10.0.0.1", node: "a", ready: true, serving: true, terminating: false, zones: ["z1"] },
      { ip: "10.0.0.2", node: "b", ready: true, serving: true, terminating: false, zones: ["z2"] },
    ]);
    const c = categorizeEndpoints(eps, ports.cluster, { nodeName: "me", zone: "z1" });
    expect(c.topologyMode).toBe("PreferSameZone");
    expect(c.clusterEndpoints.map((e) => e.ip)).toEqual(["10.0.0.1"]);
    expect(categorizeEndpoints(eps, ports.cluster, { nodeName: "me", zone: "z9" }).clusterEndpoints).toHaveLength(2);
    const partial = epsOf([
      { ip: "10.0.0.1", node: "a", ready: true, serving: true, terminating: false, zones: ["z1"] },
      { ip: "10.0.0.2", node: "b", ready: true, serving: true, terminating: false },
    ]);
    expect(categorizeEndpoints(partial, ports.cluster, { nodeName: "me", zone: "z1" }).clusterEndpoints).toHaveLength(
      2,
    );
  });
});

describe("ChangeTracker", () => {
  type Op =
    | { kind: "svc"; i: number; ip: number; port: number }
    | { kind: "delsvc"; i: number }
    | { kind: "slice"; i: number; eps: number[] }
    | { kind: "delslice"; i: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("svc" as const),
      i: fc.integer({ min: 0, max: 5 }),
      ip: fc.integer({ min: 1, max: 9 }),
      port: fc.constantFrom(80, 81),
    }),
    fc.record({ kind: fc.constant("delsvc" as const), i: fc.integer({ min: 0, max: 5 }) }),
    fc.record({
      kind: fc.constant("slice" as const),
      i: fc.integer({ min: 0, max: 5 }),
      eps: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant("delslice" as const), i: fc.integer({ min: 0, max: 5 }) }),
  );

  it("incremental states equal a state built from scratch, and unchanged entries keep their identity", () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 5 }), { maxLength: 6 }), (batches) => {
        const t = new ChangeTracker({ family: 4, nodeName: "n" });
        const svcs = new Map<number, Service>();
        const slices = new Map<number, EndpointSlice>();
        let prev: ProxyState | undefined;
        for (const batch of batches) {
          for (const o of batch) {
            if (o.kind === "svc") {
              const s = service({
                name: `s${o.i}`,
                clusterIP: `10.96.0.${o.ip}`,
                ports: [{ name: "p80", port: o.port }],
              });
              svcs.set(o.i, s);
              t.updateService(s);
            } else if (o.kind === "delsvc") {
              svcs.delete(o.i);
              t.deleteService("ns1", `s${o.i}`);
            } else if (o.kind === "slice") {
              const s = slice(
                `s${o.i}`,
                o.eps.map((e) => `10.1.0.${e}`),
              );
              slices.set(o.i, s);
              t.updateEndpointSlice(s);
            } else {
              slices.delete(o.i);
              t.deleteEndpointSlice("ns1", `s${o.i}-v4`);
            }
          }
          const touched = new Set(batch.map((o) => `ns1/s${o.i}`));
          const got = t.state();
          const want = buildProxyState(
            { family: 4, nodeName: "n" },
            { services: [...svcs.values()], endpointSlices: [...slices.values()] },
          );
          expect(got.order).toEqual(want.order);
          expect(diffProxyState(got, want)).toEqual({ added: [], removed: [], changed: [] });
          if (prev) {
            for (const [k, sp] of got.servicePorts) {
              if (!touched.has(sp.serviceKey) && prev.servicePorts.has(k)) expect(prev.servicePorts.get(k)).toBe(sp);
            }
            if (got !== prev) expect(got.changes?.since).toBe(prev.generation);
          }
          prev = got;
        }
      }),
      { numRuns: 80 },
    );
  });
});

function countingEngine(
  fail: () => boolean,
): ProxyEngine & { syncs: { full: boolean; ports: number; at: number }[]; clock?: FakeClock } {
  const config = proxyConfig({ minSyncPeriodMs: 1000, syncPeriodMs: 30000 });
  const syncs: { full: boolean; ports: number; at: number }[] = [];
  const e = {
    mode: "fake",
    config,
    syncs,
    sync(state: ProxyState, o: { full?: boolean } = {}): SyncResult {
      if (fail()) throw new Error("restore failed");
      syncs.push({ full: o.full === true, ports: state.order.length, at: -1 });
      return { full: o.full === true, payload: "", servicePortsWritten: 0, servicePortsDeleted: 0 };
    },
    render: () => "",
    evaluate: () => ({ outcome: { kind: "accept" as const, masquerade: false }, trace: [] }),
    hooks: () => [],
  };
  return e;
}

describe("Proxier (sync loop)", () => {
  it("waits for both initial lists, then coalesces bursts within minSyncPeriod into one sync", () => {
    const clock = new FakeClock();
    const engine = countingEngine(() => false);
    const p = new Proxier({ engine, tracker: new ChangeTracker({ family: 4, nodeName: "n" }), clock, burst: 1 });
    p.onServiceUpdate(service({ name: "a", clusterIP: "10.96.0.1" }));
    p.onServicesSynced();
    expect(engine.syncs).toHaveLength(0);
    p.onEndpointSlicesSynced();
    expect(engine.syncs).toEqual([{ full: true, ports: 1, at: -1 }]);
    for (let i = 2; i < 12; i++) {
      clock.advance(50);
      p.onServiceUpdate(service({ name: `s${i}`, clusterIP: `10.96.0.${i}` }));
    }
    expect(engine.syncs).toHaveLength(1);
    clock.advance(1000);
    expect(engine.syncs).toHaveLength(2);
    expect(engine.syncs[1]).toEqual({ full: false, ports: 11, at: -1 });
    // periodic resync
    clock.advance(30_000);
    expect(engine.syncs.length).toBeGreaterThanOrEqual(3);
    p.stop();
  });

  it("a failed sync makes the next one full and retries after syncPeriod", () => {
    const clock = new FakeClock();
    let failing = false;
    const engine = countingEngine(() => failing);
    const errors: unknown[] = [];
    const p = new Proxier({
      engine,
      tracker: new ChangeTracker({ family: 4, nodeName: "n" }),
      clock,
      onError: (e) => errors.push(e),
    });
    p.onServicesSynced();
    p.onEndpointSlicesSynced();
    clock.advance(2000);
    failing = true;
    p.onServiceUpdate(service({ name: "a", clusterIP: "10.96.0.1" }));
    expect(errors).toHaveLength(1);
    failing = false;
    clock.advance(30_000);
    expect(engine.syncs.at(-1)).toEqual({ full: true, ports: 1, at: -1 });
    p.stop();
  });

  it("a burst of 2 runs back to back, then the rate limit applies", () => {
    const clock = new FakeClock();
    const engine = countingEngine(() => false);
    const p = new Proxier({
      engine,
      tracker: new ChangeTracker({ family: 4, nodeName: "n" }),
      clock,
      minSyncPeriodMs: 1000,
    });
    p.onServicesSynced();
    p.onEndpointSlicesSynced();
    p.requestSync();
    p.requestSync();
    p.requestSync();
    expect(engine.syncs).toHaveLength(2);
    clock.advance(999);
    expect(engine.syncs).toHaveLength(2);
    clock.advance(1);
    expect(engine.syncs).toHaveLength(3);
    p.stop();
  });
});

export type { EngineOptions };

describe("trafficPlan", () => {
  it("decides every path from the categorized endpoints: reject with none anywhere, drop with none local", () => {
    fc.assert(
      fc.property(
        fc.array(arbEndpoint, { maxLength: 12 }),
        fc.constantFrom("cluster", "iLocal", "eLocal"),
        (list, which) => {
          const sp = ports[which as keyof typeof ports];
          const eps = epsOf(list);
          const plan = trafficPlan(sp, eps, { nodeName: "me", zone: "z1" });
          expect(plan.categorized).toEqual(categorizeEndpoints(eps, sp, { nodeName: "me", zone: "z1" }));
          const { hasAnyEndpoints, clusterEndpoints, localEndpoints } = plan.categorized;
          for (const [path, local] of [
            [plan.internal, sp.internalPolicyLocal],
            [plan.external, sp.externalPolicyLocal],
          ] as const) {
            expect(path.policy).toBe(local ? "Local" : "Cluster");
            expect(path.endpoints).toEqual(local ? localEndpoints : clusterEndpoints);
            expect(path.hasEndpoints).toBe(hasAnyEndpoints && (!local || localEndpoints.length > 0));
            expect(path.whenEmpty).toBe(path.hasEndpoints ? undefined : hasAnyEndpoints ? "drop" : "reject");
          }
          expect(plan.usesClusterPolicy).toBe(clusterEndpoints.length > 0 && sp.usesClusterEndpoints);
          expect(plan.usesLocalPolicy).toBe(localEndpoints.length > 0 && sp.usesLocalEndpoints);
          expect(plan.usesExternalPath).toBe(hasAnyEndpoints && sp.externallyAccessible);
          expect(plan.masqueradeExternal).toBe(!sp.externalPolicyLocal);
        },
      ),
    );
  });

  it("externalTrafficPolicy Local with endpoints only elsewhere: cluster IP works, node port drops", () => {
    const eps = epsOf([{ ip: "10.0.0.7", node: "other", ready: true, serving: true, terminating: false }]);
    const plan = trafficPlan(ports.eLocal, eps, { nodeName: "me" });
    expect(plan.internal).toMatchObject({ policy: "Cluster", hasEndpoints: true, whenEmpty: undefined });
    expect(plan.external).toMatchObject({ policy: "Local", hasEndpoints: false, whenEmpty: "drop" });
    expect(plan.usesExternalPath).toBe(true);
    expect(trafficPlan(ports.eLocal, [], { nodeName: "me" }).external.whenEmpty).toBe("reject");
  });
});
