/** The server's wire answers agree with the pure resolve() for any question. */
import { DnsIndex, DnsServer, decodeMessage, encodeQuery, Flag, resolve, typeCode } from "@knet/coredns-lite";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bigHeadless, fixtureObjects } from "./fixture.js";
import { ROWS } from "./table.js";

const ZONES = ["cluster.local", "in-addr.arpa", "ip6.arpa"];

describe("server vs resolve()", () => {
  const index = DnsIndex.from([...fixtureObjects(), ...bigHeadless(40)]);
  const server = new DnsServer({ index, config: `${ZONES.join(" ")} {\n kubernetes ${ZONES.join(" ")}\n}` });
  const names = [
    ...new Set(ROWS.map((r) => r.name)),
    "big.testns.svc.cluster.local.",
    "_http._tcp.big.testns.svc.cluster.local.",
  ];
  const labelsOf = (n: string) => n.split(".").filter((l) => l !== "");

  it("same rcode, flags and sections for random names, cases and types (TCP sizes, no truncation)", async () => {
    const name = fc.oneof(
      fc.constantFrom(...names),
      fc.tuple(fc.constantFrom(...names), fc.stringMatching(/^[a-z0-9-]{1,8}$/)).map(([n, l]) => `${l}.${n}`),
      fc.tuple(fc.constantFrom(...names), fc.nat()).map(
        ([n, k]) =>
          `${labelsOf(n)
            .slice(k % Math.max(1, labelsOf(n).length))
            .join(".")}.`,
      ),
    );
    const cased = fc
      .tuple(name, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }))
      .map(([n, up]) => [...n].map((c, i) => (up[i % 64] ? c.toUpperCase() : c)).join(""));
    const type = fc.constantFrom("A", "AAAA", "SRV", "PTR", "TXT", "CNAME", "NS", "SOA", "MX", "HINFO");
    await fc.assert(
      fc.asyncProperty(cased, type, async (n, t) => {
        const wire = await server.handle(encodeQuery(42, n, typeCode(t) as number), "tcp");
        if (wire === null) throw new Error("expected a reply");
        const m = decodeMessage(wire);
        const r = resolve(index, { name: n, type: t }, { zones: ZONES });
        expect(m.rcode).toBe(r.rcode);
        expect((m.flags & Flag.AA) !== 0).toBe(r.authoritative);
        expect(m.flags & Flag.TC).toBe(0);
        expect(m.question[0]?.name).toBe(n);
        // Names read back exactly as resolve() spells them for this question (CoreDNS's casing).
        expect(m.answer).toEqual(r.answer);
        expect(m.authority).toEqual(r.authority);
        expect(m.additional).toEqual(r.additional);
        for (const x of m.answer) if (x.name.toLowerCase() === n.toLowerCase()) expect(x.name).toBe(n);
      }),
      { numRuns: 600 },
    );
  });
});
