import {
  DualStackServiceIpAllocator,
  IpamError,
  NodePortAllocator,
  ServiceIpAllocator,
  seededRandom,
} from "@knet/ipam";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("ServiceIpAllocator (kube-apiserver ClusterIPs)", () => {
  it("sizes the range without network and broadcast, and the band as kube-apiserver", () => {
    const a = new ServiceIpAllocator("10.96.0.0/12");
    expect(a.size).toBe(2 ** 20 - 2);
    expect(a.staticBand).toBe(256);
    expect(a.kubernetesServiceIp().toString()).toBe("10.96.0.1");
    const small = new ServiceIpAllocator("10.0.0.0/24");
    expect(small.size).toBe(254);
    expect(small.staticBand).toBe(16);
    const v6 = new ServiceIpAllocator("fd00:10:96::/108");
    expect(v6.size).toBe(65535); // capped at 65536, minus the network address
    expect(v6.kubernetesServiceIp().toString()).toBe("fd00:10:96::1");
  });

  it("dynamic picks avoid the static band until the upper band is full", () => {
    const a = new ServiceIpAllocator("10.0.0.0/24", { random: seededRandom(7) });
    const band = a.staticBand;
    for (let i = 0; i < a.size - band; i++) {
      const ip = a.allocateNext();
      expect(ip.w3 - Addr.parse("10.0.0.1").w3).toBeGreaterThanOrEqual(band);
    }
    const next = a.allocateNext();
    expect(next.w3 - Addr.parse("10.0.0.1").w3).toBeLessThan(band);
  });

  it("rejects out-of-range and taken addresses with the apiserver texts", () => {
    const a = new ServiceIpAllocator("10.96.0.0/12");
    expect(() => a.allocate("10.96.0.0")).toThrow(
      "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
    );
    expect(() => a.allocate("10.111.255.255")).toThrow(IpamError);
    expect(() => a.allocate("10.200.0.1")).toThrow("not in the valid range");
    a.allocate("10.96.0.10");
    expect(() => a.allocate("10.96.0.10")).toThrow("provided IP is already allocated");
    expect(a.release("10.96.0.10")).toBe(true);
    expect(a.release("10.96.0.10")).toBe(false);
    expect(a.release("192.168.0.1")).toBe(false);
  });

  it("exhausts exactly at capacity and a release makes an address allocatable", () => {
    fc.assert(
      fc.property(fc.integer({ min: 23, max: 29 }), fc.nat(), (len, seed) => {
        const a = new ServiceIpAllocator(`10.1.0.0/${len}`, { random: seededRandom(seed) });
        const seen = new Set<string>();
        for (let i = 0; i < a.size; i++) {
          const ip = a.allocateNext().toString();
          expect(seen.has(ip)).toBe(false);
          seen.add(ip);
        }
        expect(seen.size).toBe(2 ** (32 - len) - 2);
        expect(() => a.allocateNext()).toThrow("range is full");
        const victim = [...seen][seed % seen.size] as string;
        a.release(victim);
        expect(a.allocateNext().toString()).toBe(victim);
      }),
      { numRuns: 20 },
    );
  });

  it("never hands out an address twice under random allocate/release sequences (IPv4 and IPv6)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("10.2.0.0/26", "fd00::/120"),
        fc.array(fc.oneof(fc.constant<"next">("next"), fc.nat(80), fc.integer({ min: -80, max: -1 })), {
          maxLength: 300,
        }),
        fc.nat(),
        (cidr, ops, seed) => {
          const a = new ServiceIpAllocator(cidr, { random: seededRandom(seed) });
          const held = new Set<string>();
          for (const op of ops) {
            if (op === "next") {
              if (held.size === a.size) {
                expect(() => a.allocateNext()).toThrow("range is full");
                continue;
              }
              const ip = a.allocateNext().toString();
              expect(held.has(ip)).toBe(false);
              held.add(ip);
            } else if (op >= 0) {
              const ip = a.addrAt(op % a.size).toString();
              if (held.has(ip)) expect(() => a.allocate(ip)).toThrow("already allocated");
              else {
                a.allocate(ip);
                held.add(ip);
              }
            } else {
              const ip = a.addrAt(-op % a.size).toString();
              expect(a.release(ip)).toBe(held.delete(ip));
            }
            expect(a.used).toBe(held.size);
          }
          expect(a.list().map(String).sort()).toEqual([...held].sort());
        },
      ),
    );
  });

  it("dual stack allocates one address per family, all or nothing", () => {
    const d = new DualStackServiceIpAllocator(["10.0.0.0/30", "fd00::/120"], { random: seededRandom(1) });
    const [v4, v6] = d.allocate([4, 6]);
    expect(v4?.family).toBe(4);
    expect(v6?.family).toBe(6);
    // The /30 has 2 addresses; the second is taken next, then it is full.
    d.allocate([4]);
    const v6Before = d.byFamily.get(6)?.used;
    expect(() => d.allocate([6, 4])).toThrow("range is full");
    expect(d.byFamily.get(6)?.used).toBe(v6Before); // rolled back
    expect(() => new DualStackServiceIpAllocator(["10.0.0.0/24", "10.1.0.0/24"])).toThrow("different IP families");
  });
});

describe("NodePortAllocator (kube-apiserver NodePorts)", () => {
  it("defaults to 30000-32767 with a static band of 86 ports used last", () => {
    const p = new NodePortAllocator(undefined, { random: seededRandom(3) });
    expect(p.range).toBe("30000-32767");
    expect(p.size).toBe(2768);
    expect(p.staticBand).toBe(86);
    for (let i = 0; i < p.size - 86; i++) expect(p.allocateNext()).toBeGreaterThanOrEqual(30086);
    expect(p.allocateNext()).toBeLessThan(30086);
  });

  it("uses the apiserver texts and exhausts exactly at capacity", () => {
    const p = new NodePortAllocator("30000-30019", { random: seededRandom(1) });
    expect(() => p.allocate(8080)).toThrow(
      "provided port is not in the valid range. The range of valid ports is 30000-30019",
    );
    p.allocate(30005);
    expect(() => p.allocate(30005)).toThrow("provided port is already allocated");
    const got = new Set([30005]);
    for (let i = 0; i < 19; i++) got.add(p.allocateNext());
    expect(got.size).toBe(20);
    expect(() => p.allocateNext()).toThrow("range is full");
    p.release(30011);
    expect(p.allocateNext()).toBe(30011);
    expect(() => new NodePortAllocator("32767-30000")).toThrow(IpamError);
  });
});
