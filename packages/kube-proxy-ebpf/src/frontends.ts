import type { Endpoint, ProxyConfig, ProxyState, ServicePort } from "@knet/kube-proxy";
import { Addr, type Prefix } from "@knet/netstack";
import { type FrontendType, type L4Name, LB_ALG, SVC_FLAG, typeFlag } from "./flags.js";
import { DEFAULT_BACKEND_WEIGHT } from "./maglev.js";

/** Cilium's per-service load-balancing algorithm annotation. */
export const LB_ALGORITHM_ANNOTATION = "service.cilium.io/lb-algorithm";

/** Cilium's per-service source-range policy annotation (`allow` or `deny`). */
export const SOURCE_RANGES_POLICY_ANNOTATION = "service.cilium.io/src-ranges-policy";

/** Cluster-wide backend selection (`--bpf-lb-algorithm`). */
export type LbAlgorithm = "random" | "maglev";

/** Load-balancer settings of the eBPF mode (Cilium agent flags). */
export interface LbSettings {
  /** Default backend selection (`--bpf-lb-algorithm`, default random). */
  readonly algorithm: LbAlgorithm;
  /** Honour `service.cilium.io/lb-algorithm` (`--bpf-lb-algorithm-annotation`, default false). */
  readonly algorithmAnnotation: boolean;
  /**
   * Write the wildcard `addr:0/ANY` entries of newer Cilium releases for ClusterIP and
   * LoadBalancer addresses (they make the datapath drop unknown ports). Default false.
   */
  readonly wildcardEntries: boolean;
  /** Annotations of a Service (`namespace/name`), when known. */
  readonly annotations?: ((serviceKey: string) => Readonly<Record<string, string>> | undefined) | undefined;
}

/** One backend of a frontend. */
export interface BackendSpec {
  /** Address. */
  readonly addr: Addr;
  /** Port. */
  readonly port: number;
  /** Protocol. */
  readonly proto: Exclude<L4Name, "ANY">;
  /** `active` for ready endpoints, `terminating` for serving+terminating ones. */
  readonly state: "active" | "terminating";
  /** Maglev weight. */
  readonly weight: number;
  /** Identity: `ip:port/PROTO`. */
  readonly key: string;
}

/** One frontend (service map master entry) with its ordered backends. */
export interface FrontendSpec {
  /** Identity `ip:port/PROTO[/i]` (Cilium's L3n4Addr string). */
  readonly key: string;
  /** Order of Cilium's frontend table (its L3n4Addr byte key). */
  readonly orderKey: string;
  /** Frontend address (the unspecified address for the NodePort surrogate). */
  readonly addr: Addr;
  /** Port. */
  readonly port: number;
  /** Protocol. */
  readonly proto: Exclude<L4Name, "ANY">;
  /** 1 for the internal scope (`/i`) of a two-scope service, else 0. */
  readonly scope: 0 | 1;
  /** Frontend type. */
  readonly type: FrontendType;
  /** The service port it belongs to. */
  readonly servicePortKey: string;
  /** `namespace/name`. */
  readonly serviceKey: string;
  /** Slot order: active first, then by address and port. */
  readonly backends: readonly BackendSpec[];
  /** Backends load-balanced to (COUNT). */
  readonly count: number;
  /** Further backends in slots after them (QCOUNT: terminating while some are active). */
  readonly qcount: number;
  /** The 16-bit service flags of the master entry and slots. */
  readonly flags: number;
  /** Algorithm code written into the master entry (0 = undef: the datapath default). */
  readonly lbAlg: number;
  /** ClientIP affinity timeout in seconds (0: none). */
  readonly affinityTimeout: number;
  /** Source ranges written to the source-range map for this frontend. */
  readonly sourceRanges: readonly Prefix[];
  /** Whether a Maglev table is provisioned. */
  readonly useMaglev: boolean;
  /** Whether a wildcard `addr:0/ANY` entry accompanies it. */
  readonly wildcard: boolean;
}

