import { DEFAULT_PROXY_MODE } from "@knet/kube-proxy";
import type { ClusterExtension } from "./stages.js";

/** How pod traffic crosses nodes. */
export type OverlayMode = "vxlan" | "host-gw";

/** Options of `Cluster.fromManifests`. */
export interface ClusterOptions {
  /**
   * kube-proxy mode on every node: a name registered in `@knet/kube-proxy`'s
   * mode registry (`registerProxyMode`). Default `iptables`.
   */
  readonly mode?: string;
  /** Cross-node pod traffic: flannel's `vxlan` (default) or `host-gw` routes. */
  readonly overlay?: OverlayMode;
  /** Pod network (kube-controller-manager `--cluster-cidr`, default `10.244.0.0/16`). */
  readonly clusterCidr?: string;
  /** Service network (kube-apiserver `--service-cluster-ip-range`, default `10.96.0.0/12`). */
  readonly serviceCidr?: string;
  /** Node pod-CIDR mask size (default 24). */
  readonly nodeMaskSize?: number;
  /** Cluster DNS domain (default `cluster.local`). */
  readonly clusterDomain?: string;
  /** Underlay (node) network; node IPs not given by Node objects come from here (default `192.168.49.0/24`). */
  readonly nodeNetwork?: string;
  /** Underlay MTU (default 1500; pods get 1450 with VXLAN). */
  readonly mtu?: number;
  /** Seed for every random choice (endpoint selection, ports), so traces are reproducible. Default 1. */
  readonly seed?: number;
  /** What packages add to the cluster (gateways, sidecars, external hosts...), run after the stages they name. */
  readonly extensions?: readonly ClusterExtension[];
}

/** {@link ClusterOptions} with every default filled in (extensions aside). */
export type ResolvedClusterOptions = Required<Omit<ClusterOptions, "extensions">>;

/** Fill in the defaults of {@link ClusterOptions}. */
export function resolveOptions(o: ClusterOptions = {}): ResolvedClusterOptions {
  return {
    mode: o.mode ?? DEFAULT_PROXY_MODE,
    overlay: o.overlay ?? "vxlan",
    clusterCidr: o.clusterCidr ?? "10.244.0.0/16",
    serviceCidr: o.serviceCidr ?? "10.96.0.0/12",
    nodeMaskSize: o.nodeMaskSize ?? 24,
    clusterDomain: o.clusterDomain ?? "cluster.local",
    nodeNetwork: o.nodeNetwork ?? "192.168.49.0/24",
    mtu: o.mtu ?? 1500,
    seed: o.seed ?? 1,
  };
}
