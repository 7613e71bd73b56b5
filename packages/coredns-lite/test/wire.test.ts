import { decodeMessage, encodeQuery, encodeResponse, Flag, parseQuery, type Rr } from "@knet/coredns-lite";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => `${ls.join(".")}.`);
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const rr: fc.Arbitrary<Rr> = fc.oneof(
  fc.record({ name, type: fc.constant(1 as const), ttl: fc.nat(86400), address: v4 }),
  fc.record({ name, type: fc.constant(5 as const), ttl: fc.nat(86400), target: name }),
  fc.record({ name, type: fc.constant(12 as const), ttl: fc.nat(86400), target: name }),
  fc.record({
    name,
    type: fc.constant(33 as const),
    ttl: fc.nat(86400),
    priority: fc.nat(65535),
    weight: fc.nat(65535),
    port: fc.nat(65535),
    target: name,
  }),
  fc.record({
    name,
    type: fc.constant(16 as const),
    ttl: fc.nat(86400),
    text: fc.array(fc.stringMatching(/^[ -~]{0,30}$/), { minLength: 1, maxLength: 3 }),
  }),
);

describe("wire codec", () => {
  it("encode then decode gives the same records (with compression)", () => {
    fc.assert(
      fc.property(name, fc.array(rr, { maxLength: 12 }), fc.array(rr, { maxLength: 3 }), (q, answer, additional) => {
        const bytes = encodeResponse(
          { rcode: 0, authoritative: true, truncated: false, answer, authority: [], additional },
          { id: 9, recursionDesired: true, question: { name: q, type: 1, class: 1 } },
        );
        const m = decodeMessage(bytes);
        expect(m.id).toBe(9);
        expect(m.flags & Flag.AA).not.toBe(0);
        expect(m.flags & Flag.RD).not.toBe(0);
        expect(m.question).toEqual([{ name: q, type: 1, class: 1 }]);
        expect(m.answer).toEqual(answer);
        expect(m.additional).toEqual(additional);
      }),
      { numRuns: 400 },
    );
  });

  it("compression makes repeated names cheap", () => {
    const q = "svc1.testns.svc.cluster.local.";
    const answer: Rr[] = Array.from({ length: 20 }, (_, i) => ({ name: q, type: 1, ttl: 5, address: `10.0.0.${i}` }));
    const bytes = encodeResponse(
      { rcode: 0, authoritative: true, truncated: false, answer, authority: [], additional: [] },
      { id: 1, recursionDesired: false, question: { name: q, type: 1, class: 1 } },
    );
    // header + question (31 + 4) + 20 × (2-byte pointer + 10 + 4)
    expect(bytes.length).toBe(12 + 35 + 20 * 16);
  });

  it("truncation keeps a prefix of whole records within the limit and sets TC only when something was dropped", () => {
    fc.assert(
      fc.property(fc.array(rr, { maxLength: 60 }), fc.integer({ min: 512, max: 2000 }), (answer, limit) => {
        const res = { rcode: 0, authoritative: true, truncated: false, answer, authority: [], additional: [] };
        const opts = { id: 1, recursionDesired: false, question: { name: "q.example.", type: 1, class: 1 } };
        const full = encodeResponse(res, opts);
        const cut = encodeResponse(res, { ...opts, limit, opt: { udpSize: limit, extendedRcode: 0, dnssecOk: false } });
        expect(cut.length).toBeLessThanOrEqual(limit);
        const m = decodeMessage(cut);
        expect(m.answer).toEqual(answer.slice(0, m.answer.length));
        const tc = (m.flags & Flag.TC) !== 0;
        expect(tc).toBe(m.answer.length < answer.length);
        if (full.length + 11 <= limit) expect(tc).toBe(false);
        expect(m.ednsUdpSize).toBe(limit);
      }),
      { numRuns: 300 },
    );
  });

  it("parseQuery reads what encodeQuery wrote, lower-casing the key", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), { minLength: 1, maxLength: 6 }),
        fc.nat(65535),
        fc.option(fc.integer({ min: 0, max: 65535 })),
        (labels, type, size) => {
          const n = `${labels.join(".")}.`;
          const q = parseQuery(encodeQuery(77, n, type, size === null ? {} : { udpSize: size }));
          if (typeof q === "number") throw new Error(`rejected ${q}`);
          expect(q.key).toBe(n.toLowerCase());
          expect(q.qtype).toBe(type);
          expect(q.edns).toBe(size !== null);
          expect(q.udpSize).toBe(size === null ? 512 : Math.max(512, size));
        },
      ),
    );
  });

  it("escapes odd bytes in names and reads them back", () => {
    const raw = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x2e, 0x20, 0, 0, 1, 0, 1]);
    const q = parseQuery(raw);
    if (typeof q === "number") throw new Error("rejected");
    expect(q.key).toBe("a\\.\\032.");
    const enc = encodeResponse(
      {
        rcode: 0,
        authoritative: false,
        truncated: false,
        answer: [{ name: q.key, type: 1, ttl: 1, address: "1.2.3.4" }],
        authority: [],
        additional: [],
      },
      { id: 1, recursionDesired: false, question: { name: q.key, type: 1, class: 1 } },
    );
    expect([...enc.subarray(12, 21)]).toEqual([...raw.subarray(12, 21)]);
  });
});