function upperProto(p: ServicePort["protocol"]): Exclude<L4Name, "ANY"> {
  return p === "udp" ? "UDP" : p === "sctp" ? "SCTP" : "TCP";
}

/** Cilium's L3n4Addr string: `ip:port/PROTO` (`[ip]:port/PROTO` for IPv6), `/i` for internal scope. */
export function l3n4String(addr: Addr, port: number, proto: L4Name, scope: number): string {
  const host = addr.family === 6 ? `[${addr}]` : addr.toString();
  return `${host}:${port}/${proto}${scope === 1 ? "/i" : ""}`;
}

const PROTO_BYTE: Readonly<Record<string, string>> = { TCP: "T", UDP: "U", SCTP: "S" };

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The byte order of Cilium's frontend table key: 16-byte (IPv4-mapped) address, port, protocol letter, scope. */
export function frontendOrderKey(addr: Addr, port: number, proto: L4Name, scope: number): string {
  const a =
    addr.family === 4
      ? `00000000000000000000ffff${hex8(addr.w3)}`
      : hex8(addr.w0) + hex8(addr.w1) + hex8(addr.w2) + hex8(addr.w3);
  return `${a}${port.toString(16).padStart(4, "0")}${PROTO_BYTE[proto] ?? "?"}${scope}`;
}

function compareBackends(a: BackendSpec, b: BackendSpec): number {
  if (a.state !== b.state) return a.state === "active" ? -1 : 1;
  if (a.addr.family !== b.addr.family) return a.addr.family - b.addr.family;
  const c = a.addr.compare(b.addr);
  if (c !== 0) return c;
  return a.port - b.port;
}

/** The backends of one service port's endpoints: ready ones active, serving+terminating ones terminating. */
export function backendsOf(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
): { all: BackendSpec[]; local: BackendSpec[] } {
  const proto = upperProto(sp.protocol);
  const all: BackendSpec[] = [];
  const local: BackendSpec[] = [];
  for (const ep of endpoints) {
    let state: BackendSpec["state"];
    if (ep.terminating) {
      if (!ep.serving) continue;
      state = "terminating";
    } else if (ep.ready) state = "active";
    else continue;
    const b: BackendSpec = {
      addr: ep.addr,
      port: ep.port,
      proto,
      state,
      weight: DEFAULT_BACKEND_WEIGHT,
      key: l3n4String(ep.addr, ep.port, proto, 0),
    };
    all.push(b);
    if (ep.isLocal) local.push(b);
  }
  all.sort(compareBackends);
  local.sort(compareBackends);
  return { all, local };
}

function counts(backends: readonly BackendSpec[]): { count: number; qcount: number } {
  let active = 0;
  for (const b of backends) if (b.state === "active") active++;
  const terminating = backends.length - active;
  return active === 0 ? { count: terminating, qcount: 0 } : { count: active, qcount: terminating };
}

function algorithmCode(settings: LbSettings, annotations: Readonly<Record<string, string>> | undefined): number {
  if (!settings.algorithmAnnotation) return LB_ALG.undef;
  const v = annotations?.[LB_ALGORITHM_ANNOTATION];
  return v === "maglev" ? LB_ALG.maglev : v === "random" ? LB_ALG.random : LB_ALG.undef;
}

/**
 * The frontends Cilium's load-balancer control plane derives from one service
 * port: the ClusterIP; for a NodePort the surrogate `0.0.0.0:nodePort` (or `[::]`)
 * and one entry per node address; LoadBalancer ingress IPs; external IPs. When
 * the external and internal traffic policies differ, every non-ClusterIP
 * frontend also gets an internal-scope twin (`/i`) with the internal policy's
 * backends.
 */
