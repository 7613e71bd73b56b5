import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addrFold,
  dhBucket,
  GOLDEN_RATIO_32,
  hash32,
  MaglevHashing,
  MH_PRIMES,
  type RealServer,
  SCHEDULER_NAMES,
  type SchedPacket,
  shBucket,
  sipHash,
  VirtualServer,
} from "../src/index.js";

const A = (s: string): Addr => Addr.parse(s);
const pkt = (src: string, sport = 40000, dst = "10.96.0.10"): SchedPacket => ({ src: A(src), dst: A(dst), sport });

/** A virtual server whose kernel list is `ips` in that order (added in reverse: list_add puts new ones at the head). */
function vs(
  scheduler: (typeof SCHEDULER_NAMES)[number],
  ips: readonly string[],
  weights?: readonly number[],
): VirtualServer {
  const v = new VirtualServer({ protocol: "tcp", addr: A("10.96.0.10"), port: 80, scheduler });
  for (let i = ips.length - 1; i >= 0; i--) v.addDest(A(ips[i] as string), 8080, weights?.[i] ?? 1);
  expect(v.dests.map((d) => d.addr.toString())).toEqual(ips);
  return v;
}

function run(v: VirtualServer, n: number, p: SchedPacket = pkt("10.0.0.1")): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(v.scheduler.schedule(v.dests, p, 0)?.addr.toString() ?? "-");
  return out;
}

describe("kernel hashes", () => {
  it("hash_32 multiplies by GOLDEN_RATIO_32 and keeps the top bits", () => {
    // 10.0.0.1 = 0x0A000001: 0x0A000001 * 0x61C88647 mod 2^32
    //   = 0x61C88647 + ((0x0A * 0x47) & 0xff) << 24 = 0x61C88647 + 0xC6000000 = 0x27C88647 (mod 2^32)
    //   top 8 bits: 0x27 = 39
    expect(GOLDEN_RATIO_32).toBe(0x61c88647);
    expect(hash32(0x0a000001, 8)).toBe(39);
    expect(hash32(0, 8)).toBe(0);
    // 1 * 0x61C88647 >> 24 = 0x61 = 97; >> 22 (10 bits) = 0x187 = 391
    expect(hash32(1, 8)).toBe(0x61);
    expect(hash32(1, 10)).toBe(0x187);
  });

  it("hash_32 equals the BigInt definition for any input", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 31 }), (v, bits) => {
        const ref = Number(((BigInt(v) * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
        expect(hash32(v, bits)).toBe(ref);
      }),
    );
  });

  it("SipHash matches the reference SipHash-2-4 vectors (so the 1-3 variant differs only in round counts)", () => {
    // key 00 01 .. 0f; published vectors of the SipHash paper / reference implementation
    const k0 = 0x0706050403020100n;
    const k1 = 0x0f0e0d0c0b0a0908n;
    expect(sipHash(new Uint8Array(0), k0, k1, 2, 4)).toBe(0x726fdb47dd0e0e31n);
    const m15 = Uint8Array.from({ length: 15 }, (_, i) => i);
    expect(sipHash(m15, k0, k1, 2, 4)).toBe(0xa129ca6149be45e5n);
    const m8 = Uint8Array.from({ length: 8 }, (_, i) => i);
    expect(sipHash(m8, k0, k1, 2, 4)).toBe(0x93f5f5799a932462n);
  });

  it("folds IPv6 addresses by XOR of the four words", () => {
    expect(addrFold(A("10.1.2.3"))).toBe(0x0a010203);
    expect(addrFold(A("fd00::1:0:0:1"))).toBe((0xfd000000 ^ 0 ^ 0x00010000 ^ 0x00000001) >>> 0);
  });
});

describe("rr (ip_vs_rr.c)", () => {
  it("cycles through the list from the head, skipping weight 0", () => {
    const v = vs("rr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    expect(run(v, 4)).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.1"]);
    v.updateDest(v.dests[1] as RealServer, 0);
    expect(run(v, 3)).toEqual(["10.1.0.3", "10.1.0.1", "10.1.0.3"]);
  });

  it("deleting the destination under the cursor continues with the one after it", () => {
    const v = vs("rr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    expect(run(v, 2)).toEqual(["10.1.0.1", "10.1.0.2"]);
    v.deleteDest(v.dests[1] as RealServer); // cursor was on .2 → moves to .1
    expect(run(v, 3)).toEqual(["10.1.0.3", "10.1.0.1", "10.1.0.3"]);
  });

  it("a new destination goes to the list head", () => {
    const v = vs("rr", ["10.1.0.1"]);
    v.addDest(A("10.1.0.9"), 8080, 1);
    expect(v.dests.map((d) => d.addr.toString())).toEqual(["10.1.0.9", "10.1.0.1"]);
    expect(run(v, 2)).toEqual(["10.1.0.9", "10.1.0.1"]);
  });
});

