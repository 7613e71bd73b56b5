import {
  expandQuery,
  explainSearch,
  formatResolvConf,
  formatRr,
  type ResolverFlavour,
  RRType,
  rcodeName,
  resolvConfFor,
  resolve,
} from "@knet/coredns-lite";
import type { Pod } from "@knet/k8s";
import { explain } from "@knet/netpol";
import { Addr, formatTrace, makePacket, type Packet, type SocketOwner, type Trace } from "@knet/netstack";
import type { Cluster } from "./cluster.js";
import { ClusterError } from "./errors.js";
import type { PolicyDecision, ProxyDecision } from "./hooks.js";
import { httpDefaults } from "./stages.js";
import type { ClusterNode, ClusterPod, ExternalHost, HttpRequest, ProxyForward, UserspaceProxy } from "./types.js";

/** What {@link traceRequest} follows. */
export interface TraceRequest {
  /** The client: a pod, `namespace/name`; a node by name (a host-network process); or a host outside the cluster by name (see `ClusterBuild.addExternalHost`). */
  readonly from: string;
  /** The target: a URL (`http://api.shop.svc.cluster.local:80`, `http://10.96.0.1`), or `host:port`. */
  readonly to: string;
  /** Transport (default tcp; `dns://` and `udp://` URLs mean udp). */
  readonly protocol?: "tcp" | "udp";
  /** Which resolver's search-list behaviour to model (default glibc). */
  readonly resolver?: ResolverFlavour;
  /** The HTTP request carried (for user-space proxies that route on it); default `GET` of the URL's path and query (`/` when it has none) with the target's Host. */
  readonly http?: Partial<HttpRequest>;
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
  /** The client: its pod (node, or external host) name, its node (`external` outside the cluster) and address. */
  readonly client: { readonly pod: string; readonly node: string; readonly ip: string };
  /** Target host, port and protocol as parsed. */
  readonly target: { readonly host: string; readonly port: number; readonly protocol: "tcp" | "udp" };
  /** The pod's /etc/resolv.conf as kubelet writes it (absent when the target is an IP). */
  readonly resolvConf: string | undefined;
  /** Names the resolver tries, in order (ndots and the search list). */
  readonly candidates: readonly string[];
  /** Why those names, in that order: the name's dots against ndots (absent when no name was looked up). */
  readonly search?: string;
  /** Queries sent until one answered with an address. */
  readonly dns: readonly DnsExchange[];
  /** How the first DNS query itself travelled to the cluster DNS service (kube-dns). */
  readonly dnsPath: Trace | undefined;
  /** The address connected to. */
  readonly address: string | undefined;
  /** Every hop of the first packet (the SYN for TCP) and where it ended. */
  readonly path: Trace | undefined;
  /** Every hop of the reply, when the request reached a listening socket: it ends at the client's connected socket. */
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
  /** The HTTP request this leg carried, when the target is http. */
  readonly http: HttpRequest | undefined;
  /**
   * When the connection reached a user-space proxy (a gateway, a sidecar): which
   * one, what it decided, and the trace of the connection it opened.
   */
  readonly proxied:
    | { readonly by: string; readonly decision: ProxyForward; readonly upstream: ClusterTrace | undefined }
    | undefined;
  /** One line: what happened. */
  readonly summary: string;
}

/** Who sends a traced request: a pod, a node (a host-network process), or a host outside the cluster (or a proxy in one of them). */
type Client =
  | { readonly kind: "pod"; readonly pod: ClusterPod }
  | { readonly kind: "node"; readonly node: ClusterNode }
  | { readonly kind: "external"; readonly host: ExternalHost };

function netnsOf(client: Client): string {
  return client.kind === "pod" ? client.pod.netns : client.kind === "node" ? client.node.name : client.host.netns;
}

function nameOf(client: Client): string {
  return client.kind === "pod" ? client.pod.key : client.kind === "node" ? client.node.name : client.host.name;
}

function clientOf(cluster: Cluster, from: string): Client {
  const host = cluster.externalHosts.get(from);
  if (host !== undefined) return { kind: "external", host };
  const node = cluster.nodes.get(from);
  if (node !== undefined) return { kind: "node", node };
  try {
    return { kind: "pod", pod: cluster.pod(from) };
  } catch (e) {
    if (!(e instanceof ClusterError) || cluster.externalHosts.size === 0) throw e;
    const hosts = [...cluster.externalHosts.keys()].join(", ");
    throw new ClusterError(`${e.message}; nor a host outside the cluster (hosts: ${hosts})`);
  }
}