export function frontendsOf(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  config: ProxyConfig,
  settings: LbSettings,
): FrontendSpec[] {
  const proto = upperProto(sp.protocol);
  const annotations = settings.annotations?.(sp.serviceKey);
  const { all, local } = backendsOf(sp, endpoints);
  const extLocal = sp.externalPolicyLocal;
  const intLocal = sp.internalPolicyLocal;
  const extBackends = extLocal ? local : all;
  const intBackends = intLocal ? local : all;
  const lbAlg = algorithmCode(settings, annotations);
  const deny = annotations?.[SOURCE_RANGES_POLICY_ANNOTATION] === "deny";
  const ranges = sp.loadBalancerSourceRanges;
  const out: FrontendSpec[] = [];
  const add = (addr: Addr, port: number, type: FrontendType, scope: 0 | 1, backends: readonly BackendSpec[]) => {
    const surrogate = addr.w0 === 0 && addr.w1 === 0 && addr.w2 === 0 && addr.w3 === 0;
    let flags = typeFlag(type);
    if (extLocal) flags |= SVC_FLAG.extLocalScope;
    if (intLocal) flags |= SVC_FLAG.intLocalScope;
    if (extLocal !== intLocal && type !== "ClusterIP") flags |= SVC_FLAG.twoScopes;
    if (sp.sessionAffinitySeconds > 0) flags |= SVC_FLAG.sessionAffinity;
    if (!surrogate && type !== "ClusterIP") flags |= SVC_FLAG.routable;
    if (type === "LoadBalancer" && ranges.length > 0) {
      flags |= SVC_FLAG.sourceRange;
      if (deny) flags |= SVC_FLAG.sourceRangeDeny;
    }
    const useMaglev =
      !surrogate &&
      (lbAlg !== LB_ALG.undef ? lbAlg === LB_ALG.maglev : settings.algorithm === "maglev" && type !== "ClusterIP");
    out.push({
      key: l3n4String(addr, port, proto, scope),
      orderKey: frontendOrderKey(addr, port, proto, scope),
      addr,
      port,
      proto,
      scope,
      type,
      servicePortKey: sp.key,
      serviceKey: sp.serviceKey,
      backends,
      ...counts(backends),
      flags,
      lbAlg,
      affinityTimeout: sp.sessionAffinitySeconds,
      sourceRanges: ranges,
      useMaglev,
      wildcard: settings.wildcardEntries && !surrogate && (type === "ClusterIP" || type === "LoadBalancer"),
    });
  };
  add(sp.clusterIP, sp.port, "ClusterIP", 0, intBackends);
  const external = (addr: Addr, port: number, type: FrontendType) => {
    add(addr, port, type, 0, extBackends);
    if (extLocal !== intLocal) add(addr, port, type, 1, intBackends);
  };
  if (sp.nodePort !== 0) {
    external(sp.family === 4 ? Addr.v4(0) : Addr.v6(0, 0, 0, 0), sp.nodePort, "NodePort");
    for (const ip of nodePortAddresses(config)) external(ip, sp.nodePort, "NodePort");
  }
  for (const vip of sp.loadBalancerVIPs) external(vip, sp.port, "LoadBalancer");
  for (const eip of sp.externalIPs) external(eip, sp.port, "ExternalIPs");
  return out;
}

/** The node addresses NodePort frontends are expanded to: node IPs, narrowed by `--nodeport-addresses`. */
export function nodePortAddresses(config: ProxyConfig): Addr[] {
  const filter = config.nodePortAddresses;
  return config.nodeIPs.filter(
    (ip) => ip.family === config.family && (filter.length === 0 || filter.some((p) => p.contains(ip))),
  );
}

/** Every frontend of a state, in Cilium's frontend-table order. */
export function allFrontends(state: ProxyState, config: ProxyConfig, settings: LbSettings): FrontendSpec[] {
  const out: FrontendSpec[] = [];
  for (const key of state.order) {
    const sp = state.servicePorts.get(key);
    if (sp) out.push(...frontendsOf(sp, state.endpoints.get(key) ?? [], config, settings));
  }
  return out.sort((a, b) => (a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0));
}
