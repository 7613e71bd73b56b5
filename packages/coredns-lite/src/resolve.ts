/**
 * `resolve()`: the answer cluster DNS gives, computed without any socket. It is
 * the default server chain in miniature: names in the zones get the kubernetes
 * plugin's answer (ANY too, as NODATA or NXDOMAIN: the default chain has no `any`
 * plugin), others are REFUSED.
 */
import type { DnsIndex } from "./index/dns-index.js";
import { assembleChased } from "./plugins/kubernetes/handler.js";
import { inQuestionCase, KubernetesLookup } from "./plugins/kubernetes/lookup.js";
import { type KubernetesOptions, resolveOptions } from "./plugins/kubernetes/options.js";
import { Rcode, RRType, typeCode } from "./wire/constants.js";
import { type DnsResponse, emptyResponse, type Rr } from "./wire/message.js";
import { fqdn } from "./wire/name.js";

/** A question for {@link resolve}. */
export interface DnsQuery {
  /** The name, relative names are taken as absolute (`svc1.testns.svc.cluster.local`). */
  readonly name: string;
  /** Type name or code. Default `A`. */
  readonly type?: string | number;
}

/** Options of {@link resolve}: the kubernetes plugin's options plus an upstream. */
export interface ResolveOptions extends KubernetesOptions {
  /** Answers for names outside the zones (ExternalName targets); without it such a CNAME stands alone. */
  readonly upstream?: (name: string, type: number) => DnsResponse | undefined;
}

/** The minimal answer to an ANY query (RFC 8482 section 4.2), as CoreDNS's `any` plugin gives it. */
export function anyAnswer(qname: string): DnsResponse {
  return {
    rcode: Rcode.NOERROR,
    authoritative: false,
    truncated: false,
    answer: [{ name: qname, type: RRType.HINFO, ttl: 8482, cpu: "RFC8482", os: "" }],
    authority: [],
    additional: [],
  };
}

/**
 * Give answer records whose owner spells the question in lower case the question's
 * own spelling (CoreDNS's plugins write `state.QName()`, the name as asked). Always a
 * new response object.
 */
export function echoCase(res: DnsResponse, lower: string, original: string): DnsResponse {
  const answer = res.answer.map((r) => (r.name === lower ? ({ ...r, name: original } as Rr) : r));
  return { ...res, answer };
}

/**
 * Resolve one question against an index.
 * @throws RangeError for an unknown type name or a bad option.
 */
export function resolve(index: DnsIndex, query: DnsQuery, options: ResolveOptions = {}): DnsResponse {
  const type = typeCode(query.type ?? "A");
  if (type === undefined) throw new RangeError(`unknown query type "${String(query.type)}"`);
  const original = fqdn(query.name);
  const name = original.toLowerCase();
  const lookup = new KubernetesLookup(index, resolveOptions(options));
  const r = lookup.lookup(name, type);
  if (r === undefined) return emptyResponse(Rcode.REFUSED);
  const upstream = options.upstream;
  return assembleChased(inQuestionCase(r, name, original), (t) => upstream?.(t, type));
}
