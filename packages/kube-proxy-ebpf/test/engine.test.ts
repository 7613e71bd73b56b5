import { ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { Addr, Prefix } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeBackendKey,
  encodeBackendValue,
  encodeRevNatKey,
  encodeRevNatValue,
  encodeServiceKey,
  encodeServiceValue,
  encodeSourceRangeKey,
} from "../src/encode.js";
import {
  decodeBackend,
  decodeRevNat,
  decodeService,
  decodeSourceRange,
  EbpfEngine,
  hashTupleV4,
  jhash3words,
  renderFullBatch,
} from "../src/index.js";

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });

/** Applies `bpftool batch` text to in-memory maps (pinned path -> hex key -> hex value). */
class BatchMaps {
  readonly maps = new Map<string, Map<string, string>>();
  apply(text: string): void {
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const w = line.split(" ");
      if (w[0] !== "map") throw new Error(`not a map command: ${line}`);
      const path = w[3] as string;
      const m = this.maps.get(path) ?? new Map<string, string>();
      this.maps.set(path, m);
      if (w[1] === "create") continue;
      const k = w.indexOf("key");
      const v = w.indexOf("value");
      if (w[1] === "update") {
        const key = w.slice(k + 2, v).join(" ");
        const value = w[v + 1] === "pinned" ? `-> ${w[v + 2]}` : w.slice(v + 2).join(" ");
        m.set(key, value);
      } else if (w[1] === "delete") {
        const key = w.slice(k + 2).join(" ");
        if (!m.has(key)) throw new Error(`delete of a missing key: ${line}`);
        m.delete(key);
      } else throw new Error(`unknown map command: ${line}`);
    }
  }
  /** Contents with Maglev inner maps inlined and empty maps dropped. */
  snapshot(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [path, m] of this.maps) {
      if (path.includes("knet_lb") || m.size === 0) continue;
      const rec: Record<string, string> = {};
      for (const [k, v] of [...m].sort())
        rec[k] = v.startsWith("-> ") ? JSON.stringify([...(this.maps.get(v.slice(3)) ?? [])].sort()) : v;
      out[path] = rec;
    }
    return out;
  }
}

describe("map encodings round-trip", () => {
  const v4 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => Addr.v4(n));
  it("service entries", () => {
    fc.assert(
      fc.property(
        v4,
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom(0, 6, 17, 132),
        fc.constantFrom(0 as const, 1 as const),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        (addr, port, proto, scope, slot, backendId, revNat, flags) => {
          const e = { addr, port, proto, scope, slot, backendId, count: slot % 7, qcount: slot % 3, revNat, flags };
          expect(decodeService(4, encodeServiceKey(e), encodeServiceValue(e))).toEqual(e);
        },
      ),
    );
  });
  it("backend, reverse-NAT and source-range entries", () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (addr, id, len) => {
        const b = { id, addr, port: id & 0xffff, proto: 6, state: id % 4 };
        expect(decodeBackend(4, encodeBackendKey(id), encodeBackendValue(b))).toEqual(b);
        const r = { id: id & 0xffff, addr, port: 80 };
        expect(decodeRevNat(4, encodeRevNatKey(r.id), encodeRevNatValue(r))).toEqual(r);
        const s = { revNat: r.id, prefix: Prefix.of(addr, len, true) };
        const d = decodeSourceRange(4, encodeSourceRangeKey(s));
        expect(d.revNat).toBe(s.revNat);
        expect(d.prefix.equals(s.prefix)).toBe(true);
      }),
    );
  });
});

