import { DEFAULT_CACHE_OPTIONS, type DnsResponse, ResponseCache, seededRandom } from "@knet/coredns-lite";
import { describe, expect, it } from "vitest";

const soa = {
  name: "z.",
  type: 6 as const,
  ttl: 60,
  mname: "ns.z.",
  rname: "h.z.",
  serial: 1,
  refresh: 1,
  retry: 1,
  expire: 1,
  minimum: 1,
};
const pos = (ttl: number): DnsResponse => ({
  rcode: 0,
  authoritative: true,
  truncated: false,
  answer: [{ name: "a.z.", type: 1, ttl, address: "10.0.0.1" }],
  authority: [],
  additional: [],
});

describe("ResponseCache", () => {
  it("keeps an entry for its smallest TTL, clamped, and serves aged TTLs", () => {
    const c = new ResponseCache(DEFAULT_CACHE_OPTIONS, seededRandom(1));
    expect(c.put("k", pos(30), 0)).toBe(30);
    expect(c.get("k", 10_500)?.res.answer[0]?.ttl).toBe(20);
    expect(c.get("k", 30_000)).toBeUndefined();
    expect(c.put("short", pos(1), 0)).toBe(5); // min TTL 5
    expect(c.put("long", pos(100_000), 0)).toBe(3600); // success cap
  });

  it("caps denials separately and classifies replies as CoreDNS does", () => {
    const c = new ResponseCache(DEFAULT_CACHE_OPTIONS, seededRandom(1));
    const nx: DnsResponse = {
      rcode: 3,
      authoritative: true,
      truncated: false,
      answer: [],
      authority: [{ ...soa, ttl: 100_000 }],
      additional: [],
    };
    expect(c.put("nx", nx, 0)).toBe(1800);
    expect(c.get("nx", 0)?.kind).toBe("denial");
    expect(c.put("nx-nosoa", { ...nx, authority: [] }, 0)).toBe(0);
    expect(c.put("tc", { ...pos(30), truncated: true }, 0)).toBe(0);
    expect(c.put("refused", { ...pos(30), rcode: 5 }, 0)).toBe(0);
    expect(c.put("servfail", { ...pos(30), rcode: 2, answer: [] }, 0)).toBe(5);
    expect(c.put("nodata", { ...nx, rcode: 0 }, 0, false, true)).toBe(0); // disable denial
  });

  it("never holds more than its capacity (random eviction per shard)", () => {
    const c = new ResponseCache(
      { ...DEFAULT_CACHE_OPTIONS, success: { capacity: 1024, maxTtl: 60, minTtl: 5 } },
      seededRandom(2),
    );
    for (let i = 0; i < 20_000; i++) c.put(`k${i}`, pos(30), 0);
    expect(c.sizes().success).toBeLessThanOrEqual(1024);
    expect(c.sizes().success).toBeGreaterThan(900);
  });
});
