import { DnsIndex, formatRr, resolve } from "@knet/coredns-lite";
import type { EndpointSlice, Service } from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fixtureObjects } from "./fixture.js";

type Obj = { kind: string; metadata: { name: string; namespace: string } } & Record<string, unknown>;

const SVC_NAMES = ["a", "b"];

function service(name: string, variant: number): Obj {
  const spec: Service["spec"] =
    variant === 0
      ? { clusterIP: `10.1.0.${SVC_NAMES.indexOf(name) + 1}`, ports: [{ name: "http", protocol: "TCP", port: 80 }] }
      : variant === 1
        ? { clusterIP: "None", ports: [{ name: "http", protocol: "TCP", port: 80 }] }
        : { type: "ExternalName", externalName: `${name}.example.test` };
  return { kind: "Service", metadata: { name, namespace: "ns1" }, spec };
}

function slice(svc: string, idx: number, ips: number[], ready: boolean): Obj {
  const s: EndpointSlice = {
    addressType: "IPv4",
    metadata: { name: `${svc}-${idx}`, namespace: "ns1", labels: { "kubernetes.io/service-name": svc } },
    endpoints: ips.map((i) => ({
      addresses: [`10.2.0.${i}`],
      conditions: { ready },
      ...(i % 3 === 0 ? { hostname: `h${i}` } : {}),
    })),
    ports: [{ name: "http", protocol: "TCP", port: 8080 }],
  };
  return { kind: "EndpointSlice", ...s } as unknown as Obj;
}

const op = fc.oneof(
  fc.record({ k: fc.constant("svc" as const), name: fc.constantFrom(...SVC_NAMES), variant: fc.nat(2) }),
  fc.record({
    k: fc.constant("slice" as const),
    name: fc.constantFrom(...SVC_NAMES),
    idx: fc.nat(1),
    ips: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }),
    ready: fc.boolean(),
  }),
  fc.record({ k: fc.constant("delsvc" as const), name: fc.constantFrom(...SVC_NAMES) }),
  fc.record({ k: fc.constant("delslice" as const), name: fc.constantFrom(...SVC_NAMES), idx: fc.nat(1) }),
);

const QUESTIONS: [string, string][] = [];
for (const s of SVC_NAMES) {
  QUESTIONS.push(
    [`${s}.ns1.svc.cluster.local`, "A"],
    [`_http._tcp.${s}.ns1.svc.cluster.local`, "SRV"],
    [`h3.${s}.ns1.svc.cluster.local`, "A"],
    [`${s}.ns1.svc.cluster.local`, "CNAME"],
  );
}
for (let i = 1; i <= 12; i++) QUESTIONS.push([`${i}.0.2.10.in-addr.arpa`, "PTR"]);
QUESTIONS.push(["1.0.1.10.in-addr.arpa", "PTR"], ["ns1.svc.cluster.local", "A"]);

function answers(index: DnsIndex): string[] {
  return QUESTIONS.map(([name, type]) => {
    const r = resolve(index, { name, type }, { zones: ["cluster.local", "in-addr.arpa"] });
    return `${name} ${type} ${r.rcode} ${r.answer.map(formatRr).sort().join("|")} ${r.additional.map(formatRr).sort().join("|")}`;
  });
}

