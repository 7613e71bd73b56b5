/**
 * `forward FROM TO... { max_concurrent N; timeout DUR; policy random|sequential }`.
 * TO must be explicit IP addresses (`IP`, `IP:PORT`, `dns://IP[:PORT]`, `[v6]:PORT`):
 * this forwarder never reads /etc/resolv.conf and never picks a resolver itself.
 */
import { Addr } from "@knet/netstack";
import { ConfigError, type Directive, type Plugin } from "../../plugin.js";
import { Rcode } from "../../wire/constants.js";
import { type DnsResponse, emptyResponse } from "../../wire/message.js";
import { isSubdomain } from "../../wire/name.js";
import { type Upstream, UpstreamClient } from "./forward.js";

/** Parsed forward configuration. */
export interface ForwardConfig {
  /** Names under this zone are forwarded. */
  readonly from: string;
  /** Upstreams, in configured order. */
  readonly to: readonly Upstream[];
  /** Queries in flight at most; more get REFUSED. Default 1000. */
  readonly maxConcurrent: number;
  /** Per-upstream timeout in ms. Default 2000. */
  readonly timeoutMs: number;
  /** Upstream order per query. Default random. */
  readonly policy: "random" | "sequential";
}

/** Parse one upstream address. */
export function parseUpstream(text: string, line = 0): Upstream {
  const t = text.startsWith("dns://") ? text.slice(6) : text;
  let host = t;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6 !== null) {
    host = v6[1] as string;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (t.indexOf(":") === t.lastIndexOf(":") && t.includes(":")) {
    host = t.slice(0, t.indexOf(":"));
    port = Number(t.slice(t.indexOf(":") + 1));
  }
  if (!Addr.isValid(host)) {
    throw new ConfigError(
      `forward: "${text}" is not an IP address; upstreams must be given explicitly (resolv.conf and names are not used)`,
      line,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError(`forward: bad port in "${text}"`, line);
  return { host: Addr.parse(host).toString(), port };
}

/** Parse a forward directive. */
export function parseForward(d: Directive): ForwardConfig {
  const [from, ...to] = d.args;
  if (from === undefined || to.length === 0)
    throw new ConfigError("forward FROM TO... needs a zone and at least one upstream", d.line);
  let maxConcurrent = 1000;
  let timeoutMs = 2000;
  let policy: "random" | "sequential" = "random";
  for (const s of d.block) {
    if (s.name === "max_concurrent") {
      maxConcurrent = Number(s.args[0]);
      if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
        throw new ConfigError("forward: max_concurrent takes a positive integer", s.line);
    } else if (s.name === "timeout") {
      const m = /^(\d+)(ms|s)$/.exec(s.args[0] ?? "");
      if (m === null) throw new ConfigError("forward: timeout takes a duration like 500ms or 2s", s.line);
      timeoutMs = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
    } else if (s.name === "policy") {
      if (s.args[0] !== "random" && s.args[0] !== "sequential")
        throw new ConfigError("forward: policy random|sequential", s.line);
      policy = s.args[0];
    } else throw new ConfigError(`forward: unknown or unsupported property "${s.name}"`, s.line);
  }
  const z = from.toLowerCase();
  return {
    from: z === "." || z.endsWith(".") ? z : `${z}.`,
    to: to.map((t) => parseUpstream(t, d.line)),
    maxConcurrent,
    timeoutMs,
    policy,
  };
}

/** The `forward` plugin. */
export const forwardPlugin: Plugin = {
  name: "forward",
  setup(d, env) {
    const cfg = parseForward(d);
    const clients = cfg.to.map((u) => new UpstreamClient(u, env.random, cfg.timeoutMs));
    const requests = env.metrics.counter("coredns_forward_requests_total", "Counter of requests made per upstream.");
    let inFlight = 0;
    const ask = async (name: string, type: number): Promise<DnsResponse> => {
      const start = cfg.policy === "random" ? Math.floor(env.random() * clients.length) : 0;
      let last: unknown;
      for (let i = 0; i < clients.length; i++) {
        const c = clients[(start + i) % clients.length] as UpstreamClient;
        requests.inc(`{to="${c.upstream.host}:${c.upstream.port}"}`);
        try {
          return await c.query(name, type);
        } catch (e) {
          last = e;
        }
      }
      throw last instanceof Error ? last : new Error("no upstream answered");
    };
    return {
      stop: async () => {
        for (const c of clients) c.close();
      },
      handler: {
        name: "forward",
        serveDNS(req, next) {
          if (!isSubdomain(req.name, cfg.from)) return next(req);
          if (inFlight >= cfg.maxConcurrent) return emptyResponse(Rcode.REFUSED);
          inFlight++;
          return ask(req.originalName, req.type)
            .catch((e: unknown) => {
              env.logSink(`[ERROR] plugin/forward: ${req.name} ${e instanceof Error ? e.message : String(e)}`);
              return emptyResponse(Rcode.SERVFAIL);
            })
            .finally(() => {
              inFlight--;
            });
        },
      },
    };
  },
};
