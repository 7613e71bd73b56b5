import { seededRandom as mulberry32 } from "@knet/netstack";

/**
 * Injectable randomness: allocators that pick at random (ClusterIPs, NodePorts,
 * Calico-style block choice) take a {@link Random} so tests and traces replay.
 */

/** A source of uniformly distributed integers. */
export interface Random {
  /** An integer in `[0, n)`; `n` is a positive integer up to 2^32. */
  int(n: number): number;
}

/**
 * A fast seeded generator (mulberry32): the same seed gives the same sequence.
 * Not cryptographic; allocation order is not a secret.
 */
export function seededRandom(seed = 1): Random {
  const { next } = mulberry32(seed);
  return { int: (n: number): number => Math.floor(next() * n) };
}

/** `Math.random` behind the {@link Random} interface, for production use. */
export const mathRandom: Random = {
  int(n: number): number {
    return Math.floor(Math.random() * n);
  },
};