describe("EbpfEngine", () => {
  it("rejects bad flags with the flag name", () => {
    expect(() => new EbpfEngine({ config, maglevTableSize: 1000 })).toThrow(/--maglev-table-size 1000/);
    expect(() => new EbpfEngine({ config, maglevHashSeed: "short" })).toThrow(/--maglev-hash-seed/);
    expect(() => new EbpfEngine({ config, algorithm: "rr" as "random" })).toThrow(/--lb-algorithm "rr"/);
  });

  it("an incremental sync writes only what changed, deletions last", () => {
    const engine = new EbpfEngine({ config });
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(service({ name: "a", clusterIP: "172.30.0.1" }));
    t.updateService(service({ name: "b", clusterIP: "172.30.0.2" }));
    t.updateEndpointSlice(slice("a", ["10.180.0.1", "10.180.0.2"]));
    t.updateEndpointSlice(slice("b", ["10.180.0.3"]));
    const first = engine.sync(t.state());
    expect(first.full).toBe(true);
    expect(first.servicePortsWritten).toBe(2);
    t.updateEndpointSlice(slice("a", ["10.180.0.1"]));
    const second = engine.sync(t.state());
    expect(second.full).toBe(false);
    expect(second.servicePortsWritten).toBe(1);
    const lines = second.payload.split("\n").filter((l) => l.startsWith("map"));
    // master entry of a (COUNT 2 -> 1), then deletion of slot 2 and of backend 10.180.0.2 (ID 2).
    expect(lines).toEqual([
      expect.stringMatching(
        /^map update pinned \/sys\/fs\/bpf\/tc\/globals\/cilium_lb4_services_v2 key hex ac 1e 00 01 00 50 00 00 06 00 00 00 value hex 00 00 00 00 01 00 00 01/,
      ),
      "map delete pinned /sys/fs/bpf/tc/globals/cilium_lb4_services_v2 key hex ac 1e 00 01 00 50 02 00 06 00 00 00",
      "map delete pinned /sys/fs/bpf/tc/globals/cilium_lb4_backends_v3 key hex 02 00 00 00",
    ]);
  });

  it("property: full sync, then any incremental syncs, leave the maps a full sync of the final state writes", () => {
    const op = fc.record({
      svc: fc.integer({ min: 0, max: 4 }),
      eps: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 4 }),
      terminating: fc.boolean(),
      nodePort: fc.boolean(),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 12 }),
        fc.constantFrom("random", "maglev"),
        (ops, algorithm) => {
          const engine = new EbpfEngine({ config, algorithm: algorithm as "random" | "maglev", maglevTableSize: 251 });
          const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
          const applied = new BatchMaps();
          for (const o of ops) {
            const name = `s${o.svc}`;
            if (o.remove) {
              t.deleteService("ns1", name);
              t.deleteEndpointSlice("ns1", `${name}-v4`);
            } else {
              t.updateService(
                service({
                  name,
                  clusterIP: `172.30.0.${10 + o.svc}`,
                  ...(o.nodePort
                    ? { type: "NodePort" as const, ports: [{ name: "p80", port: 80, nodePort: 30100 + o.svc }] }
                    : {}),
                  affinitySeconds: o.svc === 3 ? 30 : undefined,
                } as Parameters<typeof service>[0]),
              );
              t.updateEndpointSlice(
                slice(
                  name,
                  o.eps.map((e, i) => ({
                    ip: `10.180.1.${e}`,
                    ...(o.terminating && i === 0 ? { ready: false, serving: true, terminating: true } : {}),
                  })),
                ),
              );
            }
            applied.apply(engine.sync(t.state()).payload);
          }
          const fresh = new BatchMaps();
          fresh.apply(renderFullBatch(engine.maps));
          expect(applied.snapshot()).toEqual(fresh.snapshot());
        },
      ),
      { numRuns: 60 },
    );
  });

  it("traces name every map lookup, and Maglev choices follow the 5-tuple hash", () => {
    const engine = new EbpfEngine({ config, algorithm: "maglev", maglevTableSize: 251, random: seededRandom(2) });
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(
      service({
        name: "np",
        clusterIP: "172.30.0.43",
        type: "NodePort",
        ports: [{ name: "p80", port: 80, nodePort: 30080 }],
      }),
    );
    t.updateEndpointSlice(slice("np", ["10.180.0.3", "10.180.0.4", "10.180.0.5"]));
    engine.sync(t.state());
    const ev = engine.evaluate({ src: "203.0.113.9", sport: 5555, dst: "192.168.0.2", dport: 30080 });
    expect(ev.trace.map((s) => s.chain)).toEqual([
      "cilium_lb4_services_v2",
      "cilium_lb4_services_v2",
      "cilium_lb4_maglev",
      "cilium_lb4_backends_v3",
      "bpf_host nodeport_lb4",
    ]);
    expect(ev.outcome).toMatchObject({ kind: "dnat", masquerade: true });
    // The same 5-tuple always picks the same backend; the index is the jhash of the tuple.
    const again = engine.evaluate({ src: "203.0.113.9", sport: 5555, dst: "192.168.0.2", dport: 30080 });
    expect(again.outcome).toEqual(ev.outcome);
    const h = hashTupleV4(Addr.parse("203.0.113.9").v4Value, 5555, 30080, 6, engine.maglev.seedJhash0);
    expect(ev.trace[2]?.text).toContain(`index ${h % 251}`);
    // A ClusterIP from a pod: random slot, no Maglev table (not reachable from outside).
    const pod = engine.evaluate({ src: "10.0.1.5", dst: "172.30.0.43", dport: 80 });
    expect(pod.trace.map((s) => s.chain)).toEqual([
      "cilium_lb4_services_v2",
      "cilium_lb4_services_v2",
      "cilium_lb4_services_v2",
      "cilium_lb4_backends_v3",
      "cgroup/connect4",
    ]);
    expect(pod.outcome).toMatchObject({ kind: "dnat", masquerade: false });
  });

  it("jhash_3words mixes every input word", () => {
    const base = jhash3words(1, 2, 3, 4);
    expect(jhash3words(1, 2, 3, 4)).toBe(base);
    for (const other of [
      jhash3words(0, 2, 3, 4),
      jhash3words(1, 0, 3, 4),
      jhash3words(1, 2, 0, 4),
      jhash3words(1, 2, 3, 0),
    ])
      expect(other).not.toBe(base);
  });
});
