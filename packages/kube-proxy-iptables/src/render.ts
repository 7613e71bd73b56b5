import {
  type CategorizedEndpoints,
  categorizeEndpoints,
  type Endpoint,
  IPTABLES_OWNED_PREFIXES,
  iptablesEndpointChain,
  iptablesServiceChains,
  type LocalDetector,
  masqueradeMark,
  type NodeTopology,
  type ProxyConfig,
  type ProxyState,
  type ServicePort,
  ZONE_LABEL,
} from "@knet/kube-proxy";

/** iptables-mode settings beyond the shared {@link ProxyConfig}. */
export interface IptablesOptions {
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** Append `--random-fully` to MASQUERADE (the iptables binary supports it; default true). */
  readonly randomFully?: boolean;
  /** The nfacct counters exist (adds the localhost NodePort and INVALID-drop counter matches; default false). */
  readonly nfacct?: boolean;
  /** `net.netfilter.nf_conntrack_tcp_be_liberal` is set (no INVALID drop rule; default false). */
  readonly conntrackTCPLiberal?: boolean;
  /**
   * How the masquerade mark is spelled: `binary` as a real kube-proxy binary
   * (Go `%#08x`, `0x00004000`, the default) or `test` as upstream unit tests (`0x4000`).
   */
  readonly markFormat?: "binary" | "test";
  /** Endpoint count above which per-endpoint comments are left out (default 1000). */
  readonly largeClusterEndpointsThreshold?: number;
}

/** Fixed chain names. */
export const KUBE_SERVICES = "KUBE-SERVICES";
const KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES";
const KUBE_FORWARD = "KUBE-FORWARD";
const KUBE_NODEPORTS = "KUBE-NODEPORTS";
const KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL";
const KUBE_FIREWALL = "KUBE-FIREWALL";
const KUBE_POSTROUTING = "KUBE-POSTROUTING";
const KUBE_MARK_MASQ = "KUBE-MARK-MASQ";

const PROBABILITY_CACHE: string[] = [];

/** kube-proxy's probability text for rule i of n: Go `%0.10f` of 1/(n-i). */
export function probability(n: number): string {
  let s = PROBABILITY_CACHE[n];
  if (s === undefined) {
    s = (1 / n).toFixed(10);
    PROBABILITY_CACHE[n] = s;
  }
  return s;
}

/** The mark text as kube-proxy writes it. */
export function markText(options: IptablesOptions): string {
  const m = masqueradeMark(options.config);
  return options.markFormat === "test" ? `0x${m.toString(16)}` : `0x${m.toString(16).padStart(8, "0")}`;
}

function detectorArgs(d: LocalDetector, local: boolean): string | undefined {
  const not = local ? "" : "! ";
  switch (d.mode) {
    case "ClusterCIDR":
    case "NodeCIDR":
      return `${not}-s ${d.cidr.toString()}`;
    case "BridgeInterface":
      return `${not}-i ${d.interfaceName}`;
    case "InterfaceNamePrefix":
      return `${not}-i ${d.prefix}+`;
    default:
      return undefined;
  }
}

