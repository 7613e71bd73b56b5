import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MaglevBackend, maglevConfig, maglevLookupTable, murmur3Hash128 } from "../src/index.js";

// Vectors from cilium/cilium pkg/maglev/maglev_test.go (TestReproducible,
// TestWeightedBackendWithRemoval, TestBackendRemoval): backends built by its
// mkAddr(i) helper, i.e. IPv4 address uint32(i), port i, TCP.
function mkBackend(i: number, id: number, weight: number): MaglevBackend {
  const ip = [i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].join(".");
  return { id, address: ip, port: i % 65535, protocol: "TCP", weight };
}

function runLength(ids: Uint32Array): string {
  const runs: string[] = [];
  let cur = ids[0] as number;
  let count = 0;
  for (const id of ids) {
    if (id === cur) count++;
    else {
      runs.push(`${cur}(${count})`);
      cur = id;
      count = 1;
    }
  }
  runs.push(`${cur}(${count})`);
  return runs.join(",");
}

describe("murmur3 x64 128", () => {
  it("hashes the empty input with seed 0 to zero (reference behaviour)", () => {
    expect(murmur3Hash128(new Uint8Array(0), 0)).toEqual([0n, 0n]);
  });
  it("gives the published smhasher-compatible value for 'hello' with seed 0", () => {
    // mmh3.hash128("hello", 0, x64arch=True) = 0x5b1e906a48ae1d19cbd8a7b341bd9b02 (h2 || h1)
    expect(murmur3Hash128(new TextEncoder().encode("hello"), 0)).toEqual([0xcbd8a7b341bd9b02n, 0x5b1e906a48ae1d19n]);
  });
  it("rejects a seed that is not uint32", () => {
    expect(() => murmur3Hash128(new Uint8Array(1), -1)).toThrow(/32-bit/);
  });
});

describe("maglevConfig", () => {
  it("splits the default seed into murmur and jhash seeds big-endian", () => {
    const c = maglevConfig();
    const d = Buffer.from("JLfvgnHc2kaSUFaI", "base64");
    expect(c.seedMurmur).toBe(d.readUInt32BE(0));
    expect(c.seedJhash0).toBe(d.readUInt32BE(4));
    expect(c.seedJhash1).toBe(d.readUInt32BE(8));
    expect(c.tableSize).toBe(16381);
  });
  it.each([
    [{ tableSize: 250 }, /supported values are 251/],
    [{ hashSeed: "not base64!" }, /not base64/],
    [{ hashSeed: "AAAA" }, /3 bytes, need exactly 12/],
  ])("rejects %o", (opts, msg) => {
    expect(() => maglevConfig(opts)).toThrow(msg);
  });
});

describe("maglevLookupTable equals Cilium's test vectors", () => {
  it("TestReproducible: M=251, weights 2/13/111/10", () => {
    const table = maglevLookupTable(
      [mkBackend(1, 0, 2), mkBackend(3, 1, 13), mkBackend(4, 2, 111), mkBackend(5, 3, 10)],
      { tableSize: 251 },
    );
    const expected =
      "2(5),3(1),2(3),1(1),2(2),0(1),2(1),3(1),2(1),3(1),2(1),1(1),2(7),1(1),2(14),3(1),2(1)," +
      "1(2),2(12),3(1),2(3),1(1),2(4),3(1),2(8),3(1),2(2),1(1),2(16),1(2),2(3),3(1),2(11),1(2),2(4),3(1),2(3)," +
      "1(1),2(4),3(1),2(1),0(1),1(1),2(8),1(1),2(7),1(1),2(4),3(1),2(1),3(1),2(9),1(2),2(5),1(1),2(7),3(1),2(1)," +
      "3(1),1(1),2(8),1(1),2(4),0(1),2(1),1(1),2(5),3(1),2(3),1(1),2(4),3(1),2(3),1(1),2(12),0(1),3(1),2(3),3(1)," +
      "2(4),3(1),2(2),1(1),2(7)";
    expect(runLength(table)).toBe(expected);
  });

  it("TestWeightedBackendWithRemoval: M=1021 counts 16/98/832/75 and < 1% disruption", () => {
    const backends = [mkBackend(1, 1, 2), mkBackend(2, 2, 13), mkBackend(3, 3, 111), mkBackend(4, 4, 10)];
    const before = maglevLookupTable(backends, { tableSize: 1021 });
    const after = maglevLookupTable(backends.slice(1), { tableSize: 1021 });
    const counts = new Map<number, number>();
    let changed = 0;
    before.forEach((id, pos) => {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (id !== 1 && after[pos] !== id) changed++;
      expect([2, 3, 4]).toContain(after[pos]);
    });
    expect(Object.fromEntries(counts)).toEqual({ 1: 16, 2: 98, 3: 832, 4: 75 });
    expect((changed / 1021) * 100).toBeLessThan(1);
  });

  it("TestBackendRemoval: removing one of three moves < 1% of the others' slots", () => {
    const backends = [mkBackend(1, 1, 1), mkBackend(2, 2, 1), mkBackend(3, 3, 1)];
    const before = maglevLookupTable(backends, { tableSize: 1021 });
    const after = maglevLookupTable(backends.slice(0, 2), { tableSize: 1021 });
    let changed = 0;
    before.forEach((id, pos) => {
      if (id !== 3 && after[pos] !== id) changed++;
      expect([1, 2]).toContain(after[pos]);
    });
    expect((changed / 1021) * 100).toBeLessThan(1);
  });

  it("fills every slot with a given backend and ignores input order", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(251, 509, 1021),
        (nums, m) => {
          const backends = nums.map((n, i) => mkBackend(n, i + 1, 100));
          const t1 = maglevLookupTable(backends, { tableSize: m });
          const t2 = maglevLookupTable([...backends].reverse(), { tableSize: m });
          expect(t1).toEqual(t2);
          const ids = new Set(backends.map((b) => b.id));
          for (const id of t1) expect(ids.has(id)).toBe(true);
          // Equal weights: each backend gets floor(M/N) or ceil(M/N) slots.
          const counts = new Map<number, number>();
          for (const id of t1) counts.set(id, (counts.get(id) ?? 0) + 1);
          for (const c of counts.values()) expect(Math.abs(c - m / backends.length)).toBeLessThan(1);
        },
      ),
      { numRuns: 40 },
    );
  });
});
