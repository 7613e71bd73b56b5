import { LABEL_TOPOLOGY_ZONE } from "@knet/k8s";
import {
  type Endpoint,
  formatMark,
  IPTABLES_OWNED_PREFIXES,
  type IptablesServiceChains,
  iptablesEndpointChain,
  iptablesServiceChains,
  type LocalDetector,
  masqueradeMark,
  type NodeTopology,
  type ProxyConfig,
  type ProxyHostOptions,
  type ProxyState,
  type ServicePort,
  type TrafficPlan,
  trafficPlan,
} from "@knet/kube-proxy";

/** iptables-mode settings beyond the shared {@link ProxyConfig}. */
export interface IptablesOptions extends Pick<ProxyHostOptions, "randomFully" | "nfacct" | "conntrackTCPLiberal"> {
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
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
  return options.markFormat === "test" ? `0x${m.toString(16)}` : formatMark(m);
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

/** What a {@link RenderCache} remembers per service port. */
export interface RenderCacheEntry {
  /** The service port the entry was computed for. */
  readonly sp: ServicePort;
  /** The endpoint list it was computed for. */
  readonly eps: readonly Endpoint[] | undefined;
  /** Its traffic plan (categorised endpoints, paths, verdicts). */
  readonly plan: TrafficPlan;
  /** Its per-service nat chains as last written (undefined until written). */
  chains: readonly string[] | undefined;
  /** Its rules in the shared chains (nat KUBE-SERVICES/KUBE-NODEPORTS, filter), joined; set on first render. */
  head?: { readonly nat: string; readonly filter: string };
}

/** Per-engine caches so repeated syncs do not recompute unchanged services. */
export interface RenderCache {
  /** Per service port key; an entry is valid while the service port and endpoint list objects are the same. */
  readonly entries: Map<string, RenderCacheEntry>;
  /**
   * Runs of 64 consecutive service ports (in `state.order`) with their
   * shared-chain rules joined, reused whole by partial syncs while every entry in
   * the run is unchanged.
   */
  readonly blocks: (RenderBlock | undefined)[];
}

/** A cached run of consecutive service ports, see {@link RenderCache.blocks}. */
export interface RenderBlock {
  /** The service port keys of the run. */
  readonly keys: readonly string[];
  /** Their cache entries when the block was built. */
  readonly entries: readonly RenderCacheEntry[];
  /** Their nat KUBE-SERVICES/KUBE-NODEPORTS rules, joined. */
  readonly nat: string;
  /** Their filter rules, joined. */
  readonly filter: string;
}

const BLOCK = 64;

/** A fresh {@link RenderCache}. */
export function newRenderCache(): RenderCache {
  return { entries: new Map(), blocks: [] };
}

/**
 * Lines gathered in small batches that are joined early, so the hundreds of
 * thousands of lines of a large payload do not all stay alive as separate
 * strings until the end (which makes V8's young-generation GC copy them again and again).
 */
class Writer {
  private batch: string[] = [];
  private readonly chunks: string[] = [];
  line(text: string): void {
    this.batch.push(text);
    if (this.batch.length >= 256) {
      this.chunks.push(this.batch.join("\n"));
      this.batch = [];
    }
  }
  text(): string {
    if (this.batch.length > 0) {
      this.chunks.push(this.batch.join("\n"));
      this.batch = [];
    }
    return this.chunks.length === 0 ? "" : `${this.chunks.join("\n")}\n`;
  }
}

/**
 * Flatten a string built by concatenation (V8 keeps it as a rope until then), so
 * a cached line is copied in one go each time it is written again.
 */
function flat(s: string): string {
  Number(s);
  return s;
}

// Chain names per service port and endpoint object, computed once (kube-proxy
// stores them on its servicePortInfo/endpointInfo the same way).
const serviceChainsOf = new WeakMap<ServicePort, IptablesServiceChains>();
const sepOf = new WeakMap<Endpoint, string>();

function chainsOf(sp: ServicePort): IptablesServiceChains {
  let c = serviceChainsOf.get(sp);
  if (c === undefined) {
    c = iptablesServiceChains(sp.spn, sp.protocol);
    serviceChainsOf.set(sp, c);
  }
  return c;
}

function sepChain(sp: ServicePort, ep: Endpoint): string {
  let c = sepOf.get(ep);
  if (c === undefined) {
    c = iptablesEndpointChain(sp.spn, sp.protocol, ep.endpoint);
    sepOf.set(ep, c);
  }
  return c;
}

/** What {@link renderRestore} produced. */
export interface RenderResult {
  /** The iptables-restore input. */
  readonly payload: string;
  /** Per-service nat chains this payload declares (written or flushed for deletion excluded). */
  readonly writtenChains: readonly string[];
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
  /**
   * nat chains that currently exist (from the last restore or an iptables-save).
   * In a full sync every owned one not produced is deleted; in a partial sync
   * only the old chains of changed or removed service ports are candidates.
   */
  readonly existingNatChains?: ReadonlySet<string>;
  /** For a partial sync: keys of service ports removed since the last sync (their cached chains are deleted). */
  readonly removedKeys?: readonly string[];
  /** Caches kept by the engine between syncs. */
  readonly cache?: RenderCache;
}

const EMPTY: readonly Endpoint[] = [];

/**
 * Render the iptables-restore input kube-proxy writes (filter then nat), full
 * or partial (KEP-3453: fixed chains always complete, per-service chains only
 * for `changedServices`, stale chains flushed and deleted). Service ports are
 * emitted in `state.order`. Pure apart from `cache`: it either returns the whole
 * payload or throws, nothing is half-rendered.
 */
export function renderRestore(options: IptablesOptions, input: RenderInput): RenderResult {
  const cfg = options.config;
  const { state } = input;
  const isV6 = cfg.family === 6;
  const mark = markText(options);
  const cache = input.cache ?? newRenderCache();
  const node: NodeTopology = { nodeName: cfg.nodeName, zone: cfg.nodeLabels[LABEL_TOPOLOGY_ZONE] };
  const changed = input.changedServices;
  const full = changed === undefined;
  const kubeletFirewall = !isV6 && cfg.localhostNodePorts;
  const ifLocal = detectorArgs(cfg.localDetector, true);
  const ifNotLocal = detectorArgs(cfg.localDetector, false);
  const nodeIP = cfg.nodeIPs[0];

  let totalEndpoints = 0;
  for (const key of state.order) totalEndpoints += state.endpoints.get(key)?.length ?? 0;
  const largeCluster = totalEndpoints > (options.largeClusterEndpointsThreshold ?? 1000);

  const filterRules = new Writer();
  const natChains = new Writer();
  const natRules = new Writer();
  const written: string[] = [];
  const staleCandidates: string[] = [];
  let writtenPorts = 0;

  const order = state.order;
  const changedSet = changed ?? new Set<string>();
  cache.blocks.length = Math.ceil(order.length / BLOCK);
  for (let start = 0; start < order.length; start += BLOCK) {
    const end = Math.min(order.length, start + BLOCK);
    const bi = start / BLOCK;
    const blk = cache.blocks[bi];
    if (!full && blk !== undefined && blk.keys.length === end - start) {
      let valid = true;
      for (let j = 0; j < blk.keys.length; j++) {
        const key = order[start + j] as string;
        const e = blk.entries[j] as RenderCacheEntry;
        if (
          blk.keys[j] !== key ||
          cache.entries.get(key) !== e ||
          e.sp !== state.servicePorts.get(key) ||
          e.eps !== state.endpoints.get(key) ||
          e.chains === undefined ||
          changedSet.has(e.sp.serviceKey)
        ) {
          valid = false;
          break;
        }
      }
      if (valid) {
        // a run of unchanged services: their shared-chain rules in one piece
        if (blk.nat !== "") natRules.line(blk.nat);
        if (blk.filter !== "") filterRules.line(blk.filter);
        continue;
      }
    }
    const blockEntries: RenderCacheEntry[] = [];
    for (let idx = start; idx < end; idx++) {
      const key = order[idx] as string;
      const sp = state.servicePorts.get(key) as ServicePort;
      const eps = state.endpoints.get(key);
      let entry = cache.entries.get(key);
      const previousChains = entry?.chains;
      if (entry === undefined || entry.sp !== sp || entry.eps !== eps) {
        // chains stay known across a re-categorisation: unchanged services (per `changed`) keep them as loaded
        entry = { sp, eps, plan: trafficPlan(sp, eps ?? EMPTY, node), chains: previousChains };
        cache.entries.set(key, entry);
      }
      blockEntries.push(entry);
      // Chains of this service are written in a full sync or when the service changed;
      // otherwise they stay as loaded (iptables-restore --noflush leaves them alone).
      const write = full || changedSet.has(sp.serviceKey) || entry.chains === undefined;
      if (!write && entry.head !== undefined) {
        // fast path of a partial sync: an unchanged service only contributes its cached shared-chain rules
        if (entry.head.nat !== "") natRules.line(entry.head.nat);
        if (entry.head.filter !== "") filterRules.line(entry.head.filter);
        continue;
      }
      const plan = entry.plan;
      const {
        clusterEndpoints,
        localEndpoints,
        allReachableEndpoints,
        hasAnyEndpoints: hasEndpoints,
      } = plan.categorized;
      const S = sp.spn;
      const P = sp.protocol;
      const names = chainsOf(sp);
      const port = sp.port;
      const clusterIP = sp.clusterIP.toString();

      const usesClusterPolicyChain = plan.usesClusterPolicy;
      const usesLocalPolicyChain = plan.usesLocalPolicy;
      const internalPolicyChain = plan.internal.policy === "Local" ? names.svl : names.svc;
      const hasInternalEndpoints = plan.internal.hasEndpoints;
      const externalPolicyChain = plan.external.policy === "Local" ? names.svl : names.svc;
      const hasExternalEndpoints = plan.external.hasEndpoints;
      const usesExternalTrafficChain = plan.usesExternalPath;
      // iptables mode writes the firewall chain only for a service with endpoints (nftables always).
      const usesFWChain = hasEndpoints && plan.hasSourceRanges;
      const loadBalancerTrafficChain = usesFWChain ? names.fw : names.ext;
      const filterTarget = (w: "reject" | "drop" | undefined): string =>
        w === "reject" ? "REJECT" : w === "drop" ? "DROP" : "";
      const filterComment = (w: "reject" | "drop" | undefined): string =>
        w === "reject" ? `"${S} has no endpoints"` : w === "drop" ? `"${S} has no local endpoints"` : "";
      const internalFilterTarget = filterTarget(plan.internal.whenEmpty);
      const internalFilterComment = filterComment(plan.internal.whenEmpty);
      const externalFilterTarget = filterTarget(plan.external.whenEmpty);
      const externalFilterComment = filterComment(plan.external.whenEmpty);

      const protoDport = `-m ${P} -p ${P} -d ${clusterIP} --dport ${port}`;
      // The service's rules in the shared chains depend only on the service port and
      // its endpoints: kept per cache entry and reused while those are unchanged.
      let head = entry.head;
      if (head === undefined) {
        const nat: string[] = [];
        const filt: string[] = [];
        if (hasInternalEndpoints) {
          nat.push(
            `-A ${KUBE_SERVICES} -m comment --comment "${S} cluster IP" ${protoDport} -j ${internalPolicyChain}`,
          );
        } else {
          filt.push(
            `-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${protoDport} -j ${internalFilterTarget}`,
          );
        }
        for (const eip of sp.externalIPs) {
          const x = eip.toString();
          if (hasEndpoints)
            nat.push(
              `-A ${KUBE_SERVICES} -m comment --comment "${S} external IP" -m ${P} -p ${P} -d ${x} --dport ${port} -j ${names.ext}`,
            );
          if (!hasExternalEndpoints)
            filt.push(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m ${P} -p ${P} -d ${x} --dport ${port} -j ${externalFilterTarget}`,
            );
        }
        for (const vip of sp.loadBalancerVIPs) {
          const l = vip.toString();
          if (hasEndpoints)
            nat.push(
              `-A ${KUBE_SERVICES} -m comment --comment "${S} loadbalancer IP" -m ${P} -p ${P} -d ${l} --dport ${port} -j ${loadBalancerTrafficChain}`,
            );
          if (usesFWChain)
            filt.push(
              `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${S} traffic not accepted by ${names.fw}" -m ${P} -p ${P} -d ${l} --dport ${port} -j DROP`,
            );
        }
        if (!hasExternalEndpoints) {
          for (const vip of sp.loadBalancerVIPs)
            filt.push(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m ${P} -p ${P} -d ${vip.toString()} --dport ${port} -j ${externalFilterTarget}`,
            );
        }
        if (sp.nodePort !== 0) {
          if (hasEndpoints) {
            if (kubeletFirewall && options.nfacct)
              nat.push(
                `-A ${KUBE_NODEPORTS} -m comment --comment ${S} -m ${P} -p ${P} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${names.ext}`,
              );
            nat.push(
              `-A ${KUBE_NODEPORTS} -m comment --comment ${S} -m ${P} -p ${P} --dport ${sp.nodePort} -j ${names.ext}`,
            );
          }
          if (!hasExternalEndpoints)
            filt.push(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL -m ${P} -p ${P} --dport ${sp.nodePort} -j ${externalFilterTarget}`,
            );
        }
        if (sp.healthCheckNodePort !== 0)
          filt.push(
            `-A ${KUBE_NODEPORTS} -m comment --comment "${S} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
          );
        head = { nat: flat(nat.join("\n")), filter: flat(filt.join("\n")) };
        entry.head = head;
      }
      if (head.nat !== "") natRules.line(head.nat);
      if (head.filter !== "") filterRules.line(head.filter);

      if (!write) continue;
      writtenPorts++;
      const chains: string[] = [];
      if (hasInternalEndpoints) {
        const args = `-m comment --comment "${S} cluster IP" ${protoDport}`;
        if (cfg.masqueradeAll) natRules.line(`-A ${internalPolicyChain} ${args} -j ${KUBE_MARK_MASQ}`);
        else if (ifNotLocal !== undefined)
          natRules.line(`-A ${internalPolicyChain} ${args} ${ifNotLocal} -j ${KUBE_MARK_MASQ}`);
      }
      if (usesExternalTrafficChain) {
        chains.push(names.ext);
        if (plan.masqueradeExternal) {
          natRules.line(
            `-A ${names.ext} -m comment --comment "masquerade traffic for ${S} external destinations" -j ${KUBE_MARK_MASQ}`,
          );
        } else {
          if (ifLocal !== undefined)
            natRules.line(
              `-A ${names.ext} -m comment --comment "pod traffic for ${S} external destinations" ${ifLocal} -j ${names.svc}`,
            );
          natRules.line(
            `-A ${names.ext} -m comment --comment "masquerade LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
          );
          natRules.line(
            `-A ${names.ext} -m comment --comment "route LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${names.svc}`,
          );
        }
        if (hasExternalEndpoints) natRules.line(`-A ${names.ext} -j ${externalPolicyChain}`);
      }
      if (usesFWChain) {
        chains.push(names.fw);
        const head = `-A ${names.fw} -m comment --comment "${S} loadbalancer IP"`;
        let allowFromNode = false;
        for (const cidr of sp.loadBalancerSourceRanges) {
          natRules.line(`${head} -s ${cidr.toString()} -j ${names.ext}`);
          if (nodeIP !== undefined && cidr.contains(nodeIP)) allowFromNode = true;
        }
        if (allowFromNode)
          for (const vip of sp.loadBalancerVIPs) natRules.line(`${head} -s ${vip.toString()} -j ${names.ext}`);
        natRules.line(
          `-A ${names.fw} -m comment --comment "other traffic to ${S} will be dropped by KUBE-PROXY-FIREWALL"`,
        );
      }
      if (usesClusterPolicyChain) {
        chains.push(names.svc);
        writeEndpointRules(natRules, sp, names.svc, clusterEndpoints, largeCluster);
      }
      if (usesLocalPolicyChain) {
        chains.push(names.svl);
        writeEndpointRules(natRules, sp, names.svl, localEndpoints, largeCluster);
      }
      for (const ep of allReachableEndpoints) {
        const sep = sepChain(sp, ep);
        chains.push(sep);
        const c = largeCluster ? "" : ` -m comment --comment ${S}`;
        natRules.line(`-A ${sep}${c} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
        const aff = sp.sessionAffinitySeconds > 0 ? ` -m recent --name ${sep} --set` : "";
        natRules.line(`-A ${sep}${c}${aff} -m ${P} -p ${P} -j DNAT --to-destination ${ep.endpoint}`);
      }
      for (const c of chains) {
        natChains.line(`:${c} - [0:0]`);
        written.push(c);
      }
      if (!full && previousChains !== undefined) for (const c of previousChains) staleCandidates.push(c);
      entry.chains = chains;
    }
    const heads = blockEntries.map((e) => e.head as { readonly nat: string; readonly filter: string });
    cache.blocks[bi] = {
      keys: order.slice(start, end),
      entries: blockEntries,
      nat: flat(
        heads
          .map((h) => h.nat)
          .filter((x) => x !== "")
          .join("\n"),
      ),
      filter: flat(
        heads
          .map((h) => h.filter)
          .filter((x) => x !== "")
          .join("\n"),
      ),
    };
  }

  // Stale chains: owned chains that exist but are not produced any more. A full
  // sync checks every existing chain; a partial one only the previous chains of
  // the service ports it rewrote or that were removed.
  const existing = input.existingNatChains ?? new Set<string>();
  const deleted: string[] = [];
  if (full) {
    const keep = new Set(written);
    for (const c of existing) if (isServiceChain(c) && !keep.has(c)) deleted.push(c);
  } else {
    for (const key of input.removedKeys ?? []) {
      const e = cache.entries.get(key);
      if (e?.chains) for (const c of e.chains) staleCandidates.push(c);
      cache.entries.delete(key);
    }
    const keep = new Set(written);
    for (const c of new Set(staleCandidates)) if (existing.has(c) && !keep.has(c)) deleted.push(c);
  }
  if (full) {
    // forget entries of service ports that are gone
    for (const key of cache.entries.keys()) if (!state.servicePorts.has(key)) cache.entries.delete(key);
  }
  deleted.sort();

  const out = new Writer();
  out.line("*filter");
  out.line(`:${KUBE_SERVICES} - [0:0]`);
  out.line(`:${KUBE_EXTERNAL_SERVICES} - [0:0]`);
  out.line(`:${KUBE_FORWARD} - [0:0]`);
  out.line(`:${KUBE_NODEPORTS} - [0:0]`);
  out.line(`:${KUBE_PROXY_FIREWALL} - [0:0]`);
  if (kubeletFirewall) {
    out.line(`:${KUBE_FIREWALL} - [0:0]`);
    out.line(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }
  const parts: Writer[] = [out, filterRules];
  const tailW = new Writer();
  parts.push(tailW);
  if (!options.conntrackTCPLiberal)
    tailW.line(
      `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${options.nfacct ? " -m nfacct --nfacct-name ct_state_invalid_dropped_pkts" : ""} -j DROP`,
    );
  tailW.line(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
  );
  tailW.line(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  tailW.line("COMMIT");
  tailW.line("*nat");
  tailW.line(`:${KUBE_SERVICES} - [0:0]`);
  tailW.line(`:${KUBE_NODEPORTS} - [0:0]`);
  tailW.line(`:${KUBE_POSTROUTING} - [0:0]`);
  tailW.line(`:${KUBE_MARK_MASQ} - [0:0]`);
  parts.push(natChains);
  const mid = new Writer();
  parts.push(mid);
  for (const c of deleted) mid.line(`:${c} - [0:0]`);
  mid.line(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  mid.line(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  mid.line(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${options.randomFully === false ? "" : " --random-fully"}`,
  );
  mid.line(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);
  parts.push(natRules);
  const end = new Writer();
  parts.push(end);
  for (const c of deleted) end.line(`-X ${c}`);
  const tail = `-A ${KUBE_SERVICES} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (cfg.nodePortAddresses.length === 0) {
    let dest = "-m addrtype --dst-type LOCAL";
    if (isV6) dest += " ! -d ::1/128";
    else if (!cfg.localhostNodePorts) dest += " ! -d 127.0.0.0/8";
    end.line(`${tail} ${dest} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of cfg.nodeIPs) {
      if (!cfg.nodePortAddresses.some((p) => p.contains(ip))) continue;
      const loop = isV6 ? ip.toString() === "::1" : ip.v4Value >>> 24 === 127;
      if (loop && (isV6 || !cfg.localhostNodePorts)) continue;
      end.line(`${tail} -d ${ip.toString()} -j ${KUBE_NODEPORTS}`);
    }
  }
  end.line("COMMIT");
  return {
    payload: parts.map((w) => w.text()).join(""),
    writtenChains: written,
    deletedChains: deleted,
    servicePortsWritten: writtenPorts,
  };
}

function writeEndpointRules(
  rules: Writer,
  sp: ServicePort,
  chain: string,
  eps: readonly Endpoint[],
  large: boolean,
): void {
  const S = sp.spn;
  if (sp.sessionAffinitySeconds > 0) {
    for (const ep of eps) {
      const sep = sepChain(sp, ep);
      const c = large ? "" : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
      rules.line(
        `-A ${chain}${c} -m recent --name ${sep} --rcheck --seconds ${sp.sessionAffinitySeconds} --reap -j ${sep}`,
      );
    }
  }
  const n = eps.length;
  for (let i = 0; i < n; i++) {
    const ep = eps[i] as Endpoint;
    const sep = sepChain(sp, ep);
    const c = large ? "" : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : "";
    rules.line(`-A ${chain}${c}${stat} -j ${sep}`);
  }
}
