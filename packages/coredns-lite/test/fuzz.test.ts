/**
 * Hostile packets: random bytes, mutations of valid queries, bad label lengths,
 * compression loops and wrong counts. The server must never throw, answer only
 * with well-formed replies (FORMERR/NOTIMP header-only replies for what it
 * rejects), stay within 512 bytes for queries without EDNS, and still answer a
 * normal query afterwards, in-process and over a real UDP socket.
 */
import { DnsIndex, DnsServer, decodeMessage, encodeQuery, Flag, parseQuery, Rcode, RRType } from "@knet/coredns-lite";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { udpExchange } from "./client.js";
import { bigHeadless, fixtureObjects } from "./fixture.js";

const NAMES = [
  "svc1.testns.svc.cluster.local.",
  "hdls1.testns.svc.cluster.local.",
  "big.testns.svc.cluster.local.",
  "x.cluster.local.",
  "example.com.",
];

function checkReply(query: Uint8Array, reply: Uint8Array | null): void {
  if (reply === null) return;
  expect(reply.length).toBeGreaterThanOrEqual(12);
  expect(reply[0]).toBe(query[0]);
  expect(reply[1]).toBe(query[1]);
  expect((((reply[2] as number) << 8) & Flag.QR) !== 0).toBe(true);
  const m = decodeMessage(reply);
  const parsed = parseQuery(query);
  if (typeof parsed === "number") {
    // Rejected before the chain: header only, FORMERR or NOTIMP.
    expect(reply.length).toBe(12);
    expect([Rcode.FORMERR, Rcode.NOTIMP]).toContain(m.rcode);
    expect(parsed).toBe(m.rcode);
  } else {
    if (!parsed.edns) expect(reply.length).toBeLessThanOrEqual(512);
    else expect(reply.length).toBeLessThanOrEqual(Math.max(512, parsed.udpSize));
    expect(m.question.length).toBe(1);
  }
}

function mutate(base: Uint8Array, edits: readonly [number, number][], cut: number, extra: Uint8Array): Uint8Array {
  const out = new Uint8Array([...base.subarray(0, Math.max(0, base.length - cut)), ...extra]);
  for (const [pos, val] of edits) if (out.length > 0) out[pos % out.length] = val;
  return out;
}

