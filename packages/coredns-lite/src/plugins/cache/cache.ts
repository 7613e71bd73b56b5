/**
 * The response cache behind the `cache` plugin, as CoreDNS's plugin/cache keeps
 * it: separate success and denial caches of 256 shards each with random
 * eviction per shard, entry lifetime = the smallest TTL in the reply clamped to
 * [min, max], SERVFAIL kept briefly, truncated replies never kept, and served
 * TTLs aged to the time left.
 */
import type { Random } from "../../plugin.js";
import { Rcode } from "../../wire/constants.js";
import type { DnsResponse, Rr } from "../../wire/message.js";

/** Limits of one of the two caches. */
export interface CacheLimits {
  /** Maximum entries (spread over 256 shards; at least 1,024 overall as in CoreDNS). */
  readonly capacity: number;
  /** Longest lifetime in seconds. */
  readonly maxTtl: number;
  /** Shortest lifetime in seconds. */
  readonly minTtl: number;
}

/** Cache configuration. */
export interface CacheOptions {
  /** Positive answers. Default 9,984 entries, 3600 s, 5 s. */
  readonly success: CacheLimits;
  /** NXDOMAIN and NODATA. Default 9,984 entries, 1800 s, 5 s. */
  readonly denial: CacheLimits;
  /** Seconds a SERVFAIL is kept (0 = never). Default 5. */
  readonly servfailTtl: number;
  /** Serve the original TTLs instead of the time left. */
  readonly keepTtl: boolean;
}

/** CoreDNS's defaults. */
export const DEFAULT_CACHE_OPTIONS: CacheOptions = {
  success: { capacity: 9984, maxTtl: 3600, minTtl: 5 },
  denial: { capacity: 9984, maxTtl: 1800, minTtl: 5 },
  servfailTtl: 5,
  keepTtl: false,
};

const SHARDS = 256;

interface Entry {
  readonly res: DnsResponse;
  readonly stored: number;
  readonly ttl: number;
  aged?: { left: number; res: DnsResponse };
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SHARDS;
}

/** Which cache a reply goes to, or undefined when it is not cached. */
export function classify(res: DnsResponse): "success" | "denial" | "servfail" | undefined {
  if (res.truncated) return undefined;
  if (res.rcode === Rcode.NXDOMAIN) return res.authority.length > 0 ? "denial" : undefined;
  if (res.rcode === Rcode.SERVFAIL) return "servfail";
  if (res.rcode !== Rcode.NOERROR) return undefined;
  return res.answer.length > 0 ? "success" : "denial";
}

function minTtl(res: DnsResponse): number | undefined {
  let m: number | undefined;
  for (const s of [res.answer, res.authority, res.additional])
    for (const r of s) if (m === undefined || r.ttl < m) m = r.ttl;
  return m;
}

class Shards {
  private readonly shards: Map<string, Entry>[] = [];
  private readonly perShard: number;
  private readonly random: Random;

  constructor(capacity: number, random: Random) {
    this.perShard = Math.max(1, Math.ceil(Math.max(1024, capacity) / SHARDS));
    this.random = random;
    for (let i = 0; i < SHARDS; i++) this.shards.push(new Map());
  }

  get(key: string): Entry | undefined {
    return this.shards[hash(key)]?.get(key);
  }

  delete(key: string): void {
    this.shards[hash(key)]?.delete(key);
  }

  set(key: string, e: Entry): void {
    const shard = this.shards[hash(key)] as Map<string, Entry>;
    if (!shard.has(key) && shard.size >= this.perShard) {
      let victim = Math.floor(this.random() * shard.size);
      for (const k of shard.keys()) {
        if (victim-- === 0) {
          shard.delete(k);
          break;
        }
      }
    }
    shard.set(key, e);
  }

  get size(): number {
    let n = 0;
    for (const s of this.shards) n += s.size;
    return n;
  }
}

/** A two-part (success/denial) DNS response cache. */
export class ResponseCache {
  private readonly o: CacheOptions;
  private readonly success: Shards;
  private readonly denial: Shards;

  constructor(options: CacheOptions, random: Random) {
    this.o = options;
    this.success = new Shards(options.success.capacity, random);
    this.denial = new Shards(options.denial.capacity, random);
  }

  /** Entries held by each cache. */
  sizes(): { success: number; denial: number } {
    return { success: this.success.size, denial: this.denial.size };
  }

  /** The cached reply for `key` at time `nowMs` with TTLs aged, or undefined. */
  get(key: string, nowMs: number): { res: DnsResponse; kind: "success" | "denial" } | undefined {
    for (const [kind, store] of [
      ["success", this.success],
      ["denial", this.denial],
    ] as const) {
      const e = store.get(key);
      if (e === undefined) continue;
      const left = e.ttl - Math.floor((nowMs - e.stored) / 1000);
      if (left <= 0) {
        store.delete(key);
        return undefined;
      }
      if (this.o.keepTtl) return { res: e.res, kind };
      if (e.aged?.left !== left) e.aged = { left, res: withTtl(e.res, left) };
      return { res: e.aged.res, kind };
    }
    return undefined;
  }

  /** Store a reply when its kind is cacheable; returns the lifetime given (0 when not stored). */
  put(key: string, res: DnsResponse, nowMs: number, noSuccess = false, noDenial = false): number {
    const kind = classify(res);
    if (kind === undefined) return 0;
    let ttl: number;
    let store: Shards;
    if (kind === "servfail") {
      ttl = this.o.servfailTtl;
      store = this.denial;
    } else {
      const lim = kind === "success" ? this.o.success : this.o.denial;
      if ((kind === "success" && noSuccess) || (kind === "denial" && noDenial)) return 0;
      ttl = Math.min(lim.maxTtl, Math.max(lim.minTtl, minTtl(res) ?? lim.minTtl));
      store = kind === "success" ? this.success : this.denial;
    }
    if (ttl <= 0) return 0;
    (store === this.success ? this.denial : this.success).delete(key);
    store.set(key, { res, stored: nowMs, ttl });
    return ttl;
  }
}

function withTtl(res: DnsResponse, ttl: number): DnsResponse {
  const set = (rs: readonly Rr[]): Rr[] => rs.map((r) => ({ ...r, ttl }) as Rr);
  return { ...res, answer: set(res.answer), authority: set(res.authority), additional: set(res.additional) };
}
