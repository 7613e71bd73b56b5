/**
 * sh, dh and mh, as net/netfilter/ipvs/ip_vs_sh.c, ip_vs_dh.c and ip_vs_mh.c
 * implement them (current mainline: `hash_32()` for sh/dh, SipHash-based
 * Maglev for mh). Tables are rebuilt from the destination list in the kernel's
 * order whenever it changes.
 */
import { addrFold, type HsipKey, hash32, hsiphashU32 } from "../hash.js";
import type { RealServer } from "../real-server.js";
import type { DestChange, SchedFlags, SchedPacket, Scheduler } from "../scheduler.js";

/** `IP_VS_SH_TAB_BITS` / `IP_VS_DH_TAB_BITS` (Kconfig default 8: 256 buckets). */
export const HASH_TAB_BITS = 8;
const TAB_SIZE = 1 << HASH_TAB_BITS;
const TAB_MASK = TAB_SIZE - 1;

const unavailable = (d: RealServer): boolean => d.weight <= 0 || d.overloaded;

/** ip_vs_sh_hashkey(): `(offset + hash_32(port + fold(addr), 8)) & 255`. */
export function shBucket(fold: number, port: number, offset = 0): number {
  return (offset + hash32((port + fold) >>> 0, HASH_TAB_BITS)) & TAB_MASK;
}

/** ip_vs_dh_hashkey(): `hash_32(fold(addr), 8)`. */
export function dhBucket(fold: number): number {
  return hash32(fold, HASH_TAB_BITS);
}

/**
 * ip_vs_sh.c: 256 buckets filled by walking the destination list, giving each
 * destination `weight` consecutive buckets (at least one) and wrapping; a
 * connection goes to the bucket of its source address (plus source port with
 * `sh-port`). An unavailable destination yields none, or with `sh-fallback`
 * the first available one probing `(offset + ihash) % 256` offsets.
 */
export class SourceHashing implements Scheduler {
  /** `sh`. */
  readonly name = "sh";
  /** Bucket → destination. */
  readonly buckets: (RealServer | undefined)[] = new Array(TAB_SIZE).fill(undefined);
  private readonly flags: SchedFlags;

  constructor(dests: readonly RealServer[], flags: SchedFlags = { fallback: false, port: false }) {
    this.flags = flags;
    this.reassign(dests);
  }

  private reassign(dests: readonly RealServer[]): void {
    let p = 0;
    let count = 0;
    for (let i = 0; i < TAB_SIZE; i++) {
      if (dests.length === 0) {
        this.buckets[i] = undefined;
        continue;
      }
      const d = dests[p] as RealServer;
      this.buckets[i] = d;
      if (++count >= d.weight) {
        p = (p + 1) % dests.length;
        count = 0;
      }
    }
  }

  changed(dests: readonly RealServer[]): void {
    this.reassign(dests);
  }

  schedule(_dests: readonly RealServer[], pkt: SchedPacket): RealServer | undefined {
    const fold = addrFold(pkt.src);
    const port = this.flags.port ? pkt.sport : 0;
    const ihash = shBucket(fold, port);
    const d = this.buckets[ihash];
    if (d === undefined) return undefined;
    if (!unavailable(d)) return d;
    if (!this.flags.fallback) return undefined;
    for (let offset = 0; offset < TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % TAB_SIZE;
      const e = this.buckets[shBucket(fold, port, roffset)];
      if (e === undefined) break;
      if (!unavailable(e)) return e;
    }
    return undefined;
  }
}

/**
 * ip_vs_dh.c: 256 buckets filled round-robin from the destination list (one
 * bucket per destination per round, weights ignored); a connection goes to the
 * bucket of its destination address. Weight changes do not refill the table
 * (dh has no `upd_dest`), but a zero-weight or overloaded destination is refused.
 */
export class DestinationHashing implements Scheduler {
  /** `dh`. */
  readonly name = "dh";
  /** Bucket → destination. */
  readonly buckets: (RealServer | undefined)[] = new Array(TAB_SIZE).fill(undefined);

  constructor(dests: readonly RealServer[]) {
    this.reassign(dests);
  }

  private reassign(dests: readonly RealServer[]): void {
    for (let i = 0; i < TAB_SIZE; i++) this.buckets[i] = dests.length === 0 ? undefined : dests[i % dests.length];
  }

  changed(dests: readonly RealServer[], change: DestChange): void {
    if (change.kind !== "upd") this.reassign(dests);
  }

  schedule(_dests: readonly RealServer[], pkt: SchedPacket): RealServer | undefined {
    const d = this.buckets[dhBucket(addrFold(pkt.dst))];
    if (d === undefined || !d.available || unavailable(d)) return undefined;
    return d;
  }
}

/** The Maglev table sizes ip_vs_mh.c can be built with (`CONFIG_IP_VS_MH_TAB_INDEX` 8..17). */
export const MH_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** The default table size: Kconfig's `IP_VS_MH_TAB_INDEX` default 12 selects `primes[12 - 8]` = 4093. */
export const MH_DEFAULT_TABLE_SIZE = 4093;