describe("DnsIndex", () => {
  it("incremental updates answer exactly like an index built from the final objects", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const live = new Map<string, Obj>();
        const inc = new DnsIndex({ clock: () => 1 });
        for (const o of ops) {
          if (o.k === "svc") {
            const obj = service(o.name, o.variant);
            live.set(`svc/${o.name}`, obj);
            inc.upsert(obj as never);
          } else if (o.k === "slice") {
            const obj = slice(o.name, o.idx, o.ips, o.ready);
            live.set(`slice/${o.name}-${o.idx}`, obj);
            inc.upsert(obj as never);
          } else if (o.k === "delsvc") {
            expect(inc.remove({ kind: "Service", metadata: { name: o.name, namespace: "ns1" } })).toBe(
              live.delete(`svc/${o.name}`),
            );
          } else {
            const name = `${o.name}-${o.idx}`;
            expect(inc.remove({ kind: "EndpointSlice", metadata: { name, namespace: "ns1" } })).toBe(
              live.delete(`slice/${name}`),
            );
          }
        }
        const fresh = DnsIndex.from(live.values(), { clock: () => 1 });
        expect(answers(inc)).toEqual(answers(fresh));
      }),
      {
        numRuns: 300,
        examples: [
          [
            [
              { k: "svc", name: "a", variant: 1 },
              { k: "slice", name: "a", idx: 0, ips: [1], ready: true },
              { k: "delslice", name: "a", idx: 0 },
            ],
          ],
        ],
      },
    );
  });

  it("bumps the generation and the SOA serial on every change, and notifies listeners", () => {
    let t = 100;
    const index = new DnsIndex({ clock: () => t });
    let calls = 0;
    const off = index.onChange(() => calls++);
    const g0 = index.generation;
    t = 200;
    index.upsert(service("a", 0) as never);
    expect(index.generation).toBe(g0 + 1);
    expect(index.serial).toBe(200);
    off();
    index.upsert(slice("a", 0, [1], true) as never);
    expect(calls).toBe(1);
    expect(index.servicesWithEndpointIp("10.2.0.1").map((s) => s.name)).toEqual(["a"]);
    expect(index.upsert({ kind: "ConfigMap" } as never)).toBe(false);
  });

  it("namespaces exist through Namespace objects or the objects in them", () => {
    const index = DnsIndex.from(fixtureObjects());
    expect(index.namespaceExists("testns")).toBe(true);
    expect(index.namespaceExists("svc-nons")).toBe(false);
    index.upsert(service("a", 0) as never);
    expect(index.namespaceExists("ns1")).toBe(true);
    index.remove({ kind: "Service", metadata: { name: "a", namespace: "ns1" } });
    expect(index.namespaceExists("ns1")).toBe(false);
  });

  it("terminating pods drop out of pods verified", () => {
    const index = DnsIndex.from(fixtureObjects());
    const opts = { pods: "verified" as const };
    expect(resolve(index, { name: "10-240-0-1.testns.pod.cluster.local" }, opts).answer).toHaveLength(1);
    index.upsert({
      kind: "Pod",
      metadata: { name: "pod-a", namespace: "testns", deletionTimestamp: "2026-01-01T00:00:00Z" },
      status: { podIP: "10.240.0.1" },
    });
    expect(resolve(index, { name: "10-240-0-1.testns.pod.cluster.local" }, opts).rcode).toBe(3);
  });

  it("endpoint_pod_names names endpoints after their pods", () => {
    const objs = [
      {
        kind: "Service",
        metadata: { name: "web", namespace: "ns1" },
        spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] },
      },
      {
        kind: "EndpointSlice",
        metadata: { name: "web-1", namespace: "ns1", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.3.0.7"], targetRef: { kind: "Pod", name: "web-7f9c" } }],
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
      },
    ];
    const index = DnsIndex.from(objs);
    const plain = resolve(index, { name: "_http._tcp.web.ns1.svc.cluster.local", type: "SRV" });
    expect(plain.answer.map(formatRr)).toEqual([
      "_http._tcp.web.ns1.svc.cluster.local.\t5\tIN\tSRV\t0 100 8080 10-3-0-7.web.ns1.svc.cluster.local.",
    ]);
    const named = resolve(index, { name: "web-7f9c.web.ns1.svc.cluster.local" }, { endpointPodNames: true });
    expect(named.answer.map(formatRr)).toEqual(["web-7f9c.web.ns1.svc.cluster.local.\t5\tIN\tA\t10.3.0.7"]);
  });
});
