/**
 * `cache [TTL] [ZONES...] { success CAP [TTL [MINTTL]]; denial CAP [TTL [MINTTL]]; servfail DUR; disable success|denial [ZONES...]; keepttl }`.
 * `prefetch` and `serve_stale` are not implemented and are rejected.
 */
import { durationMs } from "../../config.js";
import { ConfigError, type Directive, type Plugin } from "../../plugin.js";
import type { DnsResponse } from "../../wire/message.js";
import { isSubdomain } from "../../wire/name.js";
import { type CacheLimits, type CacheOptions, DEFAULT_CACHE_OPTIONS, ResponseCache } from "./cache.js";

function abs(z: string): string {
  const l = z.toLowerCase();
  return l === "." || l.endsWith(".") ? l : `${l}.`;
}

function int(s: string | undefined, what: string, line: number): number {
  const n = Number(s);
  if (s === undefined || !Number.isInteger(n) || n < 0)
    throw new ConfigError(`cache: ${what} must be a non-negative integer`, line);
  return n;
}

/** Whole seconds of a Go duration (`30s`, `5m`); CoreDNS also takes a bare number of seconds here. */
function duration(s: string | undefined, line: number): number {
  const ms = s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) * 1000 : durationMs(s);
  if (ms === undefined) throw new ConfigError(`cache: bad duration "${s}" (e.g. 30s, 5m)`, line);
  return Math.floor(ms / 1000);
}

/** Parsed cache configuration. */
export interface CacheConfig {
  /** Cache limits. */
  readonly options: CacheOptions;
  /** Zones whose names are cached (empty: all). */
  readonly zones: readonly string[];
  /** Zones where success answers are not cached. */
  readonly disableSuccess: readonly string[];
  /** Zones where denials are not cached. */
  readonly disableDenial: readonly string[];
}

/** Parse a cache directive. */
export function parseCache(d: Directive): CacheConfig {
  let success: CacheLimits = DEFAULT_CACHE_OPTIONS.success;
  let denial: CacheLimits = DEFAULT_CACHE_OPTIONS.denial;
  let servfailTtl = DEFAULT_CACHE_OPTIONS.servfailTtl;
  let keepTtl = false;
  const args = [...d.args];
  if (args[0] !== undefined && /^\d+$/.test(args[0])) {
    const ttl = int(args.shift(), "TTL", d.line);
    success = { ...success, maxTtl: ttl };
    denial = { ...denial, maxTtl: ttl };
  }
  const zones = args.map(abs);
  const disableSuccess: string[] = [];
  const disableDenial: string[] = [];
  for (const s of d.block) {
    switch (s.name) {
      case "success":
      case "denial": {
        const cur = s.name === "success" ? success : denial;
        const capacity = int(s.args[0], `${s.name} capacity`, s.line);
        const maxTtl = s.args[1] === undefined ? cur.maxTtl : int(s.args[1], `${s.name} TTL`, s.line);
        const minTtl = s.args[2] === undefined ? cur.minTtl : int(s.args[2], `${s.name} MINTTL`, s.line);
        const lim = { capacity, maxTtl, minTtl };
        if (s.name === "success") success = lim;
        else denial = lim;
        break;
      }
      case "servfail":
        servfailTtl = duration(s.args[0], s.line);
        if (servfailTtl > 300) throw new ConfigError("cache: servfail is at most 5m", s.line);
        break;
      case "disable": {
        const [what, ...z] = s.args;
        if (what !== "success" && what !== "denial")
          throw new ConfigError("cache: disable success|denial [ZONES]", s.line);
        (what === "success" ? disableSuccess : disableDenial).push(...(z.length > 0 ? z.map(abs) : ["."]));
        break;
      }
      case "keepttl":
        keepTtl = true;
        break;
      default:
        throw new ConfigError(`cache: unknown or unsupported property "${s.name}"`, s.line);
    }
  }
  return { options: { success, denial, servfailTtl, keepTtl }, zones, disableSuccess, disableDenial };
}

/** The `cache` plugin. */
export const cachePlugin: Plugin = {
  name: "cache",
  setup(d, env) {
    const cfg = parseCache(d);
    const cache = new ResponseCache(cfg.options, env.random);
    const hits = env.metrics.counter("coredns_cache_hits_total", "The count of cache hits.");
    const misses = env.metrics.counter("coredns_cache_misses_total", "The count of cache misses.");
    env.metrics.gauge("coredns_cache_entries", "The number of elements in the cache.", () => {
      const s = cache.sizes();
      return s.success + s.denial;
    });
    const under = (name: string, zones: readonly string[]): boolean => zones.some((z) => isSubdomain(name, z));
    return {
      handler: {
        name: "cache",
        serveDNS(req, next) {
          if (cfg.zones.length > 0 && !under(req.name, cfg.zones)) return next(req);
          const key = `${req.dnssecOk ? 1 : 0}|${req.type}|${req.name}`;
          const now = env.clock.now();
          const hit = cache.get(key, now);
          if (hit !== undefined) {
            hits.inc(hit.kind === "success" ? '{type="success"}' : '{type="denial"}');
            return hit.res;
          }
          misses.inc();
          const store = (res: DnsResponse): DnsResponse => {
            cache.put(key, res, now, under(req.name, cfg.disableSuccess), under(req.name, cfg.disableDenial));
            return res;
          };
          const r = next(req);
          return r instanceof Promise ? r.then(store) : store(r);
        },
      },
    };
  },
};
