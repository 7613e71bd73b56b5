/**
 * The one seeded random source every knet package uses (endpoint choice, IPAM
 * scans, DNS shuffles, hook randomness), so a run replays from its seed.
 */

/** A source of uniform random numbers in [0, 1). */
export interface Random {
  /** The next number, uniform in [0, 1). */
  next(): number;
}

/**
 * A seeded generator (mulberry32): the same seed gives the same sequence. Fast
 * (drawing allocates nothing) and good enough for simulation; not cryptographic.
 */
export function seededRandom(seed: number): Random {
  // The state is kept as an int32 (same bits as the uint32 of the reference
  // algorithm): a small integer stays unboxed, so drawing a number allocates nothing.
  let a = seed | 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next };
}
