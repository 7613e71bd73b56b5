import { DnsIndex, DnsServer, decodeMessage, encodeQuery, RRType } from "@knet/coredns-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { udpExchange } from "./client.js";
import { fixtureObjects } from "./fixture.js";

describe("autopath @kubernetes", () => {
  const upstream = new DnsServer({
    index: DnsIndex.from([
      { kind: "Service", metadata: { name: "web", namespace: "ext" }, spec: { clusterIP: "192.0.2.80" } },
    ] as never),
    config: "example.test { kubernetes example.test }",
    listen: { port: 0 },
  });
  // The test client (127.0.0.1) is a pod in testns, so its first search domain is testns.svc.cluster.local.
  const index = DnsIndex.from([
    ...fixtureObjects(),
    { kind: "Pod", metadata: { name: "client", namespace: "testns" }, status: { podIP: "127.0.0.1" } },
  ] as never);
  let server: DnsServer;

  beforeAll(async () => {
    await upstream.start();
    server = new DnsServer({
      index,
      config: `. {\n autopath @kubernetes\n kubernetes cluster.local {\n  pods verified\n }\n forward . 127.0.0.1:${upstream.address().port}\n}`,
      listen: { port: 0 },
    });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    await upstream.stop();
  });

  const ask = async (name: string) =>
    decodeMessage((await udpExchange(server.address().port, encodeQuery(1, name, RRType.A))) as Buffer);

  it("completes the search path in one round trip with a CNAME", async () => {
    const m = await ask("svc1.testns.testns.svc.cluster.local.");
    expect(m.rcode).toBe(0);
    expect(m.answer).toEqual([
      {
        name: "svc1.testns.testns.svc.cluster.local.",
        type: RRType.CNAME,
        ttl: 5,
        target: "svc1.testns.svc.cluster.local.",
      },
      { name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.1" },
    ]);
  });

  it("answers the first search domain directly, and external names through forward", async () => {
    const direct = await ask("svc1.testns.svc.cluster.local.");
    expect(direct.answer).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.1" }]);
    const ext = await ask("web.ext.svc.example.test.testns.svc.cluster.local.");
    expect(ext.answer).toEqual([
      {
        name: "web.ext.svc.example.test.testns.svc.cluster.local.",
        type: RRType.CNAME,
        ttl: 5,
        target: "web.ext.svc.example.test.",
      },
      { name: "web.ext.svc.example.test.", type: 1, ttl: 5, address: "192.0.2.80" },
    ]);
  });

  it("returns the first reply when nothing matches, and does nothing for clients that are not pods", async () => {
    // Every cluster candidate is NXDOMAIN; the bare name goes to the upstream, whose REFUSED is not NXDOMAIN and is returned.
    const none = await ask("nothing-here.testns.svc.cluster.local.");
    expect(none.rcode).toBe(5);
    expect(none.answer).toEqual([]);
    index.remove({ kind: "Pod", metadata: { name: "client", namespace: "testns" } });
    const plain = await ask("svc1.testns.testns.svc.cluster.local.");
    expect(plain.rcode).toBe(3);
  });

  it("needs pods verified", () => {
    expect(
      () =>
        new DnsServer({ index: new DnsIndex(), config: ". {\n autopath @kubernetes\n kubernetes cluster.local\n}" }),
    ).toThrow(/pods verified/);
  });
});
