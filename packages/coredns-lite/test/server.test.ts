import { DnsIndex, DnsServer, decodeMessage, encodeQuery, Flag, Rcode, RRType, seededRandom } from "@knet/coredns-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpExchange, udpExchange } from "./client.js";
import { bigHeadless, fixtureObjects } from "./fixture.js";

async function httpGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://${host}:${port}${path}`);
  return { status: r.status, body: await r.text() };
}

describe("DnsServer", () => {
  const index = DnsIndex.from([...fixtureObjects(), ...bigHeadless(200)]);
  const logs: string[] = [];
  const server = new DnsServer({
    index,
    config: `cluster.local in-addr.arpa ip6.arpa {
      errors
      log
      metrics 127.0.0.1:0
      health 127.0.0.1:0
      ready 127.0.0.1:0
      kubernetes cluster.local in-addr.arpa ip6.arpa
    }`,
    listen: { port: 0 },
    logSink: (l) => logs.push(l),
    random: seededRandom(1),
  });

  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("binds 127.0.0.1 unless told otherwise, UDP and TCP on one port", async () => {
    expect(server.address().host).toBe("127.0.0.1");
    const q = encodeQuery(5, "svc1.testns.svc.cluster.local.", RRType.A);
    const u = decodeMessage((await udpExchange(server.address().port, q)) as Buffer);
    const t = decodeMessage((await tcpExchange(server.address().port, q)) as Buffer);
    expect(u).toEqual(t);
    expect(u.answer).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.1" }]);
  });

  it("echoes the question's case on the reused encoded answer", async () => {
    const port = server.address().port;
    for (const name of [
      "svc1.testns.svc.cluster.local.",
      "SVC1.TESTNS.svc.Cluster.Local.",
      "sVc1.testns.SVC.cluster.local.",
    ]) {
      const m = decodeMessage((await udpExchange(port, encodeQuery(1, name, RRType.A))) as Buffer);
      expect(m.question[0]?.name).toBe(name);
      expect(m.answer[0]?.name).toBe(name);
    }
  });

  it("UDP replies never exceed the advertised size (512 without EDNS) nor 1232 by default", async () => {
    const port = server.address().port;
    for (const size of [undefined, 0, 100, 512, 600, 1000, 1232, 1500, 4096, 65535]) {
      const q = encodeQuery(3, "big.testns.svc.cluster.local.", RRType.A, size === undefined ? {} : { udpSize: size });
      const r = (await udpExchange(port, q)) as Buffer;
      const limit = Math.min(1232, Math.max(512, size ?? 512));
      if (size !== undefined && size >= 1232) expect(r.length).toBeGreaterThan(1100);
      expect(r.length).toBeLessThanOrEqual(limit);
      const m = decodeMessage(r);
      expect((m.flags & Flag.TC) !== 0).toBe(m.answer.length < 200);
      expect(m.answer.length).toBeLessThan(200);
      if (size !== undefined) expect(m.ednsUdpSize).toBe(1232);
    }
    const full = decodeMessage(
      (await tcpExchange(port, encodeQuery(3, "big.testns.svc.cluster.local.", RRType.A))) as Buffer,
    );
    expect(full.answer).toHaveLength(200);
    expect(full.flags & Flag.TC).toBe(0);
  });

  it("serves metrics, health and ready only on the configured listeners", async () => {
    const m = server.plugin("metrics")?.endpoint?.address();
    const h = server.plugin("health")?.endpoint?.address();
    const r = server.plugin("ready")?.endpoint?.address();
    expect(m?.host).toBe("127.0.0.1");
    expect(h?.host).toBe("127.0.0.1");
    await udpExchange(server.address().port, encodeQuery(1, "nope.testns.svc.cluster.local.", RRType.A));
    const metrics = await httpGet("127.0.0.1", m?.port ?? 0, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/coredns_dns_requests_total\{proto="udp",type="A"\} \d+/);
    expect(metrics.body).toMatch(/coredns_dns_responses_total\{rcode="NXDOMAIN"\} [1-9]/);
    expect(metrics.body).toContain("# TYPE coredns_dns_request_duration_seconds histogram");
    expect((await httpGet("127.0.0.1", m?.port ?? 0, "/other")).status).toBe(404);
    expect(await httpGet("127.0.0.1", h?.port ?? 0, "/health")).toEqual({ status: 200, body: "OK" });
    expect((await httpGet("127.0.0.1", r?.port ?? 0, "/ready")).status).toBe(200);
    index.setSynced(false);
    expect((await httpGet("127.0.0.1", r?.port ?? 0, "/ready")).status).toBe(503);
    index.setSynced(true);
    // The metrics port is not the DNS port, and the DNS port speaks no HTTP.
    expect(m?.port).not.toBe(server.address().port);
  });

  it("logs each query", async () => {
    await udpExchange(server.address().port, encodeQuery(1, "svc1.testns.svc.cluster.local.", RRType.AAAA));
    expect(
      logs.some((l) =>
        /^\[INFO\] 127\.0\.0\.1:\d+ - "AAAA IN svc1\.testns\.svc\.cluster\.local\. udp" NOERROR qr,aa/.test(l),
      ),
    ).toBe(true);
  });

  it("answers updated records after an index change", async () => {
    const port = server.address().port;
    const ask = async () =>
      decodeMessage((await udpExchange(port, encodeQuery(1, "late.testns.svc.cluster.local.", RRType.A))) as Buffer);
    expect((await ask()).rcode).toBe(Rcode.NXDOMAIN);
    index.upsert({
      kind: "Service",
      metadata: { name: "late", namespace: "testns" },
      spec: { clusterIP: "10.0.0.77" },
    });
    expect((await ask()).answer).toEqual([
      { name: "late.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.77" },
    ]);
    index.remove({ kind: "Service", metadata: { name: "late", namespace: "testns" } });
    expect((await ask()).rcode).toBe(Rcode.NXDOMAIN);
  });
});

