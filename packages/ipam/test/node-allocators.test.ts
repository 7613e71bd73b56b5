import { BlockAllocator, CidrSet, NO_CIDRS_REMAINING, NodeCidrAllocator, seededRandom } from "@knet/ipam";
import { Addr, Prefix } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("CidrSet / NodeCidrAllocator (kube-controller-manager)", () => {
  it("hands out node subnets round-robin and fails with the controller's text when used up", () => {
    const s = new CidrSet("10.244.0.0/22", 24);
    expect(s.maxCidrs).toBe(4);
    expect([0, 1, 2, 3].map(() => s.allocateNext().toString())).toEqual([
      "10.244.0.0/24",
      "10.244.1.0/24",
      "10.244.2.0/24",
      "10.244.3.0/24",
    ]);
    expect(() => s.allocateNext()).toThrow(NO_CIDRS_REMAINING);
    s.release("10.244.1.0/24");
    expect(s.allocateNext().toString()).toBe("10.244.1.0/24");
    expect(() => s.occupy("10.0.0.0/24")).toThrow("cidr 10.0.0.0/24 is out the range of cluster cidr 10.244.0.0/22");
    expect(() => new CidrSet("fd00::/48", 112)).toThrow("New CIDR set failed; the node CIDR size is too big");
  });

  it("resumes after the last allocation, not at the lowest free slot", () => {
    const s = new CidrSet("10.0.0.0/16", 24);
    s.allocateNext();
    const b = s.allocateNext();
    s.release(b);
    expect(s.allocateNext().toString()).toBe("10.0.2.0/24");
  });

  it("gives every node one CIDR per family, occupies service ranges and existing podCIDRs", () => {
    const a = new NodeCidrAllocator({
      clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
      serviceCidrs: ["10.244.0.0/24"],
    });
    const n1 = a.allocateOrOccupy("node-1").map(String);
    expect(n1).toEqual(["10.244.1.0/24", "fd00:10:244::/64"]);
    expect(a.allocateOrOccupy("node-1").map(String)).toEqual(n1);
    a.allocateOrOccupy("node-2", ["10.244.7.0/24", "fd00:10:244:7::/64"]);
    const n3 = a.allocateOrOccupy("node-3").map(String);
    expect(n3).toEqual(["10.244.2.0/24", "fd00:10:244:1::/64"]);
    expect(a.release("node-1").map(String)).toEqual(n1);
    expect(a.podCidrs("node-1")).toBeUndefined();
  });

  it("allocation is all-or-nothing across families", () => {
    const a = new NodeCidrAllocator({ clusterCidrs: ["10.0.0.0/23", "fd00::/63"], nodeMaskSizeV6: 64 });
    a.allocateOrOccupy("a");
    a.allocateOrOccupy("b");
    expect(() => a.allocateOrOccupy("c")).toThrow(
      `failed to allocate cidr from cluster cidr at idx:0: ${NO_CIDRS_REMAINING}`,
    );
    a.release("a");
    expect(a.allocateOrOccupy("c").map(String)).toEqual(["10.0.0.0/24", "fd00::/64"]);
  });

  it("never gives two nodes overlapping CIDRs, and exhausts exactly at capacity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 18, max: 22 }), fc.array(fc.nat(40), { maxLength: 120 }), (len, ops) => {
        const a = new NodeCidrAllocator({ clusterCidrs: [`10.8.0.0/${len}`] });
        const cap = 2 ** (24 - len);
        const live = new Map<string, string>();
        for (const op of ops) {
          const node = `n${op}`;
          if (live.has(node)) {
            a.release(node);
            live.delete(node);
          } else if (live.size === cap) {
            expect(() => a.allocateOrOccupy(node)).toThrow(NO_CIDRS_REMAINING);
          } else {
            const [p] = a.allocateOrOccupy(node);
            const text = String(p);
            expect([...live.values()]).not.toContain(text);
            live.set(node, text);
          }
        }
      }),
    );
  });
});

describe("BlockAllocator (Calico-style blocks with affinity)", () => {
  it("claims /26 blocks per node, fills them in order, then claims another", () => {
    const b = new BlockAllocator({ pool: "10.10.0.0/24", random: seededRandom(5) });
    expect(b.blockCount).toBe(4);
    const first = b.allocate("n1", "p0");
    expect(first.block.length).toBe(26);
    expect(first.ip.toString()).toBe(first.block.addr.toString());
    for (let i = 1; i < 64; i++) expect(b.allocate("n1", `p${i}`).block.equals(first.block)).toBe(true);
    const next = b.allocate("n1", "p64");
    expect(next.block.equals(first.block)).toBe(false);
    expect(b.blocksOf("n1").length).toBe(2);
    expect(b.affinityOf(next.block)).toBe("n1");
  });

  it("borrows from another node's block when no block is free, unless strict", () => {
    const loose = new BlockAllocator({ pool: "10.10.0.0/25", random: seededRandom(1) });
    loose.allocate("n1", "a");
    loose.allocate("n2", "b");
    const c = loose.allocate("n3", "c");
    expect(c.borrowed).toBe(true);
    expect(loose.blocksOf("n3")).toEqual([]);
    const strict = new BlockAllocator({ pool: "10.10.0.0/25", strictAffinity: true, random: seededRandom(1) });
    strict.allocate("n1", "a");
    strict.allocate("n2", "b");
    expect(() => strict.allocate("n3", "c")).toThrow("failed to request 1 IPv4 addresses. IPAM allocated only 0");
  });

  it("reuses released ordinals last (FIFO) and releases by handle", () => {
    const b = new BlockAllocator({ pool: "10.10.0.0/26", random: seededRandom(1) });
    const x = b.allocate("n", "x").ip;
    b.allocate("n", "y");
    b.releaseHandle("x");
    expect(b.allocate("n", "z").ip.toString()).toBe("10.10.0.2");
    expect(b.handleOf(x)).toBeUndefined();
  });

  it("never hands out one address twice and serves exactly the pool size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.nat(200), fc.boolean()), { maxLength: 400 }),
        fc.nat(),
        (ops, seed) => {
          const pool = Prefix.parse("10.20.0.0/24");
          const b = new BlockAllocator({ pool, random: seededRandom(seed) });
          const held = new Map<string, string>();
          for (const [node, pod, del] of ops) {
            const h = `pod${pod}`;
            if (held.has(h) || del) {
              const ip = held.get(h);
              if (ip) expect(b.release(Addr.parse(ip))).toBe(true);
              held.delete(h);
              continue;
            }
            if (held.size === 256) {
              expect(() => b.allocate(`n${node}`, h)).toThrow("IPAM allocated only 0");
              continue;
            }
            const ip = b.allocate(`n${node}`, h).ip.toString();
            expect([...held.values()]).not.toContain(ip);
            held.set(h, ip);
          }
          expect(b.used).toBe(held.size);
        },
      ),
      { numRuns: 50 },
    );
  });
});
