/**
 * `loadbalance [round_robin]`: per section, if every record is A (or every one
 * AAAA) shuffle them; otherwise order CNAMEs first, then other types (SRV keeps
 * its order), then shuffled A/AAAA, then shuffled MX. Answers with fewer than two
 * address records are passed through untouched (same object, so the server's
 * encoded-answer reuse still applies).
 */
import { ConfigError, type Plugin, type Random } from "../../plugin.js";
import { RRType } from "../../wire/constants.js";
import type { DnsResponse, Rr } from "../../wire/message.js";

function shuffle<T>(a: T[], random: Random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i] as T;
    a[i] = a[j] as T;
    a[j] = t;
  }
  return a;
}

function isAddr(r: Rr): boolean {
  return r.type === RRType.A || r.type === RRType.AAAA;
}

/** Reorder one section as CoreDNS's round_robin does. */
export function roundRobin(rrs: readonly Rr[], random: Random): readonly Rr[] {
  // Counted without allocating: most answers (one A record, an SOA) are returned as they are.
  let addrs = 0;
  let mxs = 0;
  for (const r of rrs) {
    if (isAddr(r)) addrs++;
    else if (r.type === RRType.MX) mxs++;
  }
  if (addrs < 2 && mxs < 2) return rrs;
  const cname: Rr[] = [];
  const addr: Rr[] = [];
  const mx: Rr[] = [];
  const other: Rr[] = [];
  for (const r of rrs) {
    if (r.type === RRType.CNAME) cname.push(r);
    else if (isAddr(r)) addr.push(r);
    else if (r.type === RRType.MX) mx.push(r);
    else other.push(r);
  }
  return [...cname, ...other, ...shuffle(addr, random), ...shuffle(mx, random)];
}

/** The `loadbalance` plugin. */
export const loadbalancePlugin: Plugin = {
  name: "loadbalance",
  setup(d, env) {
    if (d.args.length > 1 || (d.args[0] !== undefined && d.args[0] !== "round_robin")) {
      throw new ConfigError("loadbalance: only round_robin is supported", d.line);
    }
    const apply = (res: DnsResponse): DnsResponse => {
      const answer = roundRobin(res.answer, env.random);
      const authority = roundRobin(res.authority, env.random);
      const additional = roundRobin(res.additional, env.random);
      if (answer === res.answer && authority === res.authority && additional === res.additional) return res;
      return { ...res, answer, authority, additional };
    };
    return {
      handler: {
        name: "loadbalance",
        // A shuffled answer is a fresh object (never replayed); an untouched one is passed through.
        pure: true,
        serveDNS(req, next) {
          const r = next(req);
          return r instanceof Promise ? r.then(apply) : apply(r);
        },
      },
    };
  },
};
