import { connect } from "node:net";
import {
  DnsIndex,
  DnsServer,
  decodeMessage,
  encodeQuery,
  RRType,
  type Rr,
  roundRobin,
  seededRandom,
} from "@knet/coredns-lite";
import { describe, expect, it } from "vitest";
import { bigHeadless, fixtureObjects } from "./fixture.js";

const a = (ip: string): Rr => ({ name: "x.", type: 1, ttl: 5, address: ip });

describe("loadbalance round_robin", () => {
  it("shuffles address records, keeps CNAMEs first and SRV order, and leaves single answers alone", () => {
    const one = [a("10.0.0.1")];
    expect(roundRobin(one, seededRandom(1))).toBe(one);
    const many = Array.from({ length: 8 }, (_, i) => a(`10.0.0.${i}`));
    const orders = new Set<string>();
    const rnd = seededRandom(3);
    for (let i = 0; i < 20; i++) {
      const out = roundRobin(many, rnd);
      expect([...out].map((r) => (r as { address: string }).address).sort()).toEqual(
        many.map((r) => (r as { address: string }).address).sort(),
      );
      orders.add(out.map((r) => (r as { address: string }).address).join(","));
    }
    expect(orders.size).toBeGreaterThan(10);
    const cname: Rr = { name: "x.", type: 5, ttl: 5, target: "y." };
    const srv: Rr = { name: "x.", type: 33, ttl: 5, priority: 0, weight: 50, port: 80, target: "y." };
    const mixed = roundRobin([a("10.0.0.1"), srv, a("10.0.0.2"), cname], seededRandom(4));
    expect(mixed[0]).toBe(cname);
    expect(mixed[1]).toBe(srv);
    expect(mixed.slice(2).map((r) => r.type)).toEqual([1, 1]);
  });

  it("the server's answers to a headless name come in varying order through loadbalance", async () => {
    const server = new DnsServer({
      index: DnsIndex.from([...fixtureObjects(), ...bigHeadless(10)]),
      config: "cluster.local {\n loadbalance\n kubernetes\n}",
      random: seededRandom(9),
    });
    const orders = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = server.handle(encodeQuery(i, "big.testns.svc.cluster.local.", RRType.A), "udp") as Uint8Array;
      orders.add(
        decodeMessage(r)
          .answer.map((x) => (x as { address: string }).address)
          .join(","),
      );
    }
    expect(orders.size).toBeGreaterThan(5);
  });
});

describe("TCP framing", () => {
  it("answers pipelined queries and frames split across writes, in one connection", async () => {
    const server = new DnsServer({ index: DnsIndex.from(fixtureObjects()), listen: { port: 0 } });
    await server.start();
    try {
      const frame = (q: Uint8Array): Buffer => {
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length, 0);
        f.set(q, 2);
        return f;
      };
      const all = Buffer.concat([
        frame(encodeQuery(1, "svc1.testns.svc.cluster.local.", RRType.A)),
        frame(encodeQuery(2, "svc6.testns.svc.cluster.local.", RRType.AAAA)),
        frame(encodeQuery(3, "nope.testns.svc.cluster.local.", RRType.A)),
      ]);
      const replies = await new Promise<Buffer[]>((ok, fail) => {
        const sock = connect(server.address().port, "127.0.0.1");
        let buf = Buffer.alloc(0);
        const got: Buffer[] = [];
        sock.on("connect", async () => {
          sock.write(all.subarray(0, 5));
          await new Promise((r) => setTimeout(r, 30));
          sock.write(all.subarray(5));
        });
        sock.on("data", (d) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
            buf = buf.subarray(2 + buf.readUInt16BE(0));
          }
          if (got.length === 3) {
            sock.destroy();
            ok(got);
          }
        });
        sock.on("error", fail);
      });
      const byId = new Map(replies.map((r) => [decodeMessage(r).id, decodeMessage(r)]));
      expect(byId.get(1)?.answer[0]).toMatchObject({ address: "10.0.0.1" });
      expect(byId.get(2)?.answer[0]).toMatchObject({ address: "1234:abcd::1" });
      expect(byId.get(3)?.rcode).toBe(3);
    } finally {
      await server.stop();
    }
  });
});