/** The client behind a namespace (where a user-space proxy opens its connection). */
function clientInNs(cluster: Cluster, netns: string): Client {
  const pod = [...cluster.pods.values()].find((p) => p.netns === netns);
  if (pod !== undefined) return { kind: "pod", pod };
  const host = [...cluster.externalHosts.values()].find((h) => h.netns === netns);
  if (host !== undefined) return { kind: "external", host };
  const node = cluster.nodes.get(netns);
  if (node !== undefined) return { kind: "node", node };
  throw new ClusterError(`a user-space proxy listens in ${netns}, which is neither a pod nor an external host`);
}

/**
 * The UID/GID of a pod's process (its first container's `securityContext`, then
 * the pod's; unset: 0, root, as an image without USER runs). Its sockets carry
 * them, which sidecar capture rules (`-m owner`) read.
 */
export function podProcessOwner(pod: Pod): { readonly uid: number; readonly gid: number } {
  const c = pod.spec?.containers?.[0]?.securityContext;
  const p = pod.spec?.securityContext;
  return { uid: c?.runAsUser ?? p?.runAsUser ?? 0, gid: c?.runAsGroup ?? p?.runAsGroup ?? 0 };
}

/** How a proxy's onward connection is opened (what its `forward` decision said). */
interface LegSocket {
  readonly owner?: SocketOwner | undefined;
  readonly source?: string | undefined;
  readonly tls?: { readonly identity: string } | undefined;
}

/**
 * Where the connection `arrived` was headed before NAT in namespace `ns`
 * (`SO_ORIGINAL_DST`: the original tuple of its conntrack entry).
 */
function originalDestination(cluster: Cluster, ns: string, arrived: Packet): { ip: string; port: number } {
  const back = { ...arrived, src: arrived.dst, dst: arrived.src, sport: arrived.dport, dport: arrived.sport };
  const ct = cluster.dataplane.ns(ns).conntrack.lookup(back);
  const o = ct?.dir === "reply" ? ct.entry.original : undefined;
  return o === undefined
    ? { ip: arrived.dst.toString(), port: arrived.dport }
    : { ip: o.dst.toString(), port: o.dport };
}

/** How many user-space proxies one request may pass before the trace stops (a loop guard). */
const MAX_PROXY_HOPS = 8;

function parseTarget(
  to: string,
  protocol: "tcp" | "udp" | undefined,
): { host: string; port: number; protocol: "tcp" | "udp"; path: string | undefined } {
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
  // An http(s) URL's path and query are the request line's target, as curl sends them.
  const path = scheme === "http" || scheme === "https" ? `${url.pathname}${url.search}` : undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port, protocol: proto, path };
}

/**
 * Follow a request from a pod (or a host outside the cluster): resolv.conf
 * search expansion and each DNS query with its answer (and how the query
 * itself reached kube-dns), then the first packet through the pod's route, veth
 * and bridge, the node's kube-proxy rules (backend chosen), NetworkPolicy, the
 * overlay (VXLAN encapsulation across nodes) to delivery, or the exact drop and
 * why, and the reply. A connection that reaches a user-space proxy continues
 * with the connection the proxy opens (`proxied.upstream`).
 */
export function traceRequest(cluster: Cluster, req: TraceRequest): ClusterTrace {
  const client = clientOf(cluster, req.from);
  const owner = client.kind === "pod" ? podProcessOwner(client.pod.pod) : undefined;
  return traceLeg(cluster, client, req, req.http, 0, { owner });
}

