/**
 * The `kubernetes` handler: answers names in its zones from the index, memoises
 * answers per index generation (so a repeated question costs one Map lookup and
 * the server can reuse the encoded bytes), chases ExternalName targets outside
 * the zone through the chain (CoreDNS's upstream), and passes NXDOMAIN on when
 * `fallthrough` covers the name.
 */
import type { DnsIndex } from "../../index/dns-index.js";
import type { ChainContext, DnsRequest, Handler, Next } from "../../plugin.js";
import type { DnsResponse, Rr } from "../../wire/message.js";
import { type Chase, inQuestionCase, KubernetesLookup, type LookupResult } from "./lookup.js";
import type { ResolvedKubernetesOptions } from "./options.js";

const MEMO_LIMIT = 50_000;

function hasChase(r: LookupResult): boolean {
  return r.answer.some((a) => "chase" in a);
}

function toResponse(r: LookupResult): DnsResponse {
  return {
    rcode: r.rcode,
    authoritative: r.authoritative,
    truncated: false,
    answer: r.answer as Rr[],
    authority: r.authority,
    additional: r.additional,
  };
}

/** Assemble a result whose answer has chase markers, given the upstream replies. */
export function assembleChased(r: LookupResult, upstream: (target: string) => DnsResponse | undefined): DnsResponse {
  const answer: Rr[] = [];
  let truncated = false;
  for (const a of r.answer) {
    if ("chase" in a) {
      const u = upstream((a as Chase).chase);
      if (u !== undefined) {
        answer.push(...u.answer);
        truncated ||= u.truncated;
      }
    } else answer.push(a);
  }
  return { ...toResponse(r), answer, truncated };
}

/** The kubernetes plugin's request handler. */
export class KubernetesHandler implements Handler {
  readonly name = "kubernetes";
  /** Answers are memoised per index generation; ExternalName chases answer asynchronously (never replayed). */
  readonly pure = true;
  readonly lookup: KubernetesLookup;
  private readonly index: DnsIndex;
  private memo = new Map<number, Map<string, LookupResult | null>>();
  private memoSize = 0;
  private memoGen = -1;

  constructor(index: DnsIndex, options: ResolvedKubernetesOptions) {
    this.index = index;
    this.lookup = new KubernetesLookup(index, options);
  }

  /** The lookup result for a lower-case name and type, memoised per index generation; null when not in a zone. */
  result(name: string, type: number): LookupResult | null {
    if (this.memoGen !== this.index.generation || this.memoSize >= MEMO_LIMIT) {
      this.memo = new Map();
      this.memoSize = 0;
      this.memoGen = this.index.generation;
    }
    let byName = this.memo.get(type);
    if (byName === undefined) {
      byName = new Map();
      this.memo.set(type, byName);
    }
    let r = byName.get(name);
    if (r === undefined) {
      r = this.lookup.lookup(name, type) ?? null;
      byName.set(name, r);
      this.memoSize++;
    }
    return r;
  }

  private readonly responses = new WeakMap<LookupResult, DnsResponse>();

  serveDNS(req: DnsRequest, next: Next, ctx: ChainContext): DnsResponse | Promise<DnsResponse> {
    const found = this.result(req.name, req.type);
    if (found === null) return next(req);
    if (found.rcode === 3 && this.lookup.fallsThrough(req.name)) return next(req);
    const original = req.originalName;
    // A question spelled with capitals gets names in its spelling: a fresh result, not the memoised one.
    const r = original === req.name ? found : inQuestionCase(found, req.name, original);
    if (hasChase(r)) return this.chase(r, req, ctx);
    if (r !== found) return toResponse(r);
    let res = this.responses.get(r);
    if (res === undefined) {
      res = toResponse(r);
      this.responses.set(r, res);
    }
    return res;
  }

  private async chase(r: LookupResult, req: DnsRequest, ctx: ChainContext): Promise<DnsResponse> {
    const replies = new Map<string, DnsResponse>();
    for (const a of r.answer) {
      if (!("chase" in a)) continue;
      const target = (a as Chase).chase;
      if (!replies.has(target)) {
        try {
          replies.set(target, await ctx.lookup(target, req.type));
        } catch {
          // An unreachable upstream leaves just the CNAME.
        }
      }
    }
    return assembleChased(r, (t) => replies.get(t));
  }
}
