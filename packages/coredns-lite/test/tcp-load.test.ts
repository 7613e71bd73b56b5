/**
 * Hostile TCP clients against a server on 127.0.0.1, as bounded load tests that
 * count bytes, connections and answered probes (never timings): a client that
 * pipelines queries and never reads, 500 idle connections, and clients that
 * dribble one byte at a time. Each case failed before the server bounded its
 * per-connection queue and gave every message a deadline.
 */
import { connect, type Socket } from "node:net";
import { DnsIndex, DnsServer, type DnsServerOptions, decodeMessage, encodeQuery, RRType } from "@knet/coredns-lite";
import { afterEach, describe, expect, it } from "vitest";
import { tcpExchange } from "./client.js";
import { bigHeadless, fixtureObjects } from "./fixture.js";

const MiB = 1 << 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function frame(q: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(2 + q.length);
  f.writeUInt16BE(q.length, 0);
  f.set(q, 2);
  return f;
}

const clients: Socket[] = [];
let server: DnsServer | undefined;

async function startServer(extra: Partial<DnsServerOptions> = {}): Promise<number> {
  server = new DnsServer({
    index: DnsIndex.from([...fixtureObjects(), ...bigHeadless(200)]),
    listen: { port: 0 },
    logSink: () => {},
    ...extra,
  });
  await server.start();
  return server.address().port;
}

function open(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect(port, "127.0.0.1");
    clients.push(s);
    s.once("connect", () => ok(s));
    s.once("error", fail);
  });
}

/** Send `n` probes at once on fresh connections; count the ones answered with NOERROR. */
async function probes(port: number, n: number): Promise<number> {
  const q = encodeQuery(77, "svc1.testns.svc.cluster.local.", RRType.A);
  const replies = await Promise.all(Array.from({ length: n }, () => tcpExchange(port, q, 2000)));
  return replies.filter((r) => r !== null && decodeMessage(r).answer.length === 1).length;
}

/** Poll every 100 ms until `f` has not changed for `quiet` polls (or 100 polls ran); returns its last value. */
async function settle(f: () => number, quiet = 3): Promise<number> {
  let last = f();
  let still = 0;
  for (let i = 0; i < 100 && still < quiet; i++) {
    await sleep(100);
    const now = f();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

describe("TCP backpressure", () => {
  it("stops reading a pipelining client that never reads, and frees everything when it leaves", async () => {
    const port = await startServer({ tcpMaxQueuedBytes: 64 * 1024 });
    // 40,000 queries for a 200-address headless service: ~3.3 kB per reply, ~130 MB if all were buffered.
    const one = frame(encodeQuery(1, "big.testns.svc.cluster.local.", RRType.A));
    const burst = Buffer.concat(Array.from({ length: 40_000 }, () => one));
    const s = await open(port);
    s.pause(); // never read
    const rss0 = process.memoryUsage().rss;
    s.write(burst);
    const queued = await settle(() => server?.tcpStats().queuedBytes ?? 0);
    const grown = process.memoryUsage().rss - rss0;
    // The server holds at most the bound plus one reply it was writing when it crossed it.
    expect(queued).toBeLessThanOrEqual(64 * 1024 + 65_537);
    expect(server?.tcpStats().pausedConnections).toBe(1);
    expect(grown).toBeLessThan(48 * MiB);
    s.destroy();
    await settle(() => server?.tcpStats().connections ?? 0);
    expect(server?.tcpStats()).toEqual({ connections: 0, queuedBytes: 0, pausedConnections: 0 });
    expect(await probes(port, 1)).toBe(1);
  });

  it("a pipelining client that reads slowly still gets every reply, in order", async () => {
    const port = await startServer({ tcpMaxQueuedBytes: 16 * 1024 });
    const n = 1500;
    const burst = Buffer.concat(
      Array.from({ length: n }, (_, i) => frame(encodeQuery(i, "big.testns.svc.cluster.local.", RRType.A))),
    );
    const s = await open(port);
    const ids: number[] = [];
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        ids.push(buf.readUInt16BE(2));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      // Read in small sips so the server's queue fills and drains many times.
      s.pause();
      setTimeout(() => s.resume(), 1);
    });
    s.write(burst);
    await settle(() => ids.length);
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe("TCP slots and slow clients", () => {
  it("500 idle connections do not deny service: the oldest idle ones are evicted", async () => {
    const port = await startServer();
    const idle = await Promise.all(Array.from({ length: 500 }, () => open(port)));
    let closedByServer = 0;
    for (const c of idle) c.on("close", () => closedByServer++);
    await sleep(200);
    expect(await probes(port, 20)).toBe(20);
    // Evicted: the oldest first, never more than needed.
    expect(server?.tcpStats().connections).toBeLessThanOrEqual(256);
    expect(closedByServer).toBeGreaterThanOrEqual(500 - 256);
  });

  it("the connection limit is configurable", async () => {
    const port = await startServer({ maxTcpConnections: 8 });
    await Promise.all(Array.from({ length: 30 }, () => open(port)));
    await sleep(200);
    expect(server?.tcpStats().connections).toBeLessThanOrEqual(8);
    expect(await probes(port, 5)).toBe(5);
  });

  it("a client dribbling a byte at a time is closed at the message deadline, whatever the idle timer", async () => {
    const port = await startServer({ tcpMessageMs: 600 });
    const q = frame(encodeQuery(5, "svc1.testns.svc.cluster.local.", RRType.A));
    const dribblers = await Promise.all(Array.from({ length: 256 }, () => open(port)));
    let closedByServer = 0;
    for (const c of dribblers) c.on("close", () => closedByServer++);
    // One byte every 200 ms: each would reset a 10 s idle timer, and no message ever completes in 600 ms.
    for (let i = 0; i < 10; i++) {
      for (const c of dribblers) if (!c.destroyed) c.write(q.subarray(i, i + 1));
      await sleep(200);
    }
    expect(closedByServer).toBe(256);
    expect(await probes(port, 20)).toBe(20);
  });

  it("a connection that sends whole messages keeps its slot and gets answers", async () => {
    const port = await startServer({ tcpMessageMs: 300, tcpIdleMs: 2000 });
    const s = await open(port);
    let answers = 0;
    s.on("data", () => answers++);
    for (let i = 0; i < 5; i++) {
      s.write(frame(encodeQuery(i, "svc1.testns.svc.cluster.local.", RRType.A)));
      await sleep(250);
    }
    await sleep(100);
    expect(s.destroyed).toBe(false);
    expect(answers).toBe(5);
  });
});
