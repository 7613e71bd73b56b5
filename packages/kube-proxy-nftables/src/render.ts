import {
  type Endpoint,
  endpointNftNames,
  formatMark,
  type ServicePort,
  servicePortNftChains,
  type TrafficPlan,
} from "@knet/kube-proxy";
import type { Addr, Prefix } from "@knet/netstack";

/** Everything about the node the kube-proxy table depends on besides services. */
export interface NftRenderContext {
  /** IP family of the table (`ip` for 4, `ip6` for 6). */
  readonly family: 4 | 6;
  /** Masquerade mark (`1 << masqueradeBit`). */
  readonly mark: number;
  /** `--masquerade-all`. */
  readonly masqueradeAll: boolean;
  /** Pod CIDR of the local-traffic detector (`ip saddr != CIDR`); undefined: no detector. */
  readonly localCIDR: Prefix | undefined;
  /** Addresses that accept NodePorts, or `all` (every local address except loopback). */
  readonly nodePortIPs: readonly Addr[] | "all";
  /** Service CIDRs: traffic to unallocated addresses in them is dropped. Empty: no such rule. */
  readonly serviceCIDRs: readonly Prefix[];
  /** The node's primary IP (loadBalancerSourceRanges containing it also allow the LB VIPs). */
  readonly nodeIP: Addr | undefined;
}

/** The table name kube-proxy uses. */
export const KUBE_PROXY_TABLE = "kube-proxy";

/** The containers (sets and maps) a full sync flushes and refills, in kube-proxy's order. */
export const SERVICE_CONTAINERS: readonly { readonly kind: "set" | "map"; readonly name: string }[] = [
  { kind: "set", name: "cluster-ips" },
  { kind: "map", name: "service-ips" },
  { kind: "map", name: "firewall-ips" },
  { kind: "map", name: "no-endpoint-services" },
  { kind: "map", name: "no-endpoint-nodeports" },
  { kind: "map", name: "service-nodeports" },
];

/** One base chain of the table: name, type, hook, numeric priority. */
export interface BaseChainSpec {
  /** Chain name. */
  readonly name: string;
  /** `filter` or `nat`. */
  readonly type: "filter" | "nat";
  /** Netfilter hook. */
  readonly hook: "prerouting" | "input" | "forward" | "output" | "postrouting";
  /** Priority, written as a number (nft 1.0.x rejects `dstnat` outside prerouting). */
  readonly priority: number;
}

/** kube-proxy's base chains (newest layout) in the order they are written. */
export const BASE_CHAINS: readonly BaseChainSpec[] = [
  { name: "filter-prerouting-pre-dnat", type: "filter", hook: "prerouting", priority: -110 },
  { name: "filter-output-pre-dnat", type: "filter", hook: "output", priority: -110 },
  { name: "filter-input", type: "filter", hook: "input", priority: 0 },
  { name: "filter-forward", type: "filter", hook: "forward", priority: 0 },
  { name: "filter-output", type: "filter", hook: "output", priority: 0 },
  { name: "nat-prerouting", type: "nat", hook: "prerouting", priority: -100 },
  { name: "nat-output", type: "nat", hook: "output", priority: -100 },
  { name: "nat-postrouting", type: "nat", hook: "postrouting", priority: 100 },
];

/** Regular chains jumped to from base chains: (target, from, extra match), in order. */
export const JUMP_CHAINS: readonly (readonly [string, string, string])[] = [
  ["nodeport-endpoints-check", "filter-input", "ct state new"],
  ["service-endpoints-check", "filter-input", "ct state new"],
  ["service-endpoints-check", "filter-forward", "ct state new"],
  ["service-endpoints-check", "filter-output", "ct state new"],
  ["firewall-check", "filter-prerouting-pre-dnat", "ct state new"],
  ["firewall-check", "filter-output-pre-dnat", "ct state new"],
  ["services", "nat-output", ""],
  ["services", "nat-prerouting", ""],
  ["masquerading", "nat-postrouting", ""],
  ["cluster-ips-check", "filter-forward", "ct state new"],
  ["cluster-ips-check", "filter-output", "ct state new"],
];