describe("wrr (ip_vs_wrr.c)", () => {
  const name = (ip: string): string => ({ "10.1.0.1": "A", "10.1.0.2": "B", "10.1.0.3": "C" })[ip] ?? ip;

  it("weights 4,3,2 set up at once (init_service over existing dests) give A A B A B C A B C", () => {
    // ip_vs_wrr_init_svc over the list A(4), B(3), C(2): di = gcd = 1, mw = 4 - (1 - 1) = 4, cw = mw = 4,
    // cursor at the head.
    //  1: scan from head, A.w=4 >= cw 4 → A
    //  2: scan after A: B 3<4, C 2<4, end → cw = 3; rescan from head: A 4>=3 → A
    //  3: after A: B 3>=3 → B
    //  4: after B: C 2<3, end → cw = 2; from head: A → A
    //  5: B 3>=2 → B      6: C 2>=2 → C
    //  7: end → cw = 1; A → A    8: B → B    9: C → C
    // 10: end → cw = 0 <= 0 → cw = mw = 4; A → A (the period is 4+3+2 = 9)
    const v = vs("rr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"], [4, 3, 2]);
    v.setScheduler("wrr"); // `ipvsadm -E -s wrr`: a fresh init_service over the three destinations
    expect(run(v, 18).map(name).join(" ")).toBe("A A B A B C A B C A A B A B C A B C");
  });

  it("weights 4,3,2 added one by one (how kube-proxy builds a service) start with one cw=1 pass", () => {
    // The service is created empty (mw = 0, cw = 0), then destinations are added; each add runs
    // ip_vs_wrr_dest_changed: C(2): di=2, mw=1, cw=0 → cw = mw = 1. B(3): di=1, mw=3, cw=1 kept.
    // A(4): di=1, mw=4, cw=1 kept. So the first pass serves every weight >= 1: A B C; then the
    // end of the list takes cw to 0 → mw = 4 and the steady period A A B A B C A B C follows.
    const v = vs("wrr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"], [4, 3, 2]);
    expect(run(v, 21).map(name).join(" ")).toBe("A B C A A B A B C A B C A A B A B C A B C");
  });

  it("gcd stepping: weights 6,4,2 (di=2, mw=6-1=5) repeat A A B A B C", () => {
    // added one by one: C(2) di=2 mw=1 cw=1; B(4) di=2 mw=3 cw=(1/2)*2+1=1; A(6) di=2 mw=5 cw=1.
    // pass cw=1: A B C; end → cw=-1 → mw=5: A; cw=3: A B; cw=1: A B C; ...
    const v = vs("wrr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"], [6, 4, 2]);
    expect(run(v, 15).map(name).join(" ")).toBe("A B C A A B A B C A A B A B C");
  });

  it("all weights zero: no destination", () => {
    const v = vs("wrr", ["10.1.0.1", "10.1.0.2"], [0, 0]);
    expect(run(v, 2)).toEqual(["-", "-"]);
  });

  it("over a full period each destination is chosen exactly weight/gcd times", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }), (weights) => {
        const ips = weights.map((_, i) => `10.2.0.${i + 1}`);
        const v = vs("wrr", ips, weights);
        let g = 0;
        for (const w of weights) {
          let a = w;
          let b = g;
          while (b) [a, b] = [b, a % b];
          g = a;
        }
        const period = weights.reduce((s, w) => s + w / g, 0);
        v.setScheduler("rr");
        v.setScheduler("wrr"); // steady state from a fresh init_service
        const seq = run(v, period);
        ips.forEach((ip, i) => {
          expect(seq.filter((x) => x === ip).length).toBe((weights[i] as number) / g);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("least-connection family", () => {
  it("lc follows connection counts over time (active x256 + inactive)", () => {
    const v = vs("lc", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    const [a, b, c] = v.dests as [RealServer, RealServer, RealServer];
    a.activeConns = 1;
    b.inactConns = 300;
    // overheads: a=256, b=300, c=0 → c
    expect(run(v, 1)).toEqual(["10.1.0.3"]);
    c.activeConns = 2; // c=512 → a (256) is least
    expect(run(v, 1)).toEqual(["10.1.0.1"]);
  });

  it("wlc normalises by weight; sed counts the new connection; nq takes an idle server first", () => {
    const w = vs("wlc", ["10.1.0.1", "10.1.0.2"], [1, 3]);
    (w.dests[0] as RealServer).activeConns = 1; // 256/1
    (w.dests[1] as RealServer).activeConns = 2; // 512/3 < 256 → B
    expect(run(w, 1)).toEqual(["10.1.0.2"]);
    const s = vs("sed", ["10.1.0.1", "10.1.0.2"], [1, 3]);
    // sed: (0+1)/1 = 1 vs (2+1)/3 = 1: tie → the earlier (A)
    (s.dests[1] as RealServer).activeConns = 2;
    expect(run(s, 1)).toEqual(["10.1.0.1"]);
    const q = vs("nq", ["10.1.0.1", "10.1.0.2"], [5, 1]);
    (q.dests[0] as RealServer).activeConns = 1;
    // sed would pick A ((1+1)/5 < (0+1)/1), nq picks the idle B
    expect(run(q, 1)).toEqual(["10.1.0.2"]);
  });
});

describe("sh and dh (256-bucket tables)", () => {
  it("sh maps a client to the bucket hash_32(fold(src), 8) of the weight-tiled table", () => {
    // table for A(1), B(1), C(1): bucket i → dests[i % 3]
    // 10.0.0.1 → bucket 39 (see hash_32 above) → 39 % 3 = 0 → A
    const v = vs("sh", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    expect(shBucket(0x0a000001, 0)).toBe(39);
    expect(run(v, 3, pkt("10.0.0.1"))).toEqual(["10.1.0.1", "10.1.0.1", "10.1.0.1"]);
    // weights 2,1: buckets A A B A A B ... → bucket 39: 39 % 3 = 0 → A; bucket 97 (fold 1 = 0.0.0.1): 97 % 3 = 1 → A;
    // 0.0.0.2: 2*0x61C88647 = 0xC3910C8E → 0xC3 = 195: 195 % 3 = 0 → A; find a B bucket: 0.0.0.3 → 0x2559929D*... computed below
    const w = vs("sh", ["10.1.0.1", "10.1.0.2"], [2, 1]);
    for (let i = 0; i < 256; i++) {
      const tiled = i % 3 === 2 ? "10.1.0.2" : "10.1.0.1";
      expect(
        (
          w.scheduler as unknown as {
            buckets: RealServer[];
          }
        ).buckets[i]?.addr.toString(),
      ).toBe(tiled);
    }
    for (const src of ["0.0.0.1", "0.0.0.2", "10.0.0.1", "192.168.7.9"]) {
      const b = shBucket(addrFold(A(src)), 0);
      expect(run(w, 1, pkt(src))[0]).toBe(b % 3 === 2 ? "10.1.0.2" : "10.1.0.1");
    }
  });

  it("sh with an unavailable server: none, unless sh-fallback probes further", () => {
    const v = vs("sh", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    v.updateDest(v.dests[0] as RealServer, 0);
    // a weight-0 destination still owns its single bucket per round after reassign
    expect(run(v, 1, pkt("10.0.0.1"))).toEqual(["-"]);
    const f = new VirtualServer({
      protocol: "tcp",
      addr: A("10.96.0.10"),
      port: 80,
      scheduler: "sh",
      flags: { fallback: true, port: false },
    });
    for (const ip of ["10.1.0.3", "10.1.0.2", "10.1.0.1"]) f.addDest(A(ip), 8080, 1);
    f.updateDest(f.dests[0] as RealServer, 0);
    const got = run(f, 1, pkt("10.0.0.1"))[0];
    expect(got === "10.1.0.2" || got === "10.1.0.3").toBe(true);
  });

  it("dh maps the destination address; the table ignores weights", () => {
    // dst 10.96.0.10 = 0x0A60000A; bucket = hash_32(0x0A60000A, 8)
    const b = dhBucket(0x0a60000a);
    expect(b).toBe(Number(((0x0a60000an * 0x61c88647n) & 0xffffffffn) >> 24n));
    const v = vs("dh", ["10.1.0.1", "10.1.0.2", "10.1.0.3"], [5, 1, 1]);
    expect(run(v, 2)).toEqual([
      ["10.1.0.1", "10.1.0.2", "10.1.0.3"][b % 3] as string,
      ["10.1.0.1", "10.1.0.2", "10.1.0.3"][b % 3] as string,
    ]);
  });
});

describe("mh (Maglev, ip_vs_mh.c)", () => {
  it("fills every slot; equal weights get an equal share (±1); the first server owns its offset slot", () => {
    for (const size of [251, 4093]) {
      const servers = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"];
      const v = new VirtualServer({
        protocol: "tcp",
        addr: A("10.96.0.10"),
        port: 80,
        scheduler: "mh",
        mhTableSize: size,
      });
      for (let i = servers.length - 1; i >= 0; i--) v.addDest(A(servers[i] as string), 8080, 1);
      const table = (v.scheduler as MaglevHashing).lookup;
      expect(table.every((d) => d !== undefined)).toBe(true);
      const counts = servers.map((ip) => table.filter((d) => d?.addr.toString() === ip).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      expect(counts.reduce((s, c) => s + c, 0)).toBe(size);
    }
  });

  it("weights tile proportionally and removing a server moves only its slots (consistent hashing)", () => {
    const mk = (ips: readonly string[], weights: readonly number[]): MaglevHashing => {
      const v = new VirtualServer({
        protocol: "tcp",
        addr: A("10.96.0.10"),
        port: 80,
        scheduler: "mh",
        mhTableSize: 251,
      });
      for (let i = ips.length - 1; i >= 0; i--) v.addDest(A(ips[i] as string), 8080, weights[i] ?? 1);
      return v.scheduler as MaglevHashing;
    };
    const t = mk(["10.1.0.1", "10.1.0.2"], [2, 1]).lookup;
    const a = t.filter((d) => d?.addr.toString() === "10.1.0.1").length;
    // populate takes 2 slots for A per 1 for B: 251 = 3*83 + 2 → A 168 (83*2 + 2), B 83
    expect(a).toBe(168);
    const full = mk(["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"], [1, 1, 1, 1]).lookup.map((d) =>
      d?.addr.toString(),
    );
    const less = mk(["10.1.0.1", "10.1.0.2", "10.1.0.4"], [1, 1, 1]).lookup.map((d) => d?.addr.toString());
    let moved = 0;
    for (let i = 0; i < 251; i++) if (full[i] !== "10.1.0.3" && full[i] !== less[i]) moved++;
    // Maglev's disruption bound: far fewer than the remaining 3/4 of the table moves
    expect(moved).toBeLessThan(40);
  });

  it("rejects table sizes the kernel cannot be built with", () => {
    expect(MH_PRIMES[0]).toBe(251);
    expect(() => new MaglevHashing([], undefined, 250)).toThrow(/not one of/);
  });
});

describe("locality schedulers", () => {
  it("lblc sticks to one server per destination address until it is overloaded", () => {
    const v = vs("lblc", ["10.1.0.1", "10.1.0.2"], [2, 2]);
    expect(run(v, 3)).toEqual(["10.1.0.1", "10.1.0.1", "10.1.0.1"]);
    (v.dests[0] as RealServer).activeConns = 3; // > weight 2, and B has 0*2 < 2
    expect(run(v, 1)).toEqual(["10.1.0.2"]);
  });

  it("lblcr adds the least-loaded server to the set when the set's best is overloaded", () => {
    const v = vs("lblcr", ["10.1.0.1", "10.1.0.2", "10.1.0.3"], [1, 1, 1]);
    expect(run(v, 1)).toEqual(["10.1.0.1"]);
    (v.dests[0] as RealServer).activeConns = 2;
    expect(run(v, 1)).toEqual(["10.1.0.2"]);
    (v.dests[1] as RealServer).activeConns = 1;
    // set {B, A}: min is B (256 < 512) and B is not overloaded (1 > 1 is false)
    expect(run(v, 1)).toEqual(["10.1.0.2"]);
  });
});

it("every scheduler name builds", () => {
  for (const name of SCHEDULER_NAMES) expect(vs(name, ["10.1.0.1"]).scheduler.name).toBe(name);
});
