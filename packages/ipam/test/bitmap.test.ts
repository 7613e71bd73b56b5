import { Bitmap, staticBandSize } from "@knet/ipam";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("Bitmap", () => {
  it("findClear agrees with a naive scan (wrap from `from`)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(), { maxLength: 400 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (size, sets, a, b, f) => {
          const bm = new Bitmap(size);
          const naive = new Array<boolean>(size).fill(false);
          for (const s of sets) {
            bm.set(s % size);
            naive[s % size] = true;
          }
          const lo = a % size;
          const hi = lo + 1 + (b % (size - lo));
          const from = lo + (f % (hi - lo));
          let want = -1;
          for (let k = 0; k < hi - lo; k++) {
            const i = lo + ((from - lo + k) % (hi - lo));
            if (!naive[i]) {
              want = i;
              break;
            }
          }
          expect(bm.findClear(from, lo, hi)).toBe(want);
          expect(bm.used).toBe(naive.filter(Boolean).length);
        },
      ),
    );
  });

  it("set/clear report changes and forEach lists set bits in order", () => {
    const bm = new Bitmap(100);
    expect(bm.set(5)).toBe(true);
    expect(bm.set(5)).toBe(false);
    expect(bm.set(64)).toBe(true);
    expect(bm.set(99)).toBe(true);
    const seen: number[] = [];
    bm.forEach((i) => {
      seen.push(i);
    });
    expect(seen).toEqual([5, 64, 99]);
    expect(bm.clear(64)).toBe(true);
    expect(bm.clear(64)).toBe(false);
    expect(bm.used).toBe(2);
  });

  it("static band sizes follow min(max(min, size/step), max)", () => {
    // ClusterIP (16, 256, 16): /28 -> 0, /27 -> 16, /24 -> 16, /20 -> 256, /12 -> 256
    expect(staticBandSize(16, 16, 256, 16)).toBe(0);
    expect(staticBandSize(32, 16, 256, 16)).toBe(16);
    expect(staticBandSize(4096, 16, 256, 16)).toBe(256);
    expect(staticBandSize(2048, 16, 256, 16)).toBe(128);
    // NodePort (16, 128, 32): 2768 ports -> 86
    expect(staticBandSize(2768, 16, 128, 32)).toBe(86);
    expect(staticBandSize(100, 16, 128, 32)).toBe(16);
  });
});

describe("Bitmap summary of full words", () => {
  it("finds the only clear bit in a nearly full large bitmap, after clears and re-sets", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70_000 }), fc.nat(), fc.nat(), (size, x, f) => {
        const bm = new Bitmap(size);
        for (let i = 0; i < size; i++) bm.set(i);
        expect(bm.findClear(f % size, 0, size)).toBe(-1);
        const hole = x % size;
        bm.clear(hole);
        expect(bm.findClear(f % size, 0, size)).toBe(hole);
        expect(bm.firstClear(0, hole)).toBe(-1);
        bm.set(hole);
        expect(bm.findClear(0, 0, size)).toBe(-1);
      }),
      { numRuns: 30 },
    );
  });
});
