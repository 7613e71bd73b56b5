/**
 * `@knet/cluster`: the knet packages composed into a simulated Kubernetes
 * cluster, and end-to-end traces of requests through it.
 *
 * @example
 * ```ts
 * import { Cluster, formatClusterTrace, traceRequest } from "@knet/cluster";
 * import { registerProxyMode } from "@knet/kube-proxy";
 * import { iptablesMode } from "@knet/kube-proxy-iptables";
 *
 * registerProxyMode(iptablesMode); // cluster reads the mode registry
 * const cluster = await Cluster.fromManifests(manifestText, { mode: "iptables" });
 * const t = traceRequest(cluster, { from: "shop/frontend", to: "http://api.shop.svc.cluster.local:80" });
 * console.log(formatClusterTrace(t)); // DNS queries, hops, kube-proxy rules, policy, result
 * ```
 *
 * @module
 */
export { Cluster } from "./cluster.js";
export { ClusterError } from "./errors.js";
export type { PolicyDecision, ProxyDecision } from "./hooks.js";
export { describePacket, policyHook } from "./hooks.js";
export type { ClusterOptions, OverlayMode, ResolvedClusterOptions } from "./options.js";
export { resolveOptions } from "./options.js";
export type { NodeNet } from "./overlay.js";
export { FLANNEL, nodeTopology, subnetEnv, UNDERLAY_NS } from "./overlay.js";
export { DeferredHooks, nodeConflist } from "./pod-network.js";
export type { ClusterBuild, ClusterExtension, ClusterStage, PodInterfaceSpec } from "./stages.js";
export { CLUSTER_STAGES } from "./stages.js";
export type { ClusterTrace, DnsExchange, TraceRequest } from "./trace.js";
export { formatClusterTrace, podProcessOwner, traceRequest } from "./trace.js";
export type {
  ClusterNode,
  ClusterPod,
  ClusterService,
  ExternalHost,
  HttpRequest,
  ProxiedRequest,
  ProxyForward,
  UserspaceProxy,
} from "./types.js";
