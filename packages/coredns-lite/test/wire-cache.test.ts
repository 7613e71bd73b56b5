/**
 * The wire cache: with a pure chain, a repeated query is answered from stored
 * reply bytes. The replies must be byte for byte those of a server without it,
 * over random IDs, name case, types, EDNS sizes, DO/RD/CD bits, both transports,
 * loadbalance shuffles and index changes; chains with per-query plugins (`log`,
 * `metrics`) never use it, so every query is still logged and counted.
 */
import { DnsIndex, DnsServer, decodeMessage, encodeQuery, RRType, seededRandom } from "@knet/coredns-lite";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bigHeadless, fixtureObjects } from "./fixture.js";

const NAMES = [
  "svc1.testns.svc.cluster.local.",
  "svc6.testns.svc.cluster.local.",
  "svc-dual.testns.svc.cluster.local.",
  "hdls1.testns.svc.cluster.local.",
  "big.testns.svc.cluster.local.",
  "nope.testns.svc.cluster.local.",
  "_http._tcp.svc1.testns.svc.cluster.local.",
  "ext2svc.testns.svc.cluster.local.",
  "1.0.0.10.in-addr.arpa.",
  "example.com.",
];
const TYPES = [RRType.A, RRType.AAAA, RRType.SRV, RRType.PTR, RRType.TXT, RRType.CNAME, RRType.ANY];

/** A query with the name's letters upper-cased where `upper` says so, and the header bits set as given. */
function query(id: number, name: string, upper: number, type: number, udpSize: number | undefined, bits: number) {
  let cased = "";
  for (let i = 0; i < name.length; i++) cased += (upper >>> (i % 31)) & 1 ? (name[i] as string).toUpperCase() : name[i];
  const q = encodeQuery(id, cased, type, udpSize === undefined ? {} : { udpSize, dnssecOk: (bits & 4) !== 0 });
  q[2] = (bits & 1) !== 0 ? 1 : 0; // RD
  q[3] = (bits & 2) !== 0 ? 0x10 : 0; // CD
  return q;
}

/** A query's bytes after the ID, drawn so that svc1 A (the name the index changes rewrite) comes up often. */
const shape = fc.record({
  name: fc.oneof({ weight: 2, arbitrary: fc.constant(NAMES[0] as string) }, fc.constantFrom(...NAMES)),
  upper: fc.nat(),
  type: fc.oneof({ weight: 2, arbitrary: fc.constant(RRType.A) }, fc.constantFrom(...TYPES)),
  udpSize: fc.option(fc.constantFrom(0, 512, 600, 1232, 4096), { nil: undefined }),
  bits: fc.nat(7),
  tcp: fc.boolean(),
});

/** Queries pick one of a few shapes (so repeats are common) with a random ID; changes re-address svc1. */
const op = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("query" as const),
      shape: fc.nat(),
      id: fc.integer({ min: 0, max: 65535 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("change" as const), last: fc.nat(3) }) },
);

describe("wire cache", () => {
  it("replies byte for byte as a server without it, across repeats, index changes and a tiny budget", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(shape, { minLength: 1, maxLength: 5 }),
        fc.array(op, { maxLength: 120 }),
        async (shapes, ops) => {
          const index = DnsIndex.from([...fixtureObjects(), ...bigHeadless(40)]);
          const make = (wireCacheBytes: number): DnsServer =>
            new DnsServer({ index, random: seededRandom(7), logSink: () => {}, wireCacheBytes });
          const plain = make(0);
          const cached = make(4 << 20);
          const tiny = make(300);
          for (const o of ops) {
            if (o.kind === "change") {
              index.upsert({
                kind: "Service",
                metadata: { name: "svc1", namespace: "testns" },
                spec: { type: "ClusterIP", clusterIP: `10.0.0.${o.last}`, clusterIPs: [`10.0.0.${o.last}`] },
              });
              continue;
            }
            const s = shapes[o.shape % shapes.length] as (typeof shapes)[number];
            const q = query(o.id, s.name, s.upper, s.type, s.udpSize, s.bits);
            const t = s.tcp ? "tcp" : "udp";
            // ExternalName chases answer asynchronously; awaiting each keeps the three in step.
            const want = await plain.handle(q, t);
            expect(await cached.handle(q, t)).toEqual(want);
            expect(await tiny.handle(q, t)).toEqual(want);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("replays a memoised answer with the asking query's ID, from the second repeat on", () => {
    const server = new DnsServer({ index: DnsIndex.from(fixtureObjects()) });
    const replies = [1, 2, 3, 4].map((id) =>
      server.handle(encodeQuery(id, "svc1.testns.svc.cluster.local.", RRType.A), "udp"),
    ) as Uint8Array[];
    for (const [i, r] of replies.entries()) {
      expect(((r[0] as number) << 8) | (r[1] as number)).toBe(i + 1);
      expect(r.subarray(2)).toEqual(replies[0]?.subarray(2));
    }
    // A caller that changes a reply does not change what later queries get.
    (replies[3] as Uint8Array).fill(0);
    const again = server.handle(encodeQuery(5, "svc1.testns.svc.cluster.local.", RRType.A), "udp") as Uint8Array;
    expect(again.subarray(2)).toEqual(replies[0]?.subarray(2));
  });

  it("tells apart queries whose bytes hash alike (the cache compares them byte for byte)", () => {
    // FNV-1a over the bytes after the ID, cut to 30 bits, as the cache keys entries; this pair
    // (two spellings of svc1's name) was found by a birthday search over case variants.
    const fnv30 = (q: Uint8Array): number => {
      let h = 0x811c9dc5;
      for (let i = 2; i < q.length; i++) h = Math.imul(h ^ (q[i] as number), 0x01000193);
      return h & 0x3fffffff;
    };
    const [a, b] = ["svC1.TeStNs.SVC.Cluster.local.", "svc1.tEStNS.sVc.cLuster.local."];
    const qa = encodeQuery(0, a, RRType.A);
    const qb = encodeQuery(0, b, RRType.A);
    expect(fnv30(qa)).toBe(fnv30(qb));
    const server = new DnsServer({ index: DnsIndex.from(fixtureObjects()) });
    for (let i = 0; i < 3; i++) {
      expect(decodeMessage(server.handle(qa, "udp") as Uint8Array).question[0]?.name).toBe(a);
      expect(decodeMessage(server.handle(qb, "udp") as Uint8Array).question[0]?.name).toBe(b);
    }
  });

  it("is off for chains with per-query plugins: every repeat is logged and counted", () => {
    const logs: string[] = [];
    const server = new DnsServer({
      index: DnsIndex.from(fixtureObjects()),
      config: "cluster.local {\n log\n metrics 127.0.0.1:0\n kubernetes\n}",
      logSink: (l) => logs.push(l),
    });
    for (let id = 0; id < 5; id++) server.handle(encodeQuery(id, "svc1.testns.svc.cluster.local.", RRType.A), "udp");
    expect(logs).toHaveLength(5);
    expect(server.metrics.render()).toMatch(/coredns_dns_requests_total\{[^}]*\} 5\b/);
  });
});