function head(ctx: NftRenderContext): string {
  return `${ctx.family === 6 ? "ip6" : "ip"} ${KUBE_PROXY_TABLE}`;
}

/**
 * The fixed part of a full-sync transaction: table, base chains, jump chains,
 * masquerading, the check chains and their rules, and the sets and maps (without
 * service elements). `firstSync` adds the add+delete that lets a restarted
 * kube-proxy change a base chain's priority.
 */
export function renderSetup(ctx: NftRenderContext, firstSync: boolean): string[] {
  const T = head(ctx);
  const ipX = ctx.family === 6 ? "ip6" : "ip";
  const addrType = ctx.family === 6 ? "ipv6_addr" : "ipv4_addr";
  const noLocalhost = ctx.family === 6 ? "ip6 daddr != ::1" : "ip daddr != 127.0.0.0/8";
  const mark = formatMark(ctx.mark);
  const out: string[] = [`add table ${T} { comment "rules for kube-proxy" ; }`];
  BASE_CHAINS.forEach((bc, i) => {
    if (firstSync && i === 0) {
      out.push(`add chain ${T} ${bc.name}`, `delete chain ${T} ${bc.name}`);
    }
    out.push(`add chain ${T} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
    out.push(`flush chain ${T} ${bc.name}`);
  });
  const created = new Set<string>();
  const ensure = (c: string): void => {
    if (created.has(c)) return;
    created.add(c);
    out.push(`add chain ${T} ${c}`, `flush chain ${T} ${c}`);
  };
  for (const [to, from, extra] of JUMP_CHAINS) {
    ensure(to);
    out.push(`add rule ${T} ${from} ${extra === "" ? "" : `${extra} `}jump ${to}`);
  }
  for (const c of ["services", "masquerading", "mark-for-masquerade"]) ensure(c);
  out.push(`add rule ${T} mark-for-masquerade mark set mark or ${mark}`);
  out.push(`add rule ${T} masquerading mark and ${mark} == 0 return`);
  out.push(`add rule ${T} masquerading mark set mark xor ${mark}`);
  out.push(`add rule ${T} masquerading masquerade fully-random`);
  out.push(`add set ${T} cluster-ips { type ${addrType} ; comment "Active ClusterIPs" ; }`);
  out.push(
    `add rule ${T} cluster-ips-check ${ipX} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
  );
  if (ctx.serviceCIDRs.length > 0) {
    out.push(
      `add rule ${T} cluster-ips-check ${ipX} daddr { ${ctx.serviceCIDRs.map(String).join(", ")} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    );
  }
  out.push(`add set ${T} nodeport-ips { type ${addrType} ; comment "IPs that accept NodePort traffic" ; }`);
  if (ctx.nodePortIPs === "all") {
    out.push(`delete set ${T} nodeport-ips`);
  } else {
    out.push(`flush set ${T} nodeport-ips`);
    for (const ip of ctx.nodePortIPs) out.push(`add element ${T} nodeport-ips { ${ip} }`);
  }
  out.push(
    `add map ${T} no-endpoint-services { type ${addrType} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
  );
  out.push(
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
  );
  out.push(`add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`);
  out.push(`flush chain ${T} reject-chain`);
  out.push(`add rule ${T} reject-chain reject`);
  out.push(`add rule ${T} service-endpoints-check ${ipX} daddr . meta l4proto . th dport vmap @no-endpoint-services`);
  out.push(
    ctx.nodePortIPs === "all"
      ? `add rule ${T} nodeport-endpoints-check ${noLocalhost} meta l4proto . th dport vmap @no-endpoint-nodeports`
      : `add rule ${T} nodeport-endpoints-check ${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
  );
  out.push(
    `add map ${T} firewall-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  );
  out.push(`add rule ${T} firewall-check ${ipX} daddr . meta l4proto . th dport vmap @firewall-ips`);
  out.push(
    `add map ${T} service-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
  );
  out.push(
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
  );
  out.push(`add rule ${T} services ${ipX} daddr . meta l4proto . th dport vmap @service-ips`);
  out.push(
    ctx.nodePortIPs === "all"
      ? `add rule ${T} services fib daddr type local ${noLocalhost} meta l4proto . th dport vmap @service-nodeports`
      : `add rule ${T} services ${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
  );
  return out;
}

/** The flushes of the service containers that a full sync writes before refilling them. */
export function renderContainerFlush(ctx: NftRenderContext): string[] {
  const T = head(ctx);
  return SERVICE_CONTAINERS.map((c) => `flush ${c.kind} ${T} ${c.name}`);
}

/** One element a service port contributes to a set or map. */
export interface ElementContribution {
  /** Set or map name. */
  readonly set: string;
  /** Key text (`172.30.0.41 . tcp . 80`). */
  readonly key: string;
  /** Verdict text of a map element (`goto service-…`, `drop`). */
  readonly value?: string;
  /** Element comment (the service port name). */
  readonly comment?: string;
}

/** Format an element command line (`add element ip kube-proxy SET { KEY comment "C" : VALUE }`). */
export function elementLine(ctx: NftRenderContext, verb: "add" | "delete", e: ElementContribution): string {
  if (verb === "delete") return `delete element ${head(ctx)} ${e.set} { ${e.key} }`;
  const comment = e.comment !== undefined ? ` comment "${e.comment}"` : "";
  const value = e.value !== undefined ? ` : ${e.value}` : "";
  return `add element ${head(ctx)} ${e.set} { ${e.key}${comment}${value} }`;
}

/** What one service port renders to. */
export interface ServicePortRender {
  /**
   * The transaction lines in kube-proxy's order; `null` entries mark where the
   * next element of {@link ServicePortRender.elements} goes in a full sync.
   */
  readonly items: readonly (string | null)[];
  /** Elements contributed to the shared sets and maps, in order. */
  readonly elements: readonly ElementContribution[];
  /** Service and endpoint chains this service port uses. */
  readonly chains: readonly string[];
  /** Affinity sets it uses. */
  readonly affinitySets: readonly string[];
}

/**
 * Render one service port as kube-proxy's nftables proxier does: its chains
 * (service, local, external, firewall, endpoint), their rules, affinity sets,
 * and the elements it adds to the shared containers.
 */
export function renderServicePort(
  ctx: NftRenderContext,
  sp: ServicePort,
  plan: TrafficPlan,
  cache: NameCache = newNameCache(),
): ServicePortRender {
  const T = head(ctx);
  const ipX = ctx.family === 6 ? "ip6" : "ip";
  const addrType = ctx.family === 6 ? "ipv6_addr" : "ipv4_addr";
  const proto = sp.protocol;
  let names = cache.services.get(sp);
  if (names === undefined) {
    names = servicePortNftChains(sp);
    cache.services.set(sp, names);
  }
  const items: (string | null)[] = [];
  const elements: ElementContribution[] = [];
  const chains: string[] = [];
  const affinitySets: string[] = [];
  const el = (e: ElementContribution): void => {
    elements.push(e);
    items.push(null);
  };
  const ensure = (c: string): void => {
    chains.push(c);
    items.push(`add chain ${T} ${c}`, `flush chain ${T} ${c}`);
  };
  const nameOf = (ep: Endpoint): ReturnType<typeof endpointNftNames> => {
    const hit = cache.endpoints.get(ep);
    if (hit !== undefined && hit.sp === sp) return hit.names;
    const n = endpointNftNames(sp, ep);
    cache.endpoints.set(ep, { sp, names: n });
    return n;
  };
  const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints } = plan.categorized;
  for (const ep of allReachableEndpoints) ensure(nameOf(ep).endpoint);
  const clusterPolicyChain = names.service;
  const usesClusterPolicyChain = plan.usesClusterPolicy;
  if (usesClusterPolicyChain) ensure(clusterPolicyChain);
  const localPolicyChain = names.local;
  const usesLocalPolicyChain = plan.usesLocalPolicy;
  if (usesLocalPolicyChain) ensure(localPolicyChain);
  const internalTrafficChain = plan.internal.policy === "Local" ? localPolicyChain : clusterPolicyChain;
  const hasInternalEndpoints = plan.internal.hasEndpoints;
  const externalPolicyChain = plan.external.policy === "Local" ? localPolicyChain : clusterPolicyChain;
  const hasExternalEndpoints = plan.external.hasEndpoints;
  const externalTrafficChain = names.external;
  const usesExternalTrafficChain = plan.usesExternalPath;
  if (usesExternalTrafficChain) ensure(externalTrafficChain);
  const verdict = (w: "reject" | "drop" | undefined): string =>
    w === "reject" ? "goto reject-chain" : w === "drop" ? "drop" : "";
  const internalVerdict = verdict(plan.internal.whenEmpty);
  const externalVerdict = verdict(plan.external.whenEmpty);
  const spn = sp.spn;
  const port = String(sp.port);
  const cip = sp.clusterIP.toString();
  el({ set: "cluster-ips", key: cip });
  if (hasInternalEndpoints)
    el({ set: "service-ips", key: `${cip} . ${proto} . ${port}`, value: `goto ${internalTrafficChain}` });
  else el({ set: "no-endpoint-services", key: `${cip} . ${proto} . ${port}`, value: internalVerdict, comment: spn });
  for (const x of sp.externalIPs) {
    const key = `${x} . ${proto} . ${port}`;
    if (hasAnyEndpoints) el({ set: "service-ips", key, value: `goto ${externalTrafficChain}` });
    if (!hasExternalEndpoints) el({ set: "no-endpoint-services", key, value: externalVerdict, comment: spn });
  }
  const usesFWChain = plan.hasSourceRanges;
  if (usesFWChain) {
    ensure(names.firewall);
    const sources = sp.loadBalancerSourceRanges.map(String);
    const allowFromNode =
      ctx.nodeIP !== undefined && sp.loadBalancerSourceRanges.some((p) => p.contains(ctx.nodeIP as Addr));
    if (allowFromNode) for (const v of sp.loadBalancerVIPs) sources.push(v.toString());
    items.push(`add rule ${T} ${names.firewall} ${ipX} saddr != { ${sources.join(", ")} } drop`);
  }
  for (const v of sp.loadBalancerVIPs) {
    const key = `${v} . ${proto} . ${port}`;
    if (hasAnyEndpoints) el({ set: "service-ips", key, value: `goto ${externalTrafficChain}` });
    if (usesFWChain) el({ set: "firewall-ips", key, value: `goto ${names.firewall}` });
  }
  if (!hasExternalEndpoints) {
    for (const v of sp.loadBalancerVIPs) {
      el({ set: "no-endpoint-services", key: `${v} . ${proto} . ${port}`, value: externalVerdict, comment: spn });
    }
  }
  if (sp.nodePort !== 0) {
    const key = `${proto} . ${sp.nodePort}`;
    if (hasAnyEndpoints) el({ set: "service-nodeports", key, value: `goto ${externalTrafficChain}` });
    if (!hasExternalEndpoints) el({ set: "no-endpoint-nodeports", key, value: externalVerdict, comment: spn });
  }
  const masq = "jump mark-for-masquerade";
  if (hasInternalEndpoints) {
    if (ctx.masqueradeAll) {
      items.push(`add rule ${T} ${internalTrafficChain} ${ipX} daddr ${cip} ${proto} dport ${port} ${masq}`);
    } else if (ctx.localCIDR !== undefined) {
      items.push(
        `add rule ${T} ${internalTrafficChain} ${ipX} daddr ${cip} ${proto} dport ${port} ${ipX} saddr != ${ctx.localCIDR} ${masq}`,
      );
    }
  }
  if (usesExternalTrafficChain) {
    if (plan.masqueradeExternal) {
      items.push(`add rule ${T} ${externalTrafficChain} ${masq}`);
    } else {
      if (ctx.localCIDR !== undefined) {
        items.push(
          `add rule ${T} ${externalTrafficChain} ${ipX} saddr ${ctx.localCIDR} goto ${clusterPolicyChain} comment "short-circuit pod traffic"`,
        );
      }
      items.push(
        `add rule ${T} ${externalTrafficChain} fib saddr type local ${masq} comment "masquerade local traffic"`,
      );
      items.push(
        `add rule ${T} ${externalTrafficChain} fib saddr type local goto ${clusterPolicyChain} comment "short-circuit local traffic"`,
      );
    }
    if (hasExternalEndpoints) items.push(`add rule ${T} ${externalTrafficChain} goto ${externalPolicyChain}`);
  }
  const affinity = sp.sessionAffinitySeconds > 0;
  if (affinity) {
    for (const ep of allReachableEndpoints) {
      const a = nameOf(ep).affinity;
      affinitySets.push(a);
      items.push(
        `add set ${T} ${a} { type ${addrType} ; flags dynamic,timeout ; timeout ${sp.sessionAffinitySeconds}s ; }`,
      );
    }
  }
  const dispatch = (chain: string, eps: readonly Endpoint[]): void => {
    if (affinity) {
      for (const ep of eps) {
        const n = nameOf(ep);
        items.push(`add rule ${T} ${chain} ${ipX} saddr @${n.affinity} goto ${n.endpoint}`);
      }
    }
    const vm = eps.map((ep, i) => `${i} : goto ${nameOf(ep).endpoint}`).join(" , ");
    items.push(`add rule ${T} ${chain} numgen random mod ${eps.length} vmap { ${vm} }`);
  };
  if (usesClusterPolicyChain) dispatch(clusterPolicyChain, clusterEndpoints);
  if (usesLocalPolicyChain) dispatch(localPolicyChain, localEndpoints);
  for (const ep of allReachableEndpoints) {
    const n = nameOf(ep);
    items.push(`add rule ${T} ${n.endpoint} ${ipX} saddr ${ep.ip} ${masq}`);
    if (affinity) items.push(`add rule ${T} ${n.endpoint} update @${n.affinity} { ${ipX} saddr }`);
    items.push(`add rule ${T} ${n.endpoint} meta l4proto ${proto} dnat to ${ep.endpoint}`);
  }
  return { items, elements, chains, affinitySets };
}

/** Something that takes lines (an array's `push`, or a buffered text writer). */
export interface LineSink {
  /** Append one line (without its newline). */
  line(s: string): void;
}

/** Write a service port's lines and elements interleaved as a full sync writes them. */
export function writeFullSync(ctx: NftRenderContext, r: ServicePortRender, out: LineSink): void {
  let k = 0;
  for (const it of r.items)
    out.line(it !== null ? it : elementLine(ctx, "add", r.elements[k++] as ElementContribution));
}

/** Names of a service port's chains and endpoints, cached on the (immutable) model objects. */
export interface NameCache {
  /** Per service port. */
  readonly services: WeakMap<ServicePort, ReturnType<typeof servicePortNftChains>>;
  /** Per endpoint of a service port. */
  readonly endpoints: WeakMap<
    Endpoint,
    { readonly sp: ServicePort; readonly names: ReturnType<typeof endpointNftNames> }
  >;
}

/** A fresh {@link NameCache}. */
export function newNameCache(): NameCache {
  return { services: new WeakMap(), endpoints: new WeakMap() };
}