/** Whether a chain name is one kube-proxy owns per service (garbage-collected when stale). */
export function isServiceChain(name: string): boolean {
  for (const p of IPTABLES_OWNED_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

/** Per-engine caches so repeated syncs do not recompute unchanged services. */
export interface RenderCache {
  /** Categorisation per service port key, valid while the service port and endpoint list objects are the same. */
  readonly categorized: Map<
    string,
    { sp: ServicePort; eps: readonly Endpoint[] | undefined; cat: CategorizedEndpoints }
  >;
}

/** A fresh {@link RenderCache}. */
export function newRenderCache(): RenderCache {
  return { categorized: new Map() };
}

/** What {@link renderRestore} produced. */
export interface RenderResult {
  /** The iptables-restore input. */
  readonly payload: string;
  /** nat chains that exist after this restore (fixed and per-service). */
  readonly activeNatChains: ReadonlySet<string>;
  /** Stale chains this payload deletes. */
  readonly deletedChains: readonly string[];
  /** Service ports whose chains were written. */
  readonly servicePortsWritten: number;
}

/** Inputs of {@link renderRestore}. */
export interface RenderInput {
  /** The state to render. */
  readonly state: ProxyState;
  /** `undefined` for a full sync; otherwise the service keys (`ns/name`) whose chains must be rewritten. */
  readonly changedServices?: ReadonlySet<string>;
  /** nat chains that currently exist (from the last restore or an iptables-save); stale owned ones are deleted. */
  readonly existingNatChains?: Iterable<string>;
  /** Caches kept by the engine between syncs. */
  readonly cache?: RenderCache;
}

const EMPTY: readonly Endpoint[] = [];

/**
 * Render the iptables-restore input kube-proxy writes (filter then nat), full
 * or partial (KEP-3453: fixed chains always complete, per-service chains only
 * for `changedServices`, stale chains flushed and deleted). Service ports are
 * emitted in `state.order`. Pure: nothing is half-rendered, it either returns
 * the whole payload or throws.
 */
export function renderRestore(options: IptablesOptions, input: RenderInput): RenderResult {
  const cfg = options.config;
  const { state } = input;
  const isV6 = cfg.family === 6;
  const mark = markText(options);
  const cache = input.cache ?? newRenderCache();
  const node: NodeTopology = { nodeName: cfg.nodeName, zone: cfg.nodeLabels[ZONE_LABEL] };
  const changed = input.changedServices;
  const kubeletFirewall = !isV6 && cfg.localhostNodePorts;
  const ifLocal = detectorArgs(cfg.localDetector, true);
  const ifNotLocal = detectorArgs(cfg.localDetector, false);
  const nodeIP = cfg.nodeIPs[0];

  let totalEndpoints = 0;
  for (const key of state.order) totalEndpoints += state.endpoints.get(key)?.length ?? 0;
  const largeCluster = totalEndpoints > (options.largeClusterEndpointsThreshold ?? 1000);

  const filterRules: string[] = [];
  const natChains: string[] = [];
  const natRules: string[] = [];
  const skipped: string[] = [];
  const active = new Set<string>([KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]);
  let written = 0;

  for (const key of state.order) {
    const sp = state.servicePorts.get(key) as ServicePort;
    const eps = state.endpoints.get(key);
    let cached = cache.categorized.get(key);
    if (cached === undefined || cached.sp !== sp || cached.eps !== eps) {
      cached = { sp, eps, cat: categorizeEndpoints(eps ?? EMPTY, sp, node) };
      cache.categorized.set(key, cached);
    }
    const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints: hasEndpoints } = cached.cat;
    const S = sp.spn;
    const P = sp.protocol;
    const names = iptablesServiceChains(S, P);
    const port = sp.port;
    const clusterIP = sp.clusterIP.toString();

    const usesClusterPolicyChain = clusterEndpoints.length > 0 && sp.usesClusterEndpoints;
    const usesLocalPolicyChain = localEndpoints.length > 0 && sp.usesLocalEndpoints;
    let internalPolicyChain = names.svc;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalPolicyChain = names.svl;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = names.svc;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = names.svl;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const usesExternalTrafficChain = hasEndpoints && sp.externallyAccessible;
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? names.fw : names.ext;

    let internalFilterTarget = "";
    let internalFilterComment = "";
    let externalFilterTarget = "";
    let externalFilterComment = "";
    if (!hasEndpoints) {
      internalFilterTarget = "REJECT";
      internalFilterComment = `"${S} has no endpoints"`;
      externalFilterTarget = "REJECT";
      externalFilterComment = internalFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = "DROP";
        internalFilterComment = `"${S} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = "DROP";
        externalFilterComment = `"${S} has no local endpoints"`;
      }
    }

    const protoDport = `-m ${P} -p ${P} -d ${clusterIP} --dport ${port}`;
    if (hasInternalEndpoints) {
      natRules.push(
        `-A ${KUBE_SERVICES} -m comment --comment "${S} cluster IP" ${protoDport} -j ${internalPolicyChain}`,
      );
    } else {
      filterRules.push(
        `-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${protoDport} -j ${internalFilterTarget}`,
      );
    }
    for (const eip of sp.externalIPs) {
      const x = eip.toString();
      if (hasEndpoints)
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} external IP" -m ${P} -p ${P} -d ${x} --dport ${port} -j ${names.ext}`,
        );
      if (!hasExternalEndpoints)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m ${P} -p ${P} -d ${x} --dport ${port} -j ${externalFilterTarget}`,
        );
    }
    for (const vip of sp.loadBalancerVIPs) {
      const l = vip.toString();
      if (hasEndpoints)
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} loadbalancer IP" -m ${P} -p ${P} -d ${l} --dport ${port} -j ${loadBalancerTrafficChain}`,
        );
      if (usesFWChain)
        filterRules.push(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${S} traffic not accepted by ${names.fw}" -m ${P} -p ${P} -d ${l} --dport ${port} -j DROP`,
        );
    }
    if (!hasExternalEndpoints) {
      for (const vip of sp.loadBalancerVIPs)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m ${P} -p ${P} -d ${vip.toString()} --dport ${port} -j ${externalFilterTarget}`,
        );
    }
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        if (kubeletFirewall && options.nfacct)
          natRules.push(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${S} -m ${P} -p ${P} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${names.ext}`,
          );
        natRules.push(
          `-A ${KUBE_NODEPORTS} -m comment --comment ${S} -m ${P} -p ${P} --dport ${sp.nodePort} -j ${names.ext}`,
        );
      }
      if (!hasExternalEndpoints)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL -m ${P} -p ${P} --dport ${sp.nodePort} -j ${externalFilterTarget}`,
        );
    }
    if (sp.healthCheckNodePort !== 0)
      filterRules.push(
        `-A ${KUBE_NODEPORTS} -m comment --comment "${S} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );

    // Chains of this service: written only in a full sync or when the service changed.
    const write = changed === undefined || changed.has(sp.serviceKey);
    const chains = write ? natChains : skipped;
    const rules = write ? natRules : skipped;
    if (write) written++;

    if (hasInternalEndpoints) {
      const args = `-m comment --comment "${S} cluster IP" ${protoDport}`;
      if (cfg.masqueradeAll) rules.push(`-A ${internalPolicyChain} ${args} -j ${KUBE_MARK_MASQ}`);
      else if (ifNotLocal !== undefined)
        rules.push(`-A ${internalPolicyChain} ${args} ${ifNotLocal} -j ${KUBE_MARK_MASQ}`);
    }
    if (usesExternalTrafficChain) {
      chains.push(`:${names.ext} - [0:0]`);
      active.add(names.ext);
      if (!sp.externalPolicyLocal) {
        rules.push(
          `-A ${names.ext} -m comment --comment "masquerade traffic for ${S} external destinations" -j ${KUBE_MARK_MASQ}`,
        );
      } else {
        if (ifLocal !== undefined)
          rules.push(
            `-A ${names.ext} -m comment --comment "pod traffic for ${S} external destinations" ${ifLocal} -j ${names.svc}`,
          );
        rules.push(
          `-A ${names.ext} -m comment --comment "masquerade LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        rules.push(
          `-A ${names.ext} -m comment --comment "route LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${names.svc}`,
        );
      }
      if (hasExternalEndpoints) rules.push(`-A ${names.ext} -j ${externalPolicyChain}`);
    }
    if (usesFWChain) {
      chains.push(`:${names.fw} - [0:0]`);
      active.add(names.fw);
      const head = `-A ${names.fw} -m comment --comment "${S} loadbalancer IP"`;
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        rules.push(`${head} -s ${cidr.toString()} -j ${names.ext}`);
        if (nodeIP !== undefined && cidr.contains(nodeIP)) allowFromNode = true;
      }
      if (allowFromNode)
        for (const vip of sp.loadBalancerVIPs) rules.push(`${head} -s ${vip.toString()} -j ${names.ext}`);
      rules.push(`-A ${names.fw} -m comment --comment "other traffic to ${S} will be dropped by KUBE-PROXY-FIREWALL"`);
    }
    if (usesClusterPolicyChain) {
      chains.push(`:${names.svc} - [0:0]`);
      active.add(names.svc);
      writeEndpointRules(rules, sp, names.svc, clusterEndpoints, largeCluster);
    }
    if (usesLocalPolicyChain) {
      chains.push(`:${names.svl} - [0:0]`);
      active.add(names.svl);
      writeEndpointRules(rules, sp, names.svl, localEndpoints, largeCluster);
    }
    for (const ep of allReachableEndpoints) {
      const sep = iptablesEndpointChain(S, P, ep.endpoint);
      chains.push(`:${sep} - [0:0]`);
      active.add(sep);
      const c = largeCluster ? "" : ` -m comment --comment ${S}`;
      rules.push(`-A ${sep}${c} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const aff = sp.sessionAffinitySeconds > 0 ? ` -m recent --name ${sep} --set` : "";
      rules.push(`-A ${sep}${c}${aff} -m ${P} -p ${P} -j DNAT --to-destination ${ep.endpoint}`);
    }
    skipped.length = 0;
  }

  // Stale chains: owned chains that exist but are not produced by this sync.
  const deleted: string[] = [];
  for (const c of input.existingNatChains ?? []) if (isServiceChain(c) && !active.has(c)) deleted.push(c);
  deleted.sort();

  const out: string[] = [];
  out.push("*filter");
  out.push(`:${KUBE_SERVICES} - [0:0]`, `:${KUBE_EXTERNAL_SERVICES} - [0:0]`, `:${KUBE_FORWARD} - [0:0]`);
  out.push(`:${KUBE_NODEPORTS} - [0:0]`, `:${KUBE_PROXY_FIREWALL} - [0:0]`);
  if (kubeletFirewall) {
    out.push(`:${KUBE_FIREWALL} - [0:0]`);
    out.push(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }
  for (const r of filterRules) out.push(r);
  if (!options.conntrackTCPLiberal)
    out.push(
      `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${options.nfacct ? " -m nfacct --nfacct-name ct_state_invalid_dropped_pkts" : ""} -j DROP`,
    );
  out.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
  );
  out.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  out.push("COMMIT");
  out.push("*nat");
  out.push(
    `:${KUBE_SERVICES} - [0:0]`,
    `:${KUBE_NODEPORTS} - [0:0]`,
    `:${KUBE_POSTROUTING} - [0:0]`,
    `:${KUBE_MARK_MASQ} - [0:0]`,
  );
  for (const c of natChains) out.push(c);
  for (const c of deleted) out.push(`:${c} - [0:0]`);
  out.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  out.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  out.push(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${options.randomFully === false ? "" : " --random-fully"}`,
  );
  out.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);
  for (const r of natRules) out.push(r);
  for (const c of deleted) out.push(`-X ${c}`);
  const tail = `-A ${KUBE_SERVICES} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (cfg.nodePortAddresses.length === 0) {
    let dest = "-m addrtype --dst-type LOCAL";
    if (isV6) dest += " ! -d ::1/128";
    else if (!cfg.localhostNodePorts) dest += " ! -d 127.0.0.0/8";
    out.push(`${tail} ${dest} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of cfg.nodeIPs) {
      if (!cfg.nodePortAddresses.some((p) => p.contains(ip))) continue;
      const loop = isV6 ? ip.toString() === "::1" : ip.v4Value >>> 24 === 127;
      if (loop && (isV6 || !cfg.localhostNodePorts)) continue;
      out.push(`${tail} -d ${ip.toString()} -j ${KUBE_NODEPORTS}`);
    }
  }
  out.push("COMMIT");
  return {
    payload: `${out.join("\n")}\n`,
    activeNatChains: active,
    deletedChains: deleted,
    servicePortsWritten: written,
  };
}

function writeEndpointRules(
  rules: string[],
  sp: ServicePort,
  chain: string,
  eps: readonly Endpoint[],
  large: boolean,
): void {
  const S = sp.spn;
  const P = sp.protocol;
  if (sp.sessionAffinitySeconds > 0) {
    for (const ep of eps) {
      const sep = iptablesEndpointChain(S, P, ep.endpoint);
      const c = large ? "" : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
      rules.push(
        `-A ${chain}${c} -m recent --name ${sep} --rcheck --seconds ${sp.sessionAffinitySeconds} --reap -j ${sep}`,
      );
    }
  }
  const n = eps.length;
  for (let i = 0; i < n; i++) {
    const ep = eps[i] as Endpoint;
    const sep = iptablesEndpointChain(S, P, ep.endpoint);
    const c = large ? "" : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : "";
    rules.push(`-A ${chain}${c}${stat} -j ${sep}`);
  }
}
