import { Addr, type Family, Prefix } from "@knet/netstack";

/**
 * How kube-proxy tells pod traffic from other traffic (`--detect-local-mode`).
 * `None` means no detector: rules that need one are not written.
 */
export type LocalDetector =
  | { readonly mode: "ClusterCIDR"; readonly cidr: Prefix }
  | { readonly mode: "NodeCIDR"; readonly cidr: Prefix }
  | { readonly mode: "BridgeInterface"; readonly interfaceName: string }
  | { readonly mode: "InterfaceNamePrefix"; readonly prefix: string }
  | { readonly mode: "None" };

/** The node and proxy settings one proxier (one IP family) runs with. */
export interface ProxyConfig {
  /** The IP family this proxier handles (kube-proxy runs one proxier per family). */
  readonly family: Family;
  /** This node's name (`isLocal` of endpoints compares `nodeName` with it). */
  readonly nodeName: string;
  /** This node's addresses of {@link ProxyConfig.family} (what `addrtype LOCAL` matches, besides loopback). */
  readonly nodeIPs: readonly Addr[];
  /** The node's labels (`topology.kubernetes.io/zone` drives topology hints). */
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** Cluster pod CIDRs of this family. */
  readonly clusterCIDRs: readonly Prefix[];
  /** Masquerade all traffic to ClusterIPs (`--masquerade-all`). */
  readonly masqueradeAll: boolean;
  /** Bit of the fwmark that asks for SNAT (`--iptables-masquerade-bit`, default 14). */
  readonly masqueradeBit: number;
  /** The local-traffic detector for this family. */
  readonly localDetector: LocalDetector;
  /** Accept NodePorts on loopback (iptables mode, IPv4; default true). */
  readonly localhostNodePorts: boolean;
  /** `--nodeport-addresses`: empty means every local address. */
  readonly nodePortAddresses: readonly Prefix[];
  /** Minimum time between syncs in ms (default 1000). */
  readonly minSyncPeriodMs: number;
  /** Periodic resync in ms (default 30000). */
  readonly syncPeriodMs: number;
}

/** Input to {@link proxyConfig}: every field optional, addresses as text or values. */
export interface ProxyConfigInput {
  /** IP family (default 4). */
  readonly family?: Family;
  /** Node name (default `node-1`). */
  readonly nodeName?: string;
  /** Node IPs; those of other families are dropped. */
  readonly nodeIPs?: readonly (string | Addr)[];
  /** Node labels. */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /** Cluster CIDR(s) (`--cluster-cidr`, comma-separated allowed); those of other families are dropped. */
  readonly clusterCIDR?: string | readonly (string | Prefix)[];
  /** `--masquerade-all`. */
  readonly masqueradeAll?: boolean;
  /** Masquerade bit (0..31, default 14). */
  readonly masqueradeBit?: number;
  /** Local detector; default ClusterCIDR when a cluster CIDR of this family is given, else None. */
  readonly localDetector?: LocalDetector;
  /** Default true. */
  readonly localhostNodePorts?: boolean;
  /** `--nodeport-addresses` CIDRs. */
  readonly nodePortAddresses?: readonly (string | Prefix)[];
  /** Default 1000. */
  readonly minSyncPeriodMs?: number;
  /** Default 30000. */
  readonly syncPeriodMs?: number;
}

function toPrefix(p: string | Prefix): Prefix {
  return typeof p === "string" ? Prefix.parse(p.trim(), { mask: true }) : p;
}

/**
 * A complete {@link ProxyConfig} from partial input, with kube-proxy's defaults.
 * @throws AddrError for an unparsable address or CIDR; RangeError for a bad masquerade bit.
 */
export function proxyConfig(input: ProxyConfigInput = {}): ProxyConfig {
  const family: Family = input.family ?? 4;
  const nodeIPs = (input.nodeIPs ?? [])
    .map((a) => (typeof a === "string" ? Addr.parse(a) : a))
    .filter((a) => a.family === family);
  const rawCidrs =
    input.clusterCIDR === undefined
      ? []
      : typeof input.clusterCIDR === "string"
        ? input.clusterCIDR
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : input.clusterCIDR;
  const clusterCIDRs = rawCidrs.map(toPrefix).filter((p) => p.family === family);
  const bit = input.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new RangeError(`masqueradeBit ${bit} is not in 0..31`);
  const first = clusterCIDRs[0];
  const localDetector: LocalDetector =
    input.localDetector ?? (first ? { mode: "ClusterCIDR", cidr: first } : { mode: "None" });
  return {
    family,
    nodeName: input.nodeName ?? "node-1",
    nodeIPs,
    nodeLabels: input.nodeLabels ?? {},
    clusterCIDRs,
    masqueradeAll: input.masqueradeAll ?? false,
    masqueradeBit: bit,
    localDetector,
    localhostNodePorts: input.localhostNodePorts ?? true,
    nodePortAddresses: (input.nodePortAddresses ?? []).map(toPrefix).filter((p) => p.family === family),
    minSyncPeriodMs: input.minSyncPeriodMs ?? 1000,
    syncPeriodMs: input.syncPeriodMs ?? 30000,
  };
}

/** The masquerade mark value, `1 << masqueradeBit` as an unsigned number (0x4000 by default). */
export function masqueradeMark(config: ProxyConfig): number {
  return (1 << config.masqueradeBit) >>> 0;
}

/** A mark as kube-proxy prints it with Go's `%#08x` (and `nft list` shows it): `0x00004000`. */
export function formatMark(mark: number): string {
  return `0x${(mark >>> 0).toString(16).padStart(8, "0")}`;
}
