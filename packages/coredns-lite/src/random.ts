/** A small seeded random source (mulberry32), so shuffles, ids and evictions can be replayed. */
import { seededRandom as mulberry32 } from "@knet/netstack";
import type { Random } from "./plugin.js";

/** A random source in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): Random {
  return mulberry32(seed).next;
}