/** `generate_hash_secret()`: the fixed keys of ip_vs_mh.c (one per hash). */
export const MH_HASH1: HsipKey = { k0: 2654435761n, k1: 2654435761n };
/** The second key (`hash2`), for the skip values. */
export const MH_HASH2: HsipKey = { k0: 2654446892n, k1: 2654446892n };

/** ip_vs_mh_hashkey(): `hsiphash(offset + port + fold(addr))` with the given key. */
export function mhHash(fold: number, port: number, key: HsipKey, offset = 0): number {
  return hsiphashU32((offset + port + fold) >>> 0, key);
}

function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * ip_vs_mh.c, Maglev hashing: each destination gets `offset = h1(addr, port) %
 * M` and `skip = h2(addr, port) % (M - 1) + 1` (the destination's own port is
 * hashed), and the table is populated by taking destinations in list order,
 * each claiming `turns` (its `last_weight / gcd`, shifted right when the
 * weights are large) next free slots of its permutation `offset + j * skip`.
 * A connection goes to slot `h1(source, sport-or-0) % M`.
 */
export class MaglevHashing implements Scheduler {
  /** `mh`. */
  readonly name = "mh";
  /** Table size (a prime of {@link MH_PRIMES}). */
  readonly size: number;
  /** Slot → destination. */
  readonly lookup: (RealServer | undefined)[];
  private readonly flags: SchedFlags;

  constructor(
    dests: readonly RealServer[],
    flags: SchedFlags = { fallback: false, port: false },
    size = MH_DEFAULT_TABLE_SIZE,
  ) {
    if (!MH_PRIMES.includes(size)) throw new RangeError(`mh table size ${size} is not one of ${MH_PRIMES.join(", ")}`);
    this.size = size;
    this.flags = flags;
    this.lookup = new Array(size).fill(undefined);
    this.reassign(dests);
  }

  private reassign(dests: readonly RealServer[]): void {
    const M = this.size;
    if (dests.length > M) throw new RangeError(`mh: ${dests.length} destinations exceed the table size ${M}`);
    // gcd of the positive last weights, and the shift that keeps weight/gcd within IP_VS_MH_TAB_BITS bits
    let g = 0;
    let maxW = 0;
    for (const d of dests) {
      const w = d.lastWeight;
      if (w > 0) {
        let a = w;
        let b = g;
        while (b !== 0) [a, b] = [b, a % b];
        g = g > 0 ? a : w;
      }
      if (w > maxW) maxW = w;
    }
    if (g < 1) {
      this.lookup.fill(undefined);
      return;
    }
    // IP_VS_MH_TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2, the index being 8 + the prime's position
    const tabBits = Math.trunc((8 + MH_PRIMES.indexOf(M)) / 2);
    const shift = Math.max(0, fls(Math.trunc(maxW / g)) - tabBits);
    const setup = dests.map((d) => {
      const offset = mhHash(d.fold, d.port, MH_HASH1) % M;
      const skip = (mhHash(d.fold, d.port, MH_HASH2) % (M - 1)) + 1;
      const lw = d.lastWeight;
      const t = Math.trunc(lw / g) >> shift;
      return { offset, skip, perm: offset, turns: t !== 0 ? t : lw !== 0 ? 1 : 0 };
    });
    const taken = new Uint8Array(M);
    let n = 0;
    let dtCount = 0;
    let p = 0;
    while (n < M) {
      if (p >= dests.length) p = 0;
      while (p < dests.length) {
        const ds = setup[p] as { skip: number; perm: number; turns: number };
        if (ds.turns < 1) {
          p++;
          continue;
        }
        let c = ds.perm;
        while (taken[c] === 1) {
          ds.perm += ds.skip;
          if (ds.perm >= M) ds.perm -= M;
          c = ds.perm;
        }
        taken[c] = 1;
        this.lookup[c] = dests[p];
        if (++n === M) return;
        if (++dtCount >= ds.turns) {
          dtCount = 0;
          p++;
        }
      }
    }
  }

  changed(dests: readonly RealServer[]): void {
    this.reassign(dests);
  }

  schedule(_dests: readonly RealServer[], pkt: SchedPacket): RealServer | undefined {
    const fold = addrFold(pkt.src);
    const port = this.flags.port ? pkt.sport : 0;
    const ihash = mhHash(fold, port, MH_HASH1) % this.size;
    const d = this.lookup[ihash];
    if (d === undefined) return undefined;
    if (!unavailable(d)) return d;
    if (!this.flags.fallback) return undefined;
    for (let offset = 0; offset < this.size; offset++) {
      const roffset = (offset + ihash) % this.size;
      const e = this.lookup[mhHash(fold, port, MH_HASH1, roffset) % this.size];
      if (e === undefined) break;
      if (!unavailable(e)) return e;
    }
    return undefined;
  }
}
