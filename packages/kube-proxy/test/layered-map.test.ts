import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LayeredMap } from "../src/layered-map.js";

// One step: set key k to v, or delete it (v undefined); a batch is one `with` call.
const batch = fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.option(fc.integer(), { nil: undefined })), {
  maxLength: 40,
});

const sorted = (m: ReadonlyMap<number, number>): [number, number][] => [...m.entries()].sort((a, b) => a[0] - b[0]);

describe("LayeredMap", () => {
  it("holds what a Map holds after the same changes, and earlier versions never change", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer()), { maxLength: 200 }),
        fc.array(batch, { maxLength: 60 }),
        (initial, batches) => {
          let layered = LayeredMap.of<number, number>(initial);
          const model = new Map<number, number>(initial);
          const versions: [LayeredMap<number, number>, [number, number][]][] = [[layered, sorted(model)]];
          for (const b of batches) {
            layered = layered.with(b);
            for (const [k, v] of b) {
              if (v === undefined) model.delete(k);
              else model.set(k, v);
            }
            expect(sorted(layered)).toEqual(sorted(model));
            expect(layered.size).toBe(model.size);
            for (let k = 0; k <= 300; k += 7) {
              expect(layered.has(k)).toBe(model.has(k));
              expect(layered.get(k)).toBe(model.get(k));
            }
            versions.push([layered, sorted(model)]);
          }
          for (const [version, entries] of versions) expect(sorted(version)).toEqual(entries);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("folds its layer into a new base once it outgrows the square root of the base", () => {
    let m = LayeredMap.of<number, number>(Array.from({ length: 10_000 }, (_, i) => [i, i]));
    for (let i = 0; i < 500; i++) m = m.with([[i, -i]]);
    expect(m.size).toBe(10_000);
    expect(m.get(499)).toBe(-499);
    expect(m.get(500)).toBe(500);
    expect([...m.keys()].slice(0, 3)).toEqual([0, 1, 2]);
  });

  it("iterates in the base's order with changed keys in place and new keys last", () => {
    const m = LayeredMap.of<string, number>([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]).with([
      ["b", 20],
      ["d", 4],
      ["a", undefined],
    ]);
    expect([...m]).toEqual([
      ["b", 20],
      ["c", 3],
      ["d", 4],
    ]);
    expect(m.with([["a", 1]]).get("a")).toBe(1);
  });
});
