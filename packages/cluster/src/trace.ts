import {
  expandQuery,
  formatResolvConf,
  formatRr,
  type ResolverFlavour,
  RRType,
  rcodeName,
  resolvConfFor,
  resolve,
} from "@knet/coredns-lite";
import { explain } from "@knet/netpol";
import { Addr, formatTrace, makePacket, type Trace } from "@knet/netstack";
import type { Cluster } from "./cluster.js";
import { ClusterError } from "./cluster.js";
import type { PolicyDecision, ProxyDecision } from "./hooks.js";

/** What {@link traceRequest} follows. */
export interface TraceRequest {
  /** The client pod, `namespace/name`. */
  readonly from: string;
  /** The target: a URL (`http://api.shop.svc.cluster.local:80`, `http://10.96.0.1`), or `host:port`. */
  readonly to: string;
  /** Transport (default tcp; `dns://` and `udp://` URLs mean udp). */
  readonly protocol?: "tcp" | "udp";
  /** Which resolver's search-list behaviour to model (default glibc). */
  readonly resolver?: ResolverFlavour;
}

/** One DNS query the pod's resolver sent, and the answer. */
export interface DnsExchange {
  /** Query name (fully qualified). */
  readonly name: string;
  /** Query type. */
  readonly type: "A";
  /** Response code name (NOERROR, NXDOMAIN...). */
  readonly rcode: string;
  /** Answer records as zone-file lines. */
  readonly answer: readonly string[];
  /** The IPv4 address the answer gave, if any. */
  readonly address: string | undefined;
}

/** The whole path of one request, from the pod's resolver to delivery or the drop. */
export interface ClusterTrace {
  /** The request as asked. */
  readonly request: TraceRequest;
  /** Client pod, its node and address. */
  readonly client: { readonly pod: string; readonly node: string; readonly ip: string };
  /** Target host, port and protocol as parsed. */
  readonly target: { readonly host: string; readonly port: number; readonly protocol: "tcp" | "udp" };
  /** The pod's /etc/resolv.conf as kubelet writes it (absent when the target is an IP). */
  readonly resolvConf: string | undefined;
  /** Names the resolver tries, in order (ndots and the search list). */
  readonly candidates: readonly string[];
  /** Queries sent until one answered with an address. */
  readonly dns: readonly DnsExchange[];
  /** How the first DNS query itself travelled to the cluster DNS service (kube-dns). */
  readonly dnsPath: Trace | undefined;
  /** The address connected to. */
  readonly address: string | undefined;
  /** Every hop of the first packet (the SYN for TCP) and where it ended. */
  readonly path: Trace | undefined;
  /** Every hop of the reply, when the request reached a listening socket. */
  readonly reply: Trace | undefined;
  /** kube-proxy decisions on the way (node, rules visited, backend). */
  readonly proxy: readonly ProxyDecision[];
  /** NetworkPolicy decisions on the way (node, direction, verdict with reasons). */
  readonly policy: readonly PolicyDecision[];
  /** The backend pod that received the request. */
  readonly backend:
    | { readonly pod: string; readonly node: string; readonly ip: string; readonly port: number }
    | undefined;
  /** Connected (SYN delivered to a listener and the SYN-ACK made it back). */
  readonly connected: boolean;
  /** One line: what happened. */
  readonly summary: string;
}

function parseTarget(
  to: string,
  protocol: "tcp" | "udp" | undefined,
): { host: string; port: number; protocol: "tcp" | "udp" } {
  const text = to.includes("://") ? to : `tcp://${to}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClusterError(
      `--to ${JSON.stringify(to)} is not a URL or host:port (e.g. http://api.shop.svc.cluster.local:80)`,
    );
  }
  const scheme = url.protocol.replace(/:$/, "");
  const defaults: Record<string, number> = { http: 80, https: 443, dns: 53 };
  const port = url.port ? Number(url.port) : defaults[scheme];
  if (port === undefined) throw new ClusterError(`--to ${JSON.stringify(to)}: no port (add :PORT)`);
  const proto = protocol ?? (scheme === "udp" || scheme === "dns" ? "udp" : "tcp");
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port, protocol: proto };
}

/**
 * Follow a request from a pod: resolv.conf search expansion and each DNS
 * query with its answer (and how the query itself reached kube-dns), then the
 * first packet through the pod's route, veth and bridge, the node's kube-proxy
 * rules (backend chosen), NetworkPolicy, the overlay (VXLAN encapsulation
 * across nodes) to delivery, or the exact drop and why, and the reply.
 */