describe("DnsServer with forward and cache", () => {
  it("forwards only to the configured upstream, caches, and chases ExternalName targets", async () => {
    const upstream = new DnsServer({
      index: DnsIndex.from([
        { kind: "Service", metadata: { name: "web", namespace: "ext" }, spec: { clusterIP: "192.0.2.80" } },
      ] as never),
      config: "example.test { kubernetes example.test }",
      listen: { port: 0 },
    });
    await upstream.start();
    const ext = [
      { kind: "Namespace", metadata: { name: "ns" } },
      {
        kind: "Service",
        metadata: { name: "out", namespace: "ns" },
        spec: { type: "ExternalName", externalName: "web.ext.svc.example.test" },
      },
    ];
    let now = 1_000_000;
    const server = new DnsServer({
      index: DnsIndex.from(ext as never),
      config: `. {\n cache 30\n kubernetes cluster.local\n forward . 127.0.0.1:${upstream.address().port}\n metrics 127.0.0.1:0\n}`,
      listen: { port: 0 },
      clock: { now: () => now },
    });
    await server.start();
    try {
      const port = server.address().port;
      const a = decodeMessage(
        (await udpExchange(port, encodeQuery(1, "out.ns.svc.cluster.local.", RRType.A))) as Buffer,
      );
      expect(a.answer.map((r) => [r.name, r.type])).toEqual([
        ["out.ns.svc.cluster.local.", RRType.CNAME],
        ["web.ext.svc.example.test.", RRType.A],
      ]);
      const direct = decodeMessage(
        (await udpExchange(port, encodeQuery(2, "web.ext.svc.example.test.", RRType.A))) as Buffer,
      );
      expect(direct.answer).toEqual([{ name: "web.ext.svc.example.test.", type: 1, ttl: 5, address: "192.0.2.80" }]);
      now += 2000;
      const aged = decodeMessage(
        (await udpExchange(port, encodeQuery(3, "web.ext.svc.example.test.", RRType.A))) as Buffer,
      );
      expect(aged.answer[0]?.ttl).toBe(3);
      const metrics = server.metrics.render();
      expect(metrics).toMatch(/coredns_cache_hits_total\{type="success"\} [1-9]/);
      expect(metrics).toMatch(
        new RegExp(`coredns_forward_requests_total\\{to="127\\.0\\.0\\.1:${upstream.address().port}"\\} 1`),
      );
    } finally {
      await server.stop();
      await upstream.stop();
    }
  });
});

describe("DnsServer UDP reply size", () => {
  it("caps a headless SRV answer at 1232 bytes whatever EDNS asks, and takes another cap when told", async () => {
    const index = DnsIndex.from([...fixtureObjects(), ...bigHeadless(100)]);
    const q = encodeQuery(4, "_http._tcp.big.testns.svc.cluster.local.", RRType.SRV, { udpSize: 4096 });
    const sizes: Record<string, number> = {};
    for (const maxUdpSize of [undefined, 4096, 700]) {
      const server = new DnsServer({ index, listen: { port: 0 }, ...(maxUdpSize === undefined ? {} : { maxUdpSize }) });
      await server.start();
      try {
        const r = (await udpExchange(server.address().port, q)) as Buffer;
        const m = decodeMessage(r);
        expect(m.flags & Flag.TC).toBe(Flag.TC);
        expect(m.ednsUdpSize).toBe(maxUdpSize ?? 1232);
        sizes[String(maxUdpSize)] = r.length;
        const t = decodeMessage((await tcpExchange(server.address().port, q)) as Buffer);
        expect(t.answer).toHaveLength(100);
      } finally {
        await server.stop();
      }
    }
    expect(sizes.undefined).toBeLessThanOrEqual(1232);
    expect(sizes.undefined).toBeGreaterThan(1100);
    expect(sizes["4096"]).toBeGreaterThan(3500);
    expect(sizes["700"]).toBeLessThanOrEqual(700);
  });

  it("rejects a limit that is not a positive integer, naming it", () => {
    const index = DnsIndex.from(fixtureObjects());
    expect(() => new DnsServer({ index, maxUdpSize: 0 })).toThrow(/maxUdpSize must be a positive integer, got 0/);
    expect(() => new DnsServer({ index, tcpMaxQueuedBytes: 1.5 })).toThrow(/tcpMaxQueuedBytes/);
  });
});

describe("DnsServer listen host", () => {
  it("takes a host name as well as an address (resolved once, to IPv4), and answers over UDP and TCP", async () => {
    const server = new DnsServer({ index: DnsIndex.from(fixtureObjects()), listen: { host: "localhost", port: 0 } });
    await server.start();
    try {
      const q = encodeQuery(9, "svc1.testns.svc.cluster.local.", RRType.A);
      const u = decodeMessage((await udpExchange(server.address().port, q)) as Buffer);
      const t = decodeMessage((await tcpExchange(server.address().port, q)) as Buffer);
      expect(u.answer).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.1" }]);
      expect(t).toEqual(u);
    } finally {
      await server.stop();
    }
  });
});
