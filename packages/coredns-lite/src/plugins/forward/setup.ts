/**
 * `forward FROM TO... { max_concurrent N; timeout DUR; policy random|sequential }`.
 * Each TO is an IP address (`IP`, `IP:PORT`, `dns://IP[:PORT]`, `[v6]:PORT`) or, as in
 * CoreDNS, a resolv.conf-style file (`forward . /etc/resolv.conf`) whose `nameserver`
 * lines give the upstreams (port 53). Queries go to these upstreams only.
 */
import { readFileSync } from "node:fs";
import { Addr } from "@knet/netstack";
import { durationMs } from "../../config.js";
import { ConfigError, type Directive, type Plugin } from "../../plugin.js";
import { parseResolvConf } from "../../pod/resolv-conf.js";
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

/** Parse one upstream address; undefined when the host is not an IP (then it may be a file). */
function upstreamAddress(text: string, line: number): Upstream | undefined {
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
  host = host.replace(/%.*$/, ""); // an IPv6 zone
  if (!Addr.isValid(host)) return undefined;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError(`forward: bad port in "${text}"`, line);
  return { host: Addr.parse(host).toString(), port };
}

/**
 * The upstreams one TO stands for: an address, or the `nameserver` lines of a
 * resolv.conf-style file (each on port 53), as CoreDNS's `parse.HostPortOrFile` reads it.
 */
export function upstreamsOf(text: string, line = 0, readFile = (p: string) => readFileSync(p, "utf8")): Upstream[] {
  const u = upstreamAddress(text, line);
  if (u !== undefined) return [u];
  let content: string;
  try {
    content = readFile(text);
  } catch (e) {
    throw new ConfigError(
      `forward: not an IP address or file "${text}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      line,
    );
  }
  const out: Upstream[] = [];
  for (const ns of parseResolvConf(content).nameservers) {
    const a = upstreamAddress(ns.includes(":") ? `[${ns}]` : ns, line);
    if (a === undefined) throw new ConfigError(`forward: "${ns}" in ${text} is not an IP address`, line);
    out.push(a);
  }
  return out;
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
      const ms = durationMs(s.args[0] ?? "");
      if (ms === undefined || ms <= 0)
        throw new ConfigError("forward: timeout takes a duration like 500ms or 2s", s.line);
      timeoutMs = ms;
    } else if (s.name === "policy") {
      if (s.args[0] !== "random" && s.args[0] !== "sequential")
        throw new ConfigError("forward: policy random|sequential", s.line);
      policy = s.args[0];
    } else throw new ConfigError(`forward: unknown or unsupported property "${s.name}"`, s.line);
  }
  const z = from.toLowerCase();
  const seen = new Set<string>();
  const upstreams = to
    .flatMap((t) => upstreamsOf(t, d.line))
    .filter((u) => !seen.has(`${u.host}:${u.port}`) && seen.add(`${u.host}:${u.port}`) !== undefined);
  if (upstreams.length === 0) throw new ConfigError(`forward: no nameservers found in ${to.join(" ")}`, d.line);
  return {
    from: z === "." || z.endsWith(".") ? z : `${z}.`,
    to: upstreams,
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
      throw last instanceof Error ? last : new RangeError("forward has no upstream to ask");
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
