/**
 * `autopath @kubernetes`: server-side search-path completion (CoreDNS's autopath
 * with the kubernetes plugin). When the question ends with the asking pod's first
 * search domain (`<ns>.svc.<zone>`, the pod found by its IP, which needs
 * `pods verified`), the server strips it and tries the name with each of the
 * pod's search domains and finally bare, in one round trip; the first answer that
 * is not NXDOMAIN is returned with a CNAME from the asked name prepended. If all
 * fail, the first reply is returned. This removes the ndots:5 amplification for
 * pods whose resolver honours the CNAME.
 */
import { Addr } from "@knet/netstack";
import { ConfigError, type DnsRequest, type Next, type Plugin } from "../../plugin.js";
import { Rcode, RRType } from "../../wire/constants.js";
import type { DnsResponse, Rr } from "../../wire/message.js";

/** The client IP of `ip:port` or `[v6]:port` text, canonical; undefined when unparsable. */
export function clientIp(remote: string | undefined): string | undefined {
  if (remote === undefined) return undefined;
  const m = /^\[([^\]]+)\]:\d+$/.exec(remote) ?? /^([^:]+):\d+$/.exec(remote);
  const text = m?.[1];
  if (text === undefined || !Addr.isValid(text)) return undefined;
  return Addr.parse(text).unmap().toString();
}

/** CoreDNS's `cnamer`: before the first answer not owned by the asked name, a CNAME from it (with that record's TTL). */
function withCname(res: DnsResponse, original: string): DnsResponse {
  const first = res.answer.find((a) => a.name.toLowerCase() !== original.toLowerCase());
  if (first === undefined) return res;
  const cname: Rr = { name: original, type: RRType.CNAME, ttl: first.ttl, target: first.name };
  return { ...res, answer: [cname, ...res.answer] };
}

/** The `autopath` plugin. */
export const autopathPlugin: Plugin = {
  name: "autopath",
  setup(d, env) {
    if (d.args.length !== 1 || d.args[0] !== "@kubernetes") {
      throw new ConfigError("autopath: only 'autopath @kubernetes' is supported", d.line);
    }
    const k = env.directives.find((x) => x.name === "kubernetes");
    if (k === undefined || !k.block.some((b) => b.name === "pods" && b.args[0] === "verified")) {
      throw new ConfigError("autopath @kubernetes needs the kubernetes plugin with 'pods verified'", d.line);
    }
    const kZones = (k.args.length > 0 ? k.args : env.zones).map((z) => {
      const l = z.toLowerCase();
      return l.endsWith(".") ? l : `${l}.`;
    });
    const zone = kZones.find((z) => z !== "." && !z.endsWith("in-addr.arpa.") && !z.endsWith("ip6.arpa."));
    if (zone === undefined) throw new ConfigError("autopath: the kubernetes plugin serves no forward zone", d.line);
    const walk = async (req: DnsRequest, next: Next, base: string, search: string[]): Promise<DnsResponse> => {
      let first: DnsResponse | undefined;
      for (const domain of [...search, ""]) {
        const target = domain === "" ? `${base}.` : `${base}.${domain}`;
        const res = await next({ ...req, name: target, originalName: target });
        first ??= res;
        if (res.rcode === Rcode.NXDOMAIN) continue;
        return withCname(res, req.originalName);
      }
      return first as DnsResponse;
    };
    return {
      handler: {
        name: "autopath",
        serveDNS(req, next) {
          if (req.transport === "internal") return next(req);
          const ip = clientIp(req.remote);
          if (ip === undefined) return next(req);
          const pod = env.index.podsWithIp(ip)[0];
          if (pod === undefined) return next(req);
          const first = `${pod.namespace}.svc.${zone}`;
          if (!req.name.endsWith(`.${first}`)) return next(req);
          const base = req.name.slice(0, req.name.length - first.length - 1);
          return walk(req, next, base, [first, `svc.${zone}`, zone]);
        },
      },
    };
  },
};