function traceLeg(
  cluster: Cluster,
  client: Client,
  req: TraceRequest,
  httpIn: Partial<HttpRequest> | undefined,
  hops: number,
  socket: LegSocket,
): ClusterTrace {
  const target = parseTarget(req.to, req.protocol);
  const isHttp = /^https?:\/\//.test(req.to) || httpIn !== undefined;
  const request = httpIn?.path === undefined && target.path !== undefined ? { ...httpIn, path: target.path } : httpIn;
  const http = isHttp && target.protocol === "tcp" ? httpDefaults(request, target.host, target.port) : undefined;
  const dp = cluster.dataplane;
  const netns = netnsOf(client);
  cluster.takeDecisions();

  let address: string | undefined;
  let resolvConf: ClusterTrace["resolvConf"];
  let candidates: string[] = [];
  let search: string | undefined;
  const dns: DnsExchange[] = [];
  let dnsPath: ClusterTrace["dnsPath"];
  if (Addr.isValid(target.host)) {
    address = target.host;
  } else if (client.kind === "external") {
    // Outside the cluster there is no cluster DNS: only the host's own names.
    address = client.host.hosts[target.host];
  } else if (client.kind === "node") {
    // A host-network process uses the node's own resolver, not cluster DNS: only addresses here.
    address = undefined;
  } else {
    const rc = resolvConfFor(client.pod.pod, {
      clusterDomain: cluster.options.clusterDomain,
      clusterDNS: [cluster.clusterDnsIp()],
    }).resolvConf;
    resolvConf = formatResolvConf(rc);
    candidates = expandQuery(target.host, rc, req.resolver ?? "glibc");
    search = explainSearch(target.host, rc, req.resolver ?? "glibc");
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
      dnsPath = dp.send(
        netns,
        makePacket({ dst: ns, proto: "udp", sport: cluster.ephemeralPort(), dport: 53, ...socket.owner }),
      );
    cluster.takeDecisions();
  }

  let path: Trace | undefined;
  let reply: Trace | undefined;
  let backend: ClusterTrace["backend"];
  let connected = false;
  let summary: string;
  let proxy: UserspaceProxy | undefined;
  const who = nameOf(client);
  if (address === undefined) {
    summary =
      client.kind === "external"
        ? `could not resolve ${target.host} outside the cluster (give the external host a hosts entry, or an address)`
        : client.kind === "node"
          ? `could not resolve ${target.host} on node ${who}: the node's resolver is not cluster DNS (give an address)`
          : `could not resolve ${target.host}: ${dns.map((d) => `${d.name} ${d.rcode}`).join(", ") || "no query"}`;
  } else {
    const sport = cluster.ephemeralPort();
    const ex = dp.exchange(
      netns,
      makePacket({
        dst: address,
        proto: target.protocol,
        sport,
        dport: target.port,
        ...(socket.source !== undefined ? { src: socket.source } : {}),
        ...socket.owner,
      }),
    );
    path = ex.request;
    reply = ex.reply;
    connected = ex.ok;
    const o = ex.request.outcome;
    if (o.kind === "delivered") {
      const pod = [...cluster.pods.values()].find((p) => p.netns === o.ns);
      const arrived = ex.request.packet;
      if (pod) backend = { pod: pod.key, node: pod.node, ip: pod.ip.toString(), port: arrived.dport };
      if (connected && target.protocol === "tcp")
        proxy = cluster.userspaceProxies.find((x) => x.netns === o.ns && x.port === arrived.dport);
      summary = connected
        ? `connected: ${who} -> ${target.host}:${target.port} reached ${backend ? `${backend.pod} (${backend.ip}:${backend.port} on ${backend.node})` : o.ns}`
        : `delivered to ${o.ns}/${o.dev} but ${o.socket ? "the reply did not come back" : `nothing listens on ${target.protocol}/${arrived.dport}`}`;
    } else {
      summary = `dropped in ${o.ns}${o.dev ? `/${o.dev}` : ""}: ${o.reason} (${o.detail})`;
    }
  }
  const decisions = cluster.takeDecisions();
  let proxied: ClusterTrace["proxied"];
  if (proxy !== undefined && path !== undefined) {
    const arrived = path.packet;
    const decision = proxy.forward({
      http,
      client: { ip: arrived.src.toString(), port: arrived.sport },
      local: { ip: arrived.dst.toString(), port: arrived.dport },
      originalDst: originalDestination(cluster, proxy.netns, arrived),
      tls: socket.tls === undefined ? undefined : { peerIdentity: socket.tls.identity },
    });
    let upstream: ClusterTrace | undefined;
    if (decision.kind === "forward") {
      if (hops + 1 >= MAX_PROXY_HOPS) {
        summary = `${summary}; ${proxy.name} forwards to ${decision.to}, but the request passed ${MAX_PROXY_HOPS} proxies (a loop?)`;
      } else {
        const onward: TraceRequest = {
          from: req.from,
          to: decision.to,
          ...(req.resolver ? { resolver: req.resolver } : {}),
        };
        upstream = traceLeg(cluster, clientInNs(cluster, proxy.netns), onward, decision.http ?? http, hops + 1, {
          owner: decision.owner,
          source: decision.source,
          tls: decision.tls,
        });
        summary = `${summary}; ${proxy.name} forwards${decision.note ? ` (${decision.note})` : ""}: ${upstream.summary}`;
      }
    } else if (decision.kind === "reset") {
      summary = `${summary}; ${proxy.name} resets the connection${decision.note ? ` (${decision.note})` : ""}`;
    } else {
      summary = `${summary}; ${proxy.name} answers ${decision.status}${decision.note ? ` (${decision.note})` : ""}`;
    }
    proxied = { by: proxy.name, decision, upstream };
  }
  return {
    request: req,
    client:
      client.kind === "pod"
        ? { pod: client.pod.key, node: client.pod.node, ip: client.pod.ip.toString() }
        : client.kind === "node"
          ? { pod: client.node.name, node: client.node.name, ip: client.node.ip.toString() }
          : { pod: client.host.name, node: "external", ip: client.host.ip.toString() },
    target,
    resolvConf,
    candidates,
    ...(search !== undefined ? { search } : {}),
    dns,
    dnsPath,
    address,
    path,
    reply,
    proxy: decisions.proxy,
    policy: decisions.policy,
    backend,
    connected,
    http,
    proxied,
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
    if (t.search !== undefined) out.push(`  why: ${t.search}`);
    for (const d of t.dns) {
      out.push(`  ? ${d.name} ${d.type} -> ${d.rcode}${d.answer.length ? `: ${d.answer.join(" | ")}` : ""}`);
    }
    if (t.dnsPath) {
      // The service translation: a DNAT on a node, or a socket-level one at sendmsg() in the pod.
      const dnat = t.dnsPath.steps.find(
        (s) => (s.kind === "nat" || s.kind === "socket") && s.rewrite?.startsWith("dst"),
      );
      const o = t.dnsPath.outcome;
      const server = dnat?.kind === "socket" ? /^nameserver (\S+)/m.exec(t.resolvConf)?.[1] : undefined;
      const where = dnat?.kind === "socket" ? `at ${dnat.socketHook} in ${dnat.ns}` : `on ${dnat?.ns}`;
      out.push(
        `  queries go to ${server ?? t.dnsPath.sent.dst}:53/udp${dnat ? ` (${dnat.rewrite} by ${dnat.owner ?? "?"} ${where})` : ""} -> ${o.kind === "delivered" ? `answered by ${o.ns}` : `dropped: ${o.reason}`}`,
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
    // BPF steps are map lookups (no rule numbers): every one that hit is shown.
    const matched = p.evaluation.trace.filter((s) => s.matched && (s.rule > 0 || s.table === "bpf"));
    const bpf = matched.length > 0 && matched.every((s) => s.table === "bpf");
    out.push(`  ${visited} ${bpf ? "map lookups" : "rules visited"}, ${matched.length} matched:`);
    for (const s of matched) out.push(`  [${s.table}] ${s.chain}${s.rule > 0 ? ` #${s.rule}` : ""}: ${s.text}`);
    const o = p.evaluation.outcome;
    out.push(
      `  => ${o.kind === "dnat" ? `${p.hook === "prerouting" || p.hook === "output" ? "DNAT" : `${p.hook.replace(/[46]$/, "")}() goes`} to ${o.backend.ip}:${o.backend.port}${o.masquerade ? ", masquerade" : ""}` : o.kind === "accept" ? `accept${o.masquerade ? ", masquerade" : ""}` : `${o.kind}: ${o.reason}`}`,
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
  if (t.proxied !== undefined) {
    const d = t.proxied.decision;
    out.push(section(`User-space proxy ${t.proxied.by}`));
    out.push(
      d.kind === "forward"
        ? `  forwards to ${d.to}${d.note ? ` (${d.note})` : ""}${d.http ? `: ${d.http.method} ${d.http.path}` : ""}`
        : d.kind === "reset"
          ? `  resets the connection${d.note ? ` (${d.note})` : ""}`
          : `  answers ${d.status}${d.note ? ` (${d.note})` : ""}`,
    );
    if (t.proxied.upstream !== undefined)
      out.push(
        formatClusterTrace(t.proxied.upstream)
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`)
          .join("\n"),
      );
  }
  out.push(section("Result"));
  out.push(t.summary);
  return `${out.join("\n")}\n`;
}
