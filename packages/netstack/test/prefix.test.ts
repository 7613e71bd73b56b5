import { Addr, AddrError, Prefix } from "@knet/netstack";
import fc from "fast-check";
import { Address4, Address6 } from "ip-address";
import { describe, expect, it } from "vitest";

const word = fc.integer({ min: 0, max: 0xffffffff });
const addr4 = word.map((n) => Addr.v4(n));
const addr6 = fc.tuple(word, word, word, word).map(([a, b, c, d]) => Addr.v6(a, b, c, d));
const prefix4 = fc.tuple(addr4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => Prefix.of(a, l, true));
const prefix6 = fc.tuple(addr6, fc.integer({ min: 0, max: 128 })).map(([a, l]) => Prefix.of(a, l, true));
/** Small IPv4 prefixes inside 10.0.0.0/20 so brute force over their addresses is cheap. */
const small = fc
  .tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 20, max: 32 }))
  .map(([o, l]) => Prefix.of(Addr.v4(0x0a000000 + o), l, true));

function addrsOf(ps: readonly Prefix[]): Set<number> {
  const s = new Set<number>();
  for (const p of ps) for (let i = 0n; i < p.size(); i++) s.add(p.addr.w3 + Number(i));
  return s;
}

describe("Prefix", () => {
  it("round-trips text and agrees with ip-address on first/last/contains (IPv4)", () => {
    fc.assert(
      fc.property(prefix4, addr4, (p, a) => {
        expect(Prefix.parse(p.toString()).equals(p)).toBe(true);
        const o = new Address4(p.toString());
        expect(p.first().toString()).toBe(o.startAddress().correctForm());
        expect(p.last().toString()).toBe(o.endAddress().correctForm());
        expect(p.contains(a)).toBe(new Address4(a.toString()).isInSubnet(o));
        expect(p.containsV4(a.w3)).toBe(p.contains(a));
      }),
    );
  });

  it("agrees with ip-address on contains (IPv6)", () => {
    fc.assert(
      fc.property(prefix6, addr6, fc.boolean(), (p, a, inside) => {
        const probe = inside ? p.nth(a.toBigInt() % p.size()) : a;
        const o = new Address6(p.toString());
        expect(p.contains(probe)).toBe(new Address6(probe.toString()).isInSubnet(o));
        expect(Prefix.parse(p.toString()).equals(p)).toBe(true);
      }),
    );
  });

  it.each([
    ["10.0.0.0/33", "prefix length 33 is greater than 32"],
    ["10.1.2.3/8", "host bits are set; did you mean 10.0.0.0/8?"],
    ["10.0.0.0", "missing '/length'"],
    ["10.0.0.0/08", "not a decimal number"],
    ["fd00::/129", "greater than 128"],
    ["10.0.0.256/24", "greater than 255"],
  ])("rejects %j (%s)", (text, reason) => {
    expect(() => Prefix.parse(text)).toThrow(AddrError);
    expect(() => Prefix.parse(text)).toThrow(reason);
    expect(() => Prefix.parse(text)).toThrow(JSON.stringify(text));
  });

  it("masks host bits only when asked", () => {
    expect(Prefix.parse("10.1.2.3/8", { mask: true }).toString()).toBe("10.0.0.0/8");
    expect(Prefix.parse("fd00::1/64", { mask: true }).toString()).toBe("fd00::/64");
  });

  it("size, nth, indexOf, subnets and supernet", () => {
    const p = Prefix.parse("10.96.0.0/12");
    expect(p.size()).toBe(1048576n);
    expect(p.nth(1).toString()).toBe("10.96.0.1");
    expect(p.nth(-1).toString()).toBe("10.111.255.255");
    expect(p.indexOf(Addr.parse("10.96.1.0"))).toBe(256n);
    expect(() => p.nth(1048576)).toThrow(AddrError);
    expect([...p.subnets(14)].map(String)).toEqual(["10.96.0.0/14", "10.100.0.0/14", "10.104.0.0/14", "10.108.0.0/14"]);
    expect(p.supernet(8).toString()).toBe("10.0.0.0/8");
    expect(Prefix.parse("fd00:10:96::/108").size()).toBe(1048576n);
  });

  it("overlaps is symmetric and means a shared address", () => {
    fc.assert(
      fc.property(small, small, (a, b) => {
        const inB = addrsOf([b]);
        const shared = [...addrsOf([a])].some((x) => inB.has(x));
        expect(a.overlaps(b)).toBe(shared);
        expect(b.overlaps(a)).toBe(shared);
      }),
    );
  });

  it("subtract covers exactly the remaining addresses, minimally and in order", () => {
    fc.assert(
      fc.property(small, fc.array(small, { maxLength: 5 }), (p, cuts) => {
        const got = p.subtract(cuts);
        const cut = addrsOf(cuts);
        const want = new Set([...addrsOf([p])].filter((x) => !cut.has(x)));
        expect(addrsOf(got)).toEqual(want);
        // Disjoint, ordered, and minimal: no two neighbours could merge into their supernet.
        for (let i = 1; i < got.length; i++) {
          const [x, y] = [got[i - 1] as Prefix, got[i] as Prefix];
          expect(x.last().compare(y.first())).toBeLessThan(0);
          if (x.length === y.length && x.length > 0)
            expect(x.supernet().equals(y.supernet()) && x.supernet().covers(y)).toBe(false);
        }
      }),
    );
  });

  it("fromRange covers exactly first..last with the fewest aligned blocks", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const got = Prefix.fromRange(Addr.v4(lo), Addr.v4(hi));
        const s = addrsOf(got);
        expect(s.size).toBe(hi - lo + 1);
        expect(s.has(lo) && s.has(hi)).toBe(true);
        // Greedy aligned blocks: at most 2 per bit of the range width.
        expect(got.length).toBeLessThanOrEqual(2 * 32);
      }),
    );
    expect(Prefix.fromRange(Addr.parse("10.0.0.1"), Addr.parse("10.0.0.6")).map(String)).toEqual([
      "10.0.0.1/32",
      "10.0.0.2/31",
      "10.0.0.4/31",
      "10.0.0.6/32",
    ]);
    expect(
      Prefix.fromRange(Addr.parse("::"), Addr.parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).map(String),
    ).toEqual(["::/0"]);
  });
});
