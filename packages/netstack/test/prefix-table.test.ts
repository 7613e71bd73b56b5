import { Addr, Prefix, PrefixTable } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const word = fc.integer({ min: 0, max: 0xffffffff });
/** Prefixes clustered in 10.0.0.0/16 so lookups often hit nested entries. */
const prefix4 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 8, max: 32 }))
  .map(([o, l]) => Prefix.of(Addr.v4(0x0a000000 + o), l, true));
const prefix6 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), word, fc.integer({ min: 0, max: 128 }))
  .map(([a, b, l]) => Prefix.of(Addr.v6(0xfd000000 + a, b, 0, 1), l, true));

function bruteForce<T>(entries: readonly [Prefix, T][], a: Addr): T | undefined {
  let best: [Prefix, T] | undefined;
  for (const e of entries) if (e[0].contains(a) && (!best || e[0].length > best[0].length)) best = e;
  return best?.[1];
}

describe("PrefixTable", () => {
  it("longest-prefix match equals a brute-force scan under random inserts and deletes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(prefix4, prefix6), fc.boolean()), { maxLength: 60 }),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 0xffff }).map((o) => Addr.v4(0x0a000000 + o)),
            fc.tuple(fc.integer({ min: 0, max: 0xffff }), word).map(([a, b]) => Addr.v6(0xfd000000 + a, b, 0, 1)),
          ),
          { maxLength: 40 },
        ),
        (ops, probes) => {
          const table = new PrefixTable<number>();
          const model = new Map<string, [Prefix, number]>();
          ops.forEach(([p, del], i) => {
            if (del) {
              expect(table.delete(p)).toBe(model.delete(p.toString()));
            } else {
              table.insert(p, i);
              model.set(p.toString(), [p, i]);
            }
          });
          expect(table.size).toBe(model.size);
          for (const a of probes) {
            expect(table.lookup(a)).toBe(bruteForce([...model.values()], a));
            if (a.family === 4) expect(table.lookupV4(a.w3)).toBe(table.lookup(a));
          }
          for (const [p, v] of model.values()) expect(table.get(p)).toBe(v);
          // Iteration is sorted: IPv4 then IPv6, by address then length.
          const listed = [...table].map((e) => e.prefix);
          const sorted = [...listed].sort((x, y) => x.compare(y));
          expect(listed.map(String)).toEqual(sorted.map(String));
          expect(listed.length).toBe(model.size);
        },
      ),
    );
  });

  it("a default route catches everything of its family only", () => {
    const t = new PrefixTable<string>().insert(Prefix.parse("0.0.0.0/0"), "v4 default");
    expect(t.lookup(Addr.parse("203.0.113.9"))).toBe("v4 default");
    expect(t.lookup(Addr.parse("2001:db8::1"))).toBeUndefined();
    expect(t.lookupEntry(Addr.parse("1.2.3.4"))?.prefix.toString()).toBe("0.0.0.0/0");
  });
});

describe("PrefixTable with its first-level index (over 1024 IPv4 prefixes)", () => {
  it("still equals a brute-force scan after inserts and deletes of short and long prefixes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        let s = seed;
        const rand = (): number => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return s;
        };
        const table = new PrefixTable<number>();
        const model = new Map<string, [Prefix, number]>();
        for (let i = 0; i < 1500; i++) {
          // Mostly inside 10.0.0.0/8 so short and long prefixes nest; some /0-/16.
          const len = i % 10 === 0 ? rand() % 17 : 8 + (rand() % 25);
          const p = Prefix.of(Addr.v4((0x0a000000 | (rand() & 0xffffff)) >>> 0), len, true);
          table.insert(p, i);
          model.set(p.toString(), [p, i]);
        }
        const keys = [...model.keys()];
        for (let i = 0; i < 200; i++) {
          const k = keys[rand() % keys.length] as string;
          const e = model.get(k);
          if (e) {
            expect(table.delete(e[0])).toBe(true);
            model.delete(k);
          }
        }
        const entries = [...model.values()];
        for (let i = 0; i < 300; i++) {
          const a = Addr.v4((i % 3 === 0 ? rand() : 0x0a000000 | (rand() & 0xffffff)) >>> 0);
          expect(table.lookupV4(a.w3)).toBe(bruteForce(entries, a));
        }
      }),
      { numRuns: 5 },
    );
  });
});
