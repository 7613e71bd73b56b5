import { seededRandom as mulberry32 } from "@knet/netstack";

/** A source of uniform random numbers in [0, 1). Engines take one so endpoint choice is reproducible. */
export interface Random {
  /** The next number, uniform in [0, 1). */
  next(): number;
}

/**
 * A seeded source (netstack's mulberry32): the same seed gives the same sequence.
 * Good enough for endpoint choice and tests; not for cryptography.
 */
export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  return { next };
}
