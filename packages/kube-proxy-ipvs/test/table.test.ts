import { buildProxyState, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IpvsEngine, IpvsTable, SCHEDULER_NAMES, type SchedulerName } from "../src/index.js";

const A = (s: string): Addr => Addr.parse(s);

describe("IpvsTable", () => {
  it("counters always equal the live connections, whatever the sequence of connect/close/expire/weight changes", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("connect"), client: fc.integer({ min: 1, max: 6 }), udp: fc.boolean() }),
      fc.record({ kind: fc.constant("close"), pick: fc.nat() }),
      fc.record({ kind: fc.constant("expire"), dt: fc.integer({ min: 0, max: 1_000_000 }) }),
      fc.record({
        kind: fc.constant("weight"),
        dest: fc.integer({ min: 0, max: 2 }),
        w: fc.integer({ min: 0, max: 3 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEDULER_NAMES),
        fc.integer({ min: 0, max: 300 }),
        fc.array(op, { maxLength: 60 }),
        (sched: SchedulerName, persist, ops) => {
          const t = new IpvsTable();
          const tcp = t.addService({
            protocol: "tcp",
            addr: A("10.96.0.1"),
            port: 80,
            scheduler: sched,
            persistentTimeout: persist,
          });
          const udp = t.addService({ protocol: "udp", addr: A("10.96.0.1"), port: 53, scheduler: sched });
          for (const vs of [tcp, udp])
            for (const ip of ["10.1.0.3", "10.1.0.2", "10.1.0.1"]) vs.addDest(A(ip), 8080, 1);
          let now = 0;
          let port = 1000;
          for (const o of ops) {
            if (o.kind === "connect") {
              const vs = o.udp ? udp : tcp;
              const r = t.connect(vs, { src: A(`10.0.0.${o.client}`), dst: vs.addr, sport: port++ }, now);
              if (r.kind === "scheduled") {
                expect(vs.dests).toContain(r.conn.dest);
                expect(r.conn.dest.weight).toBeGreaterThan(0);
              }
            } else if (o.kind === "close") {
              const all = t.connections();
              if (all.length > 0) t.close(all[o.pick % all.length] as (typeof all)[number], now);
            } else if (o.kind === "expire") {
              now += o.dt;
              t.expire(now);
            } else {
              for (const vs of [tcp, udp]) vs.updateDest(vs.dests[o.dest] as (typeof vs.dests)[number], o.w);
            }
            for (const vs of [tcp, udp])
              for (const d of vs.dests) {
                const mine = t.connections(d);
                expect(d.activeConns).toBe(mine.filter((c) => c.state === "ESTABLISHED").length);
                expect(d.inactConns).toBe(mine.filter((c) => c.state !== "ESTABLISHED").length);
                expect(d.activeConns).toBeGreaterThanOrEqual(0);
              }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("lookup finds exactly the virtual servers added, for IPv4 and IPv6", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            v6: fc.boolean(),
            a: fc.integer({ min: 0, max: 0xffffffff }),
            port: fc.integer({ min: 1, max: 65535 }),
            proto: fc.constantFrom("tcp" as const, "udp" as const, "sctp" as const),
          }),
          { selector: (x) => `${x.v6}/${x.a}/${x.port}/${x.proto}`, maxLength: 40 },
        ),
        (specs) => {
          const t = new IpvsTable();
          const addr = (x: (typeof specs)[number]): Addr => (x.v6 ? Addr.v6(0xfd000000, 0, 0, x.a) : Addr.v4(x.a));
          for (const x of specs) t.addService({ protocol: x.proto, addr: addr(x), port: x.port });
          expect(t.size).toBe(specs.length);
          for (const x of specs) {
            expect(t.lookup(x.proto, addr(x), x.port)?.port).toBe(x.port);
            const other = x.proto === "tcp" ? "udp" : "tcp";
            if (!specs.some((y) => y.v6 === x.v6 && y.a === x.a && y.port === x.port && y.proto === other))
              expect(t.lookup(other, addr(x), x.port)).toBeUndefined();
          }
        },
      ),
    );
  });
});

describe("IpvsEngine sync", () => {
  it("is idempotent and converges: syncing the same state again changes nothing; any state reached equals a fresh sync", () => {
    const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });
    const stateOf = (eps: readonly number[][]) =>
      buildProxyState(config, {
        services: eps.map((_, i) =>
          service({
            name: `s${i}`,
            clusterIP: `172.30.0.${i + 1}`,
            type: "NodePort",
            ports: [{ name: "p80", port: 80, nodePort: 30000 + i }],
          }),
        ),
        endpointSlices: eps.map((list, i) =>
          slice(
            `s${i}`,
            list.map((k) => `10.180.${i}.${k}`),
          ),
        ),
      });
    const gen = fc.array(fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 4 }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(fc.array(gen, { minLength: 1, maxLength: 4 }), (steps) => {
        const e = new IpvsEngine({ config, now: () => 0 });
        for (const s of steps) e.sync(stateOf(s));
        const last = steps[steps.length - 1] as number[][];
        const before = e.render();
        e.sync(stateOf(last));
        expect(e.render()).toBe(before);
        // without connections nothing drains, so the table equals a fresh engine's
        const fresh = new IpvsEngine({ config, now: () => 0 });
        fresh.sync(stateOf(last));
        expect(e.renderIpvsadmSave()).toBe(fresh.renderIpvsadmSave());
        expect(e.renderIpsets()).toBe(fresh.renderIpsets());
        expect(e.renderIptables()).toBe(fresh.renderIptables());
      }),
      { numRuns: 60 },
    );
  });
});

describe("IpvsEngine sync result", () => {
  it("is always full and counts the service ports added or changed, and removed", () => {
    const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"] });
    const e = new IpvsEngine({ config, now: () => 0 });
    const st = (n: number, ep: string) =>
      buildProxyState(config, {
        services: Array.from({ length: n }, (_, i) => service({ name: `s${i}`, clusterIP: `172.30.0.${i + 1}` })),
        endpointSlices: Array.from({ length: n }, (_, i) => slice(`s${i}`, [i === 0 ? ep : `10.180.1.${i}`])),
      });
    expect(e.sync(st(3, "10.180.0.1"))).toMatchObject({ full: true, servicePortsWritten: 3, servicePortsDeleted: 0 });
    expect(e.sync(st(3, "10.180.0.2"))).toMatchObject({ full: true, servicePortsWritten: 1, servicePortsDeleted: 0 });
    const r = e.sync(st(2, "10.180.0.2"));
    expect(r).toMatchObject({ full: true, servicePortsWritten: 0, servicePortsDeleted: 1 });
    expect(r.payload).toContain("# ==== ipvsadm -S -n");
  });
});