describe("fuzz: the server never crashes and rejects malformed queries", () => {
  const index = DnsIndex.from([...fixtureObjects(), ...bigHeadless(100)]);
  const server = new DnsServer({ index, listen: { port: 0 }, logSink: () => {} });

  beforeAll(() => server.start());
  afterAll(() => server.stop());

  const handle = (b: Uint8Array): Uint8Array | null => {
    const r = server.handle(b, "udp");
    expect(r instanceof Promise).toBe(false);
    return r as Uint8Array | null;
  };

  it("random byte strings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        checkReply(bytes, handle(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated valid queries (bit flips, truncation, trailing bytes)", () => {
    const base = fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(1, 28, 33, 12, 255, 252), fc.boolean());
    fc.assert(
      fc.property(
        base,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
        fc.nat(20),
        fc.uint8Array({ maxLength: 40 }),
        ([name, type, edns], edits, cut, extra) => {
          const q = encodeQuery(0x1234, name, type, edns ? { udpSize: 1232 } : {});
          const m = mutate(q, edits, cut, extra);
          checkReply(m, handle(m));
        },
      ),
      { numRuns: 4000 },
    );
  });

  it("specific malformations get FORMERR, NOTIMP or no reply", () => {
    const q = encodeQuery(7, "svc1.testns.svc.cluster.local.", RRType.A);
    const rc = (b: Uint8Array): number | null => {
      const r = handle(b);
      return r === null ? null : decodeMessage(r).rcode;
    };
    expect(rc(q)).toBe(Rcode.NOERROR);
    expect(rc(q.subarray(0, 11))).toBeNull(); // shorter than a header
    const resp = q.slice();
    resp[2] = (resp[2] as number) | 0x80; // QR set: a response, ignored
    expect(rc(resp)).toBeNull();
    const qd0 = q.slice();
    qd0[5] = 0;
    expect(rc(qd0)).toBe(Rcode.FORMERR);
    const qd2 = q.slice();
    qd2[5] = 2;
    expect(rc(qd2)).toBe(Rcode.FORMERR);
    const an2 = q.slice();
    an2[7] = 2;
    expect(rc(an2)).toBe(Rcode.FORMERR);
    const label64 = q.slice();
    label64[12] = 64;
    expect(rc(label64)).toBe(Rcode.FORMERR);
    const ptrInQuestion = q.slice();
    ptrInQuestion[12] = 0xc0;
    ptrInQuestion[13] = 12;
    expect(rc(ptrInQuestion)).toBe(Rcode.FORMERR);
    expect(rc(q.subarray(0, q.length - 2))).toBe(Rcode.FORMERR); // question cut short
    const opcode = q.slice();
    opcode[2] = ((opcode[2] as number) & 0x87) | (2 << 3); // STATUS
    expect(rc(opcode)).toBe(Rcode.NOTIMP);
    // An additional record whose name is a compression loop (points at itself).
    const loop = new Uint8Array([...q, 0xc0, q.length, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    loop[11] = 1;
    expect(rc(loop)).toBe(Rcode.FORMERR);
    // Two OPT records.
    const e = encodeQuery(8, "svc1.testns.svc.cluster.local.", RRType.A, { udpSize: 1232 });
    const twoOpt = new Uint8Array([...e, ...e.subarray(e.length - 11)]);
    twoOpt[11] = 2;
    expect(rc(twoOpt)).toBe(Rcode.FORMERR);
    // Bytes after the question (no records announced) or after the OPT record: FORMERR.
    expect(rc(new Uint8Array([...q, 0]))).toBe(Rcode.FORMERR);
    expect(rc(new Uint8Array([...e, 1, 2, 3]))).toBe(Rcode.FORMERR);
    // Type 0 is reserved: NOTIMP, with the question echoed.
    const t0 = q.slice();
    t0[t0.length - 3] = 0;
    t0[t0.length - 4] = 0;
    const r0 = decodeMessage(handle(t0) as Uint8Array);
    expect(r0.rcode).toBe(Rcode.NOTIMP);
    expect(r0.question).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 0, class: 1 }]);
    expect(r0.answer).toEqual([]);
    // EDNS version 1: BADVERS (extended rcode 16).
    const v1 = e.slice();
    v1[v1.length - 5] = 1; // the OPT version byte
    expect(rc(v1)).toBe(Rcode.BADVERS);
  });

  it("thousands of hostile UDP packets, then a normal query is still answered", async () => {
    const port = server.address().port;
    const gen = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 300 }), { numRuns: 1500, seed: 42 });
    const q = encodeQuery(1, "hdls1.testns.svc.cluster.local.", RRType.A);
    const mutated = fc
      .sample(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), { numRuns: 1500, seed: 7 })
      .map((ed) => mutate(q, ed, 0, new Uint8Array()));
    const { createSocket } = await import("node:dgram");
    const s = createSocket("udp4");
    let replies = 0;
    s.on("message", () => {
      replies++;
    });
    await new Promise<void>((ok) => s.bind(0, "127.0.0.1", () => ok()));
    for (const [i, p] of [...gen, ...mutated].entries()) {
      s.send(p, port, "127.0.0.1");
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 200));
    s.close();
    expect(replies).toBeGreaterThan(0);
    const reply = await udpExchange(port, encodeQuery(99, "svc1.testns.svc.cluster.local.", RRType.A));
    expect(reply).not.toBeNull();
    const m = decodeMessage(reply as Buffer);
    expect(m.rcode).toBe(Rcode.NOERROR);
    expect(m.answer).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 5, address: "10.0.0.1" }]);
  });
});
