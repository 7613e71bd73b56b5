import { Addr, AddrError, parseIPv4 } from "@knet/netstack";
import fc from "fast-check";
import { Address4, Address6 } from "ip-address";
import { describe, expect, it } from "vitest";

const v4 = fc.integer({ min: 0, max: 0xffffffff });
const word = fc.integer({ min: 0, max: 0xffffffff });
const v6 = fc.tuple(word, word, word, word).map(([a, b, c, d]) => Addr.v6(a, b, c, d));
/** IPv6 addresses with long zero runs, where '::' placement matters. */
const v6Sparse = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g) =>
    Addr.v6(
      ((g[0] ?? 0) << 16) | (g[1] ?? 0),
      ((g[2] ?? 0) << 16) | (g[3] ?? 0),
      ((g[4] ?? 0) << 16) | (g[5] ?? 0),
      ((g[6] ?? 0) << 16) | (g[7] ?? 0),
    ),
  );

/** ip-address as the oracle: RFC 5952 text, with mapped addresses in mixed notation. */
function oracle6(a: Addr): string {
  const o = Address6.fromBigInt(a.toBigInt());
  return a.isV4Mapped() ? o.to4in6() : o.correctForm();
}

describe("Addr parsing and formatting", () => {
  it("round-trips IPv4 text and agrees with ip-address", () => {
    fc.assert(
      fc.property(v4, (n) => {
        const text = Address4.fromInteger(n).correctForm();
        const a = Addr.parse(text);
        expect(a.family).toBe(4);
        expect(a.w3).toBe(n);
        expect(a.toString()).toBe(text);
        expect(a.toBigInt()).toBe(BigInt(n));
      }),
    );
  });

  it("formats IPv6 as RFC 5952 (ip-address oracle) and parses its own and the full form back", () => {
    fc.assert(
      fc.property(fc.oneof(v6, v6Sparse), (a) => {
        const text = a.toString();
        expect(text).toBe(oracle6(a));
        expect(Addr.parse(text).equals(a)).toBe(true);
        const full = Address6.fromBigInt(a.toBigInt()).canonicalForm().toUpperCase();
        expect(Addr.parse(full).equals(a)).toBe(true);
        expect(Addr.fromBigInt(a.toBigInt(), 6).equals(a)).toBe(true);
        expect(Addr.fromBytes(a.toBytes()).equals(a)).toBe(true);
      }),
    );
  });

  it("accepts exactly the IPv4 strings ip-address accepts as strict dotted quads", () => {
    const part = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom("00", "01", "007", "", "a", "-1"),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 3, maxLength: 5 }), (parts) => {
        const text = parts.join(".");
        expect(Addr.isValid(text)).toBe(Address4.isValid(text));
      }),
    );
  });

  it.each([
    ["10.0.0.256", "greater than 255"],
    ["01.2.3.4", "leading zero"],
    ["::1::", "'::' appears more than once"],
    ["1.2.3", "expected 4 dot-separated parts"],
    ["", "empty string"],
    ["fe80::1%eth0", "zone ids are not accepted"],
    ["1:2:3:4:5:6:7:8:9", "more than 8 groups"],
    ["12345::", "more than 4 hex digits"],
    ["1:2:3:4:5:6:7", "expected 8 groups, found 7"],
  ])("rejects %j with a typed error naming it (%s)", (text, reason) => {
    let err: unknown;
    try {
      Addr.parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddrError);
    const e = err as AddrError;
    expect(e.input).toBe(text);
    expect(e.message).toContain(JSON.stringify(text));
    expect(e.message).toContain(reason);
  });

  it("parses zones only when asked, and embedded IPv4", () => {
    const z = Addr.parse("fe80::1%eth0", { allowZone: true });
    expect(z.zone).toBe("eth0");
    expect(z.toString()).toBe("fe80::1%eth0");
    expect(z.withoutZone().toString()).toBe("fe80::1");
    expect(Addr.parse("64:ff9b::192.0.2.33").toString()).toBe("64:ff9b::c000:221");
    expect(() => parseIPv4("1.2.3.4.5")).toThrow(AddrError);
  });
});

describe("Addr arithmetic", () => {
  it("next/prev/add agree with bigint arithmetic and stop at the ends", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          v4.map((n) => Addr.v4(n)),
          v6,
        ),
        fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }),
        (a, k) => {
          const max = a.family === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
          const want = a.toBigInt() + k;
          if (want < 0n || want > max) expect(() => a.add(k)).toThrow(AddrError);
          else expect(a.add(k).toBigInt()).toBe(want);
        },
      ),
    );
    expect(() => Addr.parse("255.255.255.255").next()).toThrow(/leaves the IPv4 range/);
    expect(() => Addr.parse("::").prev()).toThrow(AddrError);
    expect(Addr.parse("10.0.0.255").next().toString()).toBe("10.0.1.0");
  });

  it("orders IPv4 before IPv6 and numerically within a family", () => {
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        expect(Math.sign(a.compare(b))).toBe(a.toBigInt() < b.toBigInt() ? -1 : a.toBigInt() > b.toBigInt() ? 1 : 0);
      }),
    );
    expect(Addr.parse("255.255.255.255").compare(Addr.parse("::"))).toBeLessThan(0);
  });

  it("maps and unmaps IPv4-in-IPv6", () => {
    const m = Addr.parse("::ffff:10.1.2.3");
    expect(m.isV4Mapped()).toBe(true);
    expect(m.toString()).toBe("::ffff:10.1.2.3");
    expect(m.unmap().toString()).toBe("10.1.2.3");
    expect(Addr.parse("10.1.2.3").toV4Mapped().equals(m)).toBe(true);
    expect(Addr.parse("::ffff:a01:203").equals(m)).toBe(true);
  });
});
