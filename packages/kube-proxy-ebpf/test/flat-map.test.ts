import { ChangeTracker, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeServiceValue } from "../src/encode.js";
import { BE_VALUE, FlatMap, LbReconciler, maglevConfig, SVC_VALUE, serviceKeyWords } from "../src/index.js";

describe("FlatMap", () => {
  it.each([
    ["all words hashed", {}],
    ["the first word hashed (a frontend's slots share a home)", { hashWords: 1 }],
  ])(
    "property: any sequence of sets and deletes leaves the contents of a Map given the same sequence (%s)",
    (_, options) => {
      // Few distinct keys over two words, so runs collide, wrap and shift back on delete.
      const key = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 7, 0xffffffff));
      const op = fc.record({ key, value: fc.integer({ min: 0, max: 0xffffffff }), del: fc.boolean() });
      fc.assert(
        fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
          const m = new FlatMap(2, 2, options);
          const model = new Map<string, number>();
          for (const o of ops) {
            const id = `${o.key[0]},${o.key[1]}`;
            if (o.del) expect(m.delete(o.key)).toBe(model.delete(id));
            else {
              m.set(o.key, [o.value, o.value ^ 1]);
              model.set(id, o.value);
            }
            expect(m.size).toBe(model.size);
          }
          for (let a = 0; a <= 40; a++)
            for (const b of [0, 7, 0xffffffff]) {
              const at = m.find([a, b]);
              const want = model.get(`${a},${b}`);
              if (want === undefined) expect(at).toBe(-1);
              else {
                expect(m.data[at]).toBe(want);
                expect(m.data[at + 1]).toBe((want ^ 1) >>> 0);
              }
            }
        }),
        { numRuns: 200 },
      );
    },
  );

  it("property: identity placement (consecutive IDs in consecutive rows) keeps a Map's contents, across growth and wrap", () => {
    const op = fc.record({ id: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(0xffffffff)), del: fc.boolean() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const m = new FlatMap(1, 1, { identity: true });
        const model = new Map<number, number>();
        ops.forEach((o, i) => {
          if (o.del) expect(m.delete([o.id])).toBe(model.delete(o.id));
          else {
            m.set([o.id], [i]);
            model.set(o.id, i);
          }
        });
        expect(m.size).toBe(model.size);
        for (const id of [...Array.from({ length: 71 }, (_, i) => i), 0xffffffff]) {
          const at = m.find([id]);
          expect(at < 0 ? undefined : m.data[at]).toBe(model.get(id));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("rejects widths that do not fit", () => {
    expect(() => new FlatMap(0, 1)).toThrow(/keyWords 0 must be >= 1/);
    expect(() => new FlatMap(2, 1, { hashWords: 3 })).toThrow(/hashWords 3 must be 1..2/);
    expect(() => new FlatMap(2, 1, { identity: true })).toThrow(/needs a one-word key/);
  });
});

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });

describe("LbReconciler.datapath", () => {
  it("property: after any syncs the flat service and backend maps hold exactly the entries of LbMaps", () => {
    const op = fc.record({
      svc: fc.integer({ min: 0, max: 5 }),
      eps: fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 5 }),
      nodePort: fc.boolean(),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 15 }), (ops) => {
        const r = new LbReconciler(
          config,
          { algorithm: "maglev", algorithmAnnotation: false, wildcardEntries: false, annotations: undefined },
          maglevConfig({ tableSize: 251 }),
        );
        const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
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
              }),
            );
            t.updateEndpointSlice(
              slice(
                name,
                o.eps.map((e) => `10.180.1.${e}`),
              ),
            );
          }
          r.sync(t.state());
          const dp = r.datapath;
          expect(dp.services.size).toBe(r.maps.services.size);
          const k = new Uint32Array(6);
          for (const e of r.maps.services.values()) {
            const at = dp.services.find(serviceKeyWords(k, e.addr, e.port, e.proto, e.scope, e.slot));
            expect(at).toBeGreaterThanOrEqual(0);
            const v = dp.services.data;
            expect([
              v[at + SVC_VALUE.backendId],
              (v[at + SVC_VALUE.counts] as number) & 0xffff,
              (v[at + SVC_VALUE.counts] as number) >>> 16,
              v[at + SVC_VALUE.revNat],
              v[at + SVC_VALUE.flags],
            ]).toEqual([e.backendId, e.count, e.qcount, e.revNat, e.flags]);
          }
          expect(dp.backends.size).toBe(r.maps.backends.size);
          for (const b of r.maps.backends.values()) {
            const at = dp.backends.find([b.id]);
            expect(at).toBeGreaterThanOrEqual(0);
            expect(dp.backends.data[at + BE_VALUE.w3]).toBe(b.addr.w3);
            expect(dp.backends.data[at + BE_VALUE.portProtoState]).toBe(
              ((b.port << 16) | (b.proto << 8) | b.state) >>> 0,
            );
          }
          for (const [id, table] of r.maps.maglev) expect(dp.maglev[id]).toBe(table);
          expect(dp.maglev.filter((x) => x !== undefined).length).toBe(r.maps.maglev.size);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("a service ID above 16 bits is refused by the encoder, never truncated", () => {
    const r = new LbReconciler(
      config,
      { algorithm: "random", algorithmAnnotation: false, wildcardEntries: false, annotations: undefined },
      maglevConfig({}),
      { serviceIdLimit: 0x20000 },
    );
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(service({ name: "a", clusterIP: "172.30.0.1" }));
    t.updateEndpointSlice(slice("a", ["10.180.1.1"]));
    r.sync(t.state());
    const master = [...r.maps.services.values()].find((e) => e.slot === 0);
    expect(master).toBeDefined();
    expect(() => encodeServiceValue({ ...(master as NonNullable<typeof master>), revNat: 0x10000 })).toThrow(
      /65536 does not fit a 16-bit field/,
    );
  });
});