export function traceRequest(cluster: Cluster, req: TraceRequest): ClusterTrace {
  const client = cluster.pod(req.from);
  const target = parseTarget(req.to, req.protocol);
  const dp = cluster.dataplane;
  cluster.takeDecisions();

  let address: string | undefined;
  let resolvConf: ClusterTrace["resolvConf"];
  let candidates: string[] = [];
  const dns: DnsExchange[] = [];
  let dnsPath: ClusterTrace["dnsPath"];
  if (Addr.isValid(target.host)) {
    address = target.host;
  } else {
    const rc = resolvConfFor(client.pod, {
      clusterDomain: cluster.options.clusterDomain,
      clusterDNS: [cluster.clusterDnsIp()],
    }).resolvConf;
    resolvConf = formatResolvConf(rc);
    candidates = expandQuery(target.host, rc, req.resolver ?? "glibc");
    for (const name of candidates) {
      const res = resolve(cluster.dns, { name, type: "A" }, { zones: [cluster.options.clusterDomain] });
      const a = res.answer.find((r) => r.type === RRType.A);
      const got = a && "address" in a ? a.address : undefined;
      dns.push({ name, type: "A", rcode: rcodeName(res.rcode), answer: res.answer.map(formatRr), address: got });
      if (got) {
        address = got;
        break;
      }
    }
    const ns = rc.nameservers[0];
    if (ns)
      dnsPath = dp.send(client.netns, makePacket({ dst: ns, proto: "udp", sport: cluster.ephemeralPort(), dport: 53 }));
    cluster.takeDecisions();
  }

  let path: Trace | undefined;
  let reply: Trace | undefined;
  let backend: ClusterTrace["backend"];
  let connected = false;
  let summary: string;
  if (address === undefined) {
    summary = `could not resolve ${target.host}: ${dns.map((d) => `${d.name} ${d.rcode}`).join(", ") || "no query"}`;
  } else {
    const sport = cluster.ephemeralPort();
    const ex = dp.exchange(
      client.netns,
      makePacket({ dst: address, proto: target.protocol, sport, dport: target.port }),
    );
    path = ex.request;
    reply = ex.reply;
    connected = ex.ok;
    const o = ex.request.outcome;
    if (o.kind === "delivered") {
      const pod = [...cluster.pods.values()].find((p) => p.netns === o.ns);
      const arrived = ex.request.packet;
      if (pod) backend = { pod: pod.key, node: pod.node, ip: pod.ip.toString(), port: arrived.dport };
      summary = connected
        ? `connected: ${client.key} -> ${target.host}:${target.port} reached ${backend ? `${backend.pod} (${backend.ip}:${backend.port} on ${backend.node})` : o.ns}`
        : `delivered to ${o.ns}/${o.dev} but ${o.socket ? "the reply did not come back" : `nothing listens on ${target.protocol}/${arrived.dport}`}`;
    } else {
      summary = `dropped in ${o.ns}${o.dev ? `/${o.dev}` : ""}: ${o.reason} (${o.detail})`;
    }
  }
  const decisions = cluster.takeDecisions();
  return {
    request: req,
    client: { pod: client.key, node: client.node, ip: client.ip.toString() },
    target,
    resolvConf,
    candidates,
    dns,
    dnsPath,
    address,
    path,
    reply,
    proxy: decisions.proxy,
    policy: decisions.policy,
    backend,
    connected,
    summary:
      path && !connected && decisions.policy.some((d) => !d.verdict[d.direction].allowed)
        ? `${summary} — denied by NetworkPolicy`
        : summary,
  };
}

function section(title: string): string {
  return `\n== ${title}`;
}

/** A trace as readable text: DNS, path, proxy rules, policy, outcome. */
export function formatClusterTrace(t: ClusterTrace): string {
  const out: string[] = [];
  out.push(`trace ${t.client.pod} (${t.client.ip} on ${t.client.node}) -> ${t.request.to}`);
  if (t.resolvConf) {
    out.push(section("DNS (the pod's resolver)"));
    out.push(`/etc/resolv.conf: ${t.resolvConf.trim().split("\n").join("; ")}`);
    out.push(`names tried for ${JSON.stringify(t.target.host)}: ${t.candidates.length} (${t.candidates.join(", ")})`);
    for (const d of t.dns) {
      out.push(`  ? ${d.name} ${d.type} -> ${d.rcode}${d.answer.length ? `: ${d.answer.join(" | ")}` : ""}`);
    }
    if (t.dnsPath) {
      const dnat = t.dnsPath.steps.find((s) => s.kind === "nat" && s.rewrite?.startsWith("dst"));
      const o = t.dnsPath.outcome;
      out.push(
        `  queries go to ${t.dnsPath.sent.dst}:53/udp${dnat ? ` (${dnat.rewrite} by ${dnat.owner ?? "?"} on ${dnat.ns})` : ""} -> ${o.kind === "delivered" ? `answered by ${o.ns}` : `dropped: ${o.reason}`}`,
      );
    }
  }
  if (t.address !== undefined) {
    out.push(section(`Packet path: ${t.target.protocol} ${t.client.ip} -> ${t.address}:${t.target.port}`));
    if (t.path) out.push(formatTrace(t.path));
  }
  for (const p of t.proxy) {
    out.push(section(`kube-proxy on ${p.node} (${p.hook}): ${p.packet}`));
    const visited = p.evaluation.trace.length;
    const matched = p.evaluation.trace.filter((s) => s.matched && s.rule > 0);
    out.push(`  ${visited} rules visited, ${matched.length} matched:`);
    for (const s of matched) out.push(`  [${s.table}] ${s.chain} #${s.rule}: ${s.text}`);
    const o = p.evaluation.outcome;
    out.push(
      `  => ${o.kind === "dnat" ? `DNAT to ${o.backend.ip}:${o.backend.port}${o.masquerade ? ", masquerade" : ""}` : o.kind === "accept" ? `accept${o.masquerade ? ", masquerade" : ""}` : `${o.kind}: ${o.reason}`}`,
    );
  }
  for (const [i, d] of t.policy.entries()) {
    const prev = t.policy[i - 1];
    if (prev && prev.verdict === d.verdict && prev.node === d.node) continue;
    const both = t.policy[i + 1]?.verdict === d.verdict && t.policy[i + 1]?.node === d.node;
    out.push(section(`NetworkPolicy on ${d.node} (${both ? "egress and ingress" : d.direction})`));
    out.push(
      explain(d.verdict)
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  if (t.reply) {
    out.push(section("Reply"));
    out.push(formatTrace(t.reply));
  }
  out.push(section("Result"));
  out.push(t.summary);
  return `${out.join("\n")}\n`;
}
