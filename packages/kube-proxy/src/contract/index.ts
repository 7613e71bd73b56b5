/**
 * The contract every proxy engine runs, published as `@knet/kube-proxy/contract` so an
 * engine outside this repository runs the same suite (under its own vitest). It asserts
 * engine-independent outcomes through `ProxyEngine.evaluate`: which backends a packet can reach, reject versus drop, masquerade or not.
 *
 * ```ts
 * import { runProxyContract } from "@knet/kube-proxy/contract";
 * runProxyContract({ mode: "iptables", create: (o) => new IptablesEngine(o) });
 * ```
 */
import type { EndpointSlice, Service } from "@knet/k8s";
import { type HookContext, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";
import {
  buildProxyState,
  ChangeTracker,
  type EngineOptions,
  type ProxyConfigInput,
  type ProxyEngine,
  type ProxyOutcome,
  type ProxyPacket,
  proxyConfig,
  type Random,
  seededRandom,
} from "../index.js";
import { service, slice } from "./fixtures.js";

export type { EndpointFixture, ServiceFixture } from "./fixtures.js";
export { service, slice } from "./fixtures.js";

/** A group of contract tests an engine skips, with the reason (the mode differs there). */
export interface ContractSkip {
  /** Why the mode differs. */
  readonly reason: string;
  /** Test names, as in {@link CONTRACT_TESTS}. */
  readonly tests: readonly string[];
}

/** Options of {@link runProxyContract}. */
export interface ContractOptions {
  /** Mode name for the describe block. */
  readonly mode: string;
  /** Build an engine. */
  readonly create: (options: EngineOptions) => ProxyEngine;
  /** Tests skipped, each with a reason. */
  readonly skip?: readonly ContractSkip[];
}

/** The node every contract test runs on. */
export const CONTRACT_NODE: ProxyConfigInput = {
  nodeName: "node-1",
  nodeIPs: ["192.168.0.2"],
  clusterCIDR: "10.0.0.0/8",
};

/** An engine synced to the given objects. */
export function syncedEngine(
  create: (options: EngineOptions) => ProxyEngine,
  objects: { services: readonly Service[]; endpointSlices: readonly EndpointSlice[] },
  config: ProxyConfigInput = {},
  now: () => number = () => 0,
): ProxyEngine {
  const cfg = proxyConfig({ ...CONTRACT_NODE, ...config });
  const engine = create({ config: cfg, random: seededRandom(7), now });
  engine.sync(buildProxyState({ family: cfg.family, nodeName: cfg.nodeName }, objects), { full: true });
  return engine;
}

/** Evaluate `n` times with a seeded random source; the outcomes. */
export function sample(engine: ProxyEngine, packet: ProxyPacket, n: number, seed = 1): ProxyOutcome[] {
  const random: Random = seededRandom(seed);
  const out: ProxyOutcome[] = [];
  for (let i = 0; i < n; i++)
    out.push(engine.evaluate({ ...packet, sport: 30000 + i }, { random, trace: false }).outcome);
  return out;
}

/** The set of `ip:port` backends reached (non-DNAT outcomes as `kind`). */
export function backends(outcomes: readonly ProxyOutcome[]): string[] {
  return [...new Set(outcomes.map((o) => (o.kind === "dnat" ? `${o.backend.ip}:${o.backend.port}` : o.kind)))].sort();
}

function only(outcomes: readonly ProxyOutcome[]): ProxyOutcome {
  const kinds = new Set(outcomes.map((o) => JSON.stringify(o)));
  expect(kinds.size).toBe(1);
  return outcomes[0] as ProxyOutcome;
}

type Create = (options: EngineOptions) => ProxyEngine;

const POD = "10.0.1.5";
const EXTERNAL = "203.0.113.9";
const NODE_IP = "192.168.0.2";

const cases: Record<string, (create: Create) => void> = {
  "ClusterIP: pod traffic reaches every endpoint, not masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("svc1", ["10.180.0.2", "10.180.0.9", "10.180.0.10"])],
    });
    const outs = sample(e, { src: POD, dst: "172.30.0.41", dport: 80 }, 300);
    expect(backends(outs)).toEqual(["10.180.0.10:80", "10.180.0.2:80", "10.180.0.9:80"]);
    for (const o of outs) expect(o.kind === "dnat" && o.masquerade).toBe(false);
    // Roughly uniform: each of 3 backends gets at least 20% of 300.
    const counts = new Map<string, number>();
    for (const o of outs) if (o.kind === "dnat") counts.set(o.backend.ip, (counts.get(o.backend.ip) ?? 0) + 1);
    for (const c of counts.values()) expect(c).toBeGreaterThan(60);
  },
  "ClusterIP: traffic from outside the cluster CIDR is masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("svc1", ["10.180.0.2"])],
    });
    const o = only(sample(e, { src: EXTERNAL, dst: "172.30.0.41", dport: 80 }, 5));
    expect(o).toEqual({ kind: "dnat", backend: { ip: "10.180.0.2", port: 80 }, masquerade: true });
  },
  "ClusterIP: masqueradeAll masquerades pod traffic": (create) => {
    const e = syncedEngine(
      create,
      {
        services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
        endpointSlices: [slice("svc1", ["10.180.0.2"])],
      },
      { masqueradeAll: true },
    );
    const o = only(sample(e, { src: POD, dst: "172.30.0.41", dport: 80 }, 5));
    expect(o).toEqual({ kind: "dnat", backend: { ip: "10.180.0.2", port: 80 }, masquerade: true });
  },
  "ClusterIP: a port the service does not have is not translated": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("svc1", ["10.180.0.2"])],
    });
    const o = only(sample(e, { src: POD, dst: "172.30.0.41", dport: 81 }, 3));
    expect(o.kind).not.toBe("dnat");
  },
  "UDP service: only UDP is translated": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({ name: "dns", clusterIP: "172.30.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
      ],
      endpointSlices: [slice("dns", ["10.180.1.1"], { ports: [{ name: "dns", port: 5353, protocol: "UDP" }] })],
    });
    const u = only(sample(e, { src: POD, dst: "172.30.0.10", dport: 53, protocol: "udp" }, 3));
    expect(u).toEqual({ kind: "dnat", backend: { ip: "10.180.1.1", port: 5353 }, masquerade: false });
    const t = only(sample(e, { src: POD, dst: "172.30.0.10", dport: 53, protocol: "tcp" }, 3));
    expect(t.kind).not.toBe("dnat");
  },
  "NodePort: external traffic to a node IP is translated and masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({
          name: "np",
          clusterIP: "172.30.0.43",
          type: "NodePort",
          ports: [{ name: "p80", port: 80, nodePort: 30080 }],
        }),
      ],
      endpointSlices: [slice("np", ["10.180.0.3", "10.180.0.4"])],
    });
    const outs = sample(e, { src: EXTERNAL, dst: NODE_IP, dport: 30080 }, 100);
    expect(backends(outs)).toEqual(["10.180.0.3:80", "10.180.0.4:80"]);
    for (const o of outs) expect(o.kind === "dnat" && o.masquerade).toBe(true);
  },
  "NodePort eTP=Local: only local endpoints, not masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({
          name: "np",
          clusterIP: "172.30.0.43",
          type: "NodePort",
          eTP: "Local",
          ports: [{ name: "p80", port: 80, nodePort: 30080 }],
        }),
      ],
      endpointSlices: [
        slice("np", [
          { ip: "10.180.0.3", node: "node-1" },
          { ip: "10.180.0.4", node: "node-2" },
        ]),
      ],
    });
    const o = only(sample(e, { src: EXTERNAL, dst: NODE_IP, dport: 30080 }, 40));
    expect(o).toEqual({ kind: "dnat", backend: { ip: "10.180.0.3", port: 80 }, masquerade: false });
    // Cluster traffic to the ClusterIP still uses every endpoint.
    expect(backends(sample(e, { src: POD, dst: "172.30.0.43", dport: 80 }, 60))).toEqual([
      "10.180.0.3:80",
      "10.180.0.4:80",
    ]);
  },
  "NodePort eTP=Local without local endpoints drops external traffic": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({
          name: "np",
          clusterIP: "172.30.0.43",
          type: "NodePort",
          eTP: "Local",
          ports: [{ name: "p80", port: 80, nodePort: 30080 }],
        }),
      ],
      endpointSlices: [slice("np", [{ ip: "10.180.0.4", node: "node-2" }])],
    });
    expect(only(sample(e, { src: EXTERNAL, dst: NODE_IP, dport: 30080 }, 5)).kind).toBe("drop");
  },
  "LoadBalancer: source ranges allow listed sources and drop others": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({
          name: "lb",
          clusterIP: "172.30.0.45",
          type: "LoadBalancer",
          ports: [{ name: "p80", port: 80, nodePort: 30002 }],
          lbIngress: ["5.6.7.8"],
          sourceRanges: [" 203.0.113.0/25"],
        }),
      ],
      endpointSlices: [slice("lb", ["10.180.0.3"])],
    });
    const ok = only(sample(e, { src: "203.0.113.9", dst: "5.6.7.8", dport: 80 }, 5));
    expect(ok).toEqual({ kind: "dnat", backend: { ip: "10.180.0.3", port: 80 }, masquerade: true });
    expect(only(sample(e, { src: "198.51.100.1", dst: "5.6.7.8", dport: 80 }, 5)).kind).toBe("drop");
    // Source ranges guard only the LB VIP, not the NodePort.
    expect(only(sample(e, { src: "198.51.100.1", dst: NODE_IP, dport: 30002 }, 3)).kind).toBe("dnat");
  },
  "externalIPs: translated and masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "ext", clusterIP: "172.30.0.44", externalIPs: ["192.168.99.33"] })],
      endpointSlices: [slice("ext", ["10.180.0.4"])],
    });
    const o = only(sample(e, { src: EXTERNAL, dst: "192.168.99.33", dport: 80 }, 5));
    expect(o).toEqual({ kind: "dnat", backend: { ip: "10.180.0.4", port: 80 }, masquerade: true });
  },
  "no endpoints: ClusterIP, NodePort and externalIP traffic is rejected": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({
          name: "empty",
          clusterIP: "172.30.0.46",
          type: "NodePort",
          externalIPs: ["192.168.99.44"],
          ports: [{ name: "p80", port: 80, nodePort: 30046 }],
        }),
      ],
      endpointSlices: [],
    });
    expect(only(sample(e, { src: POD, dst: "172.30.0.46", dport: 80 }, 3)).kind).toBe("reject");
    expect(only(sample(e, { src: EXTERNAL, dst: NODE_IP, dport: 30046 }, 3)).kind).toBe("reject");
    expect(only(sample(e, { src: EXTERNAL, dst: "192.168.99.44", dport: 80 }, 3)).kind).toBe("reject");
  },
  "iTP=Local: only local endpoints; none local drops": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({ name: "a", clusterIP: "172.30.0.50", iTP: "Local" }),
        service({ name: "b", clusterIP: "172.30.0.51", iTP: "Local" }),
      ],
      endpointSlices: [
        slice("a", [
          { ip: "10.180.0.5", node: "node-1" },
          { ip: "10.180.0.6", node: "node-2" },
        ]),
        slice("b", [{ ip: "10.180.0.7", node: "node-2" }]),
      ],
    });
    expect(only(sample(e, { src: POD, dst: "172.30.0.50", dport: 80 }, 40))).toEqual({
      kind: "dnat",
      backend: { ip: "10.180.0.5", port: 80 },
      masquerade: false,
    });
    expect(only(sample(e, { src: POD, dst: "172.30.0.51", dport: 80 }, 3)).kind).toBe("drop");
  },
  "terminating fallback: serving terminating endpoints used only when none is ready": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "t", clusterIP: "172.30.0.60" }), service({ name: "u", clusterIP: "172.30.0.61" })],
      endpointSlices: [
        slice("t", [
          { ip: "10.180.0.8", ready: false, serving: true, terminating: true },
          { ip: "10.180.0.9", ready: false, serving: false, terminating: true },
        ]),
        slice("u", [
          { ip: "10.180.1.8", ready: false, serving: true, terminating: true },
          { ip: "10.180.1.9", ready: true },
        ]),
      ],
    });
    expect(backends(sample(e, { src: POD, dst: "172.30.0.60", dport: 80 }, 30))).toEqual(["10.180.0.8:80"]);
    expect(backends(sample(e, { src: POD, dst: "172.30.0.61", dport: 80 }, 30))).toEqual(["10.180.1.9:80"]);
  },
  "session affinity: a client sticks to one endpoint until the timeout": (create) => {
    let now = 1_000_000;
    const e = syncedEngine(
      create,
      {
        services: [service({ name: "aff", clusterIP: "172.30.0.70", affinitySeconds: 100 })],
        endpointSlices: [slice("aff", ["10.180.2.1", "10.180.2.2", "10.180.2.3", "10.180.2.4"])],
      },
      {},
      () => now,
    );
    const first = sample(e, { src: POD, dst: "172.30.0.70", dport: 80 }, 30, 3);
    expect(backends(first)).toHaveLength(1);
    const others = ["10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.4", "10.0.2.5", "10.0.2.6", "10.0.2.7", "10.0.2.8"].map(
      (src, i) => sample(e, { src, dst: "172.30.0.70", dport: 80 }, 1, 100 + i)[0] as ProxyOutcome,
    );
    expect(backends(others).length).toBeGreaterThan(1);
    now += 101_000;
    const after = sample(e, { src: POD, dst: "172.30.0.70", dport: 80 }, 40, 9);
    expect(backends(after).length).toBeGreaterThanOrEqual(1);
    expect(backends(after).every((b) => b.startsWith("10.180.2."))).toBe(true);
  },
  "dual stack: each family's proxier uses that family's ClusterIP and endpoints": (create) => {
    const objects = {
      services: [service({ name: "ds", clusterIP: ["172.30.0.80", "fd00:30::80"] })],
      endpointSlices: [slice("ds", ["10.180.3.1"]), slice("ds", ["fd00:10:180::1"], { family: 6 })],
    };
    const v4 = syncedEngine(create, objects);
    const v6 = syncedEngine(create, objects, { family: 6, nodeIPs: ["fd00:192::2"], clusterCIDR: "fd00:10::/32" });
    expect(only(sample(v4, { src: POD, dst: "172.30.0.80", dport: 80 }, 3))).toEqual({
      kind: "dnat",
      backend: { ip: "10.180.3.1", port: 80 },
      masquerade: false,
    });
    expect(only(sample(v6, { src: "fd00:10:1::5", dst: "fd00:30::80", dport: 80 }, 3))).toEqual({
      kind: "dnat",
      backend: { ip: "fd00:10:180::1", port: 80 },
      masquerade: false,
    });
  },
  "headless and ExternalName services are ignored": (create) => {
    const headless = service({ name: "hl", clusterIP: "None" });
    const extName: Service = {
      ...service({ name: "en", clusterIP: "172.30.0.91" }),
      spec: {
        type: "ExternalName",
        externalName: "example.com",
        clusterIP: "172.30.0.91",
        ports: [{ name: "p80", port: 80 }],
      },
    };
    const state = buildProxyState(
      { family: 4, nodeName: "node-1" },
      {
        services: [headless, extName],
        endpointSlices: [slice("hl", ["10.180.4.1"]), slice("en", ["10.180.4.2"])],
      },
    );
    expect(state.order).toEqual([]);
    const e = syncedEngine(create, { services: [headless, extName], endpointSlices: [slice("hl", ["10.180.4.1"])] });
    expect(only(sample(e, { src: POD, dst: "172.30.0.91", dport: 80 }, 2)).kind).toBe("accept");
  },
  "hairpin: an endpoint reaching itself through the service is masqueraded": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "hp", clusterIP: "172.30.0.95" })],
      endpointSlices: [slice("hp", ["10.180.5.1"])],
    });
    expect(only(sample(e, { src: "10.180.5.1", dst: "172.30.0.95", dport: 80 }, 3))).toEqual({
      kind: "dnat",
      backend: { ip: "10.180.5.1", port: 80 },
      masquerade: true,
    });
  },
  "resync: endpoint changes and deletions take effect": (create) => {
    const cfg = proxyConfig(CONTRACT_NODE);
    const engine = create({ config: cfg, random: seededRandom(3), now: () => 0 });
    const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });
    tracker.updateService(service({ name: "a", clusterIP: "172.30.1.1" }));
    tracker.updateService(service({ name: "b", clusterIP: "172.30.1.2" }));
    tracker.updateEndpointSlice(slice("a", ["10.180.6.1"]));
    tracker.updateEndpointSlice(slice("b", ["10.180.6.2"]));
    engine.sync(tracker.state());
    tracker.updateEndpointSlice(slice("a", ["10.180.6.9"]));
    engine.sync(tracker.state());
    expect(only(sample(engine, { src: POD, dst: "172.30.1.1", dport: 80 }, 5))).toMatchObject({
      kind: "dnat",
      backend: { ip: "10.180.6.9", port: 80 },
    });
    expect(only(sample(engine, { src: POD, dst: "172.30.1.2", dport: 80 }, 5))).toMatchObject({
      backend: { ip: "10.180.6.2", port: 80 },
    });
    tracker.deleteService("ns1", "b");
    tracker.deleteEndpointSlice("ns1", "b-v4");
    engine.sync(tracker.state());
    expect(only(sample(engine, { src: POD, dst: "172.30.1.2", dport: 80 }, 3)).kind).not.toBe("dnat");
    tracker.updateEndpointSlice(slice("a", []));
    engine.sync(tracker.state());
    expect(only(sample(engine, { src: POD, dst: "172.30.1.1", dport: 80 }, 3)).kind).toBe("reject");
  },
  "trace: one decisive step, the rule that translated, masqueraded or rejected": (create) => {
    const e = syncedEngine(create, {
      services: [
        service({ name: "svc1", clusterIP: "172.30.0.41" }),
        service({ name: "svc2", clusterIP: "172.30.0.42" }),
      ],
      endpointSlices: [slice("svc1", ["10.180.0.2"])],
    });
    const decisive = (packet: ProxyPacket) => e.evaluate(packet).trace.filter((s) => s.decisive === true);
    const dnat = decisive({ src: POD, dst: "172.30.0.41", dport: 80 });
    expect(dnat).toHaveLength(1);
    expect(dnat[0]?.matched).toBe(true);
    expect(decisive({ src: EXTERNAL, dst: "172.30.0.41", dport: 80 })).toHaveLength(1);
    expect(decisive({ src: POD, dst: "172.30.0.42", dport: 80 })).toHaveLength(1);
    expect(decisive({ src: POD, dst: "10.180.0.77", dport: 80 })).toHaveLength(0);
  },
  "hooks: the engine attaches through hooks(), which report what they decided": (create) => {
    const e = syncedEngine(create, {
      services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("svc1", ["10.180.0.2"])],
    });
    const seen: string[] = [];
    const regs = e.hooks({
      random: seededRandom(3),
      observe: (d) => seen.push(`${d.hook} ${d.evaluation.outcome.kind}`),
    });
    const pre = regs.find((r) => r.hook === "prerouting");
    expect(regs.some((r) => r.hook === "postrouting")).toBe(true);
    const ctx = { hook: "prerouting", ns: "node", inDev: "eth0", outDev: undefined } as unknown as HookContext;
    const r = pre?.fn(makePacket({ src: POD, dst: "172.30.0.41", dport: 80 }), ctx);
    expect(typeof r === "object" ? r.dnat?.addr.toString() : r).toBe("10.180.0.2");
    expect(pre?.fn(makePacket({ src: POD, dst: "10.180.0.77", dport: 80 }), ctx)).toBe("continue");
    expect(seen).toEqual(["prerouting dnat"]);
  },
};

/** Names of every contract test (use them in {@link ContractSkip.tests}). */
export const CONTRACT_TESTS: readonly string[] = Object.keys(cases);

/**
 * Register the contract tests for an engine in the current vitest file. Skipped
 * tests show up as skipped with their reason.
 */
export function runProxyContract(options: ContractOptions): void {
  const skipped = new Map<string, string>();
  for (const s of options.skip ?? []) {
    for (const t of s.tests) {
      if (!(t in cases)) throw new RangeError(`runProxyContract: unknown test "${t}" in skip list`);
      skipped.set(t, s.reason);
    }
  }
  describe(`ProxyEngine contract: ${options.mode}`, () => {
    for (const [name, body] of Object.entries(cases)) {
      const reason = skipped.get(name);
      if (reason !== undefined) it.skip(`${name} (skipped: ${reason})`, () => {});
      else it(name, () => body(options.create));
    }
  });
}
