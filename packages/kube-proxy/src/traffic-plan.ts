/**
 * The traffic plan: for one service port, what every proxy mode has to decide
 * before it writes a rule, computed once from the service port and its
 * endpoints (as kube-proxy's iptables and nftables proxiers compute it inline
 * in `syncProxyRules`). Engines render from it; none re-derives it.
 */
import { type CategorizedEndpoints, categorizeEndpoints, type NodeTopology } from "./categorize.js";
import type { Endpoint } from "./endpoint.js";
import type { ServicePort } from "./service-port.js";

/** One direction of traffic to a service port: internal (cluster IP) or external (node port, external IP, LB). */
export interface TrafficPath {
  /** The traffic policy that applies (`internalTrafficPolicy` / `externalTrafficPolicy`). */
  readonly policy: "Cluster" | "Local";
  /** The endpoints this traffic is balanced over (the policy's set). */
  readonly endpoints: readonly Endpoint[];
  /** Whether this traffic has somewhere to go. */
  readonly hasEndpoints: boolean;
  /**
   * What happens to this traffic when it has nowhere to go: `reject` when the
   * service has no usable endpoint at all (ICMP port unreachable tells the client
   * at once), `drop` when endpoints exist but none on this node under Local
   * policy (the client times out, as it would if its packet went to a node that
   * should not have received it); `undefined` when it has endpoints.
   */
  readonly whenEmpty: "reject" | "drop" | undefined;
}

/** What every mode decides for one service port. */
export interface TrafficPlan {
  /** The endpoints as kube-proxy's `CategorizeEndpoints` sorts them (topology, terminating fallback). */
  readonly categorized: CategorizedEndpoints;
  /** Traffic to the cluster IP. */
  readonly internal: TrafficPath;
  /** Traffic to node ports, external IPs and load-balancer IPs. */
  readonly external: TrafficPath;
  /**
   * A Cluster-policy endpoint chain (KUBE-SVC / `service-…`) is written: some
   * traffic uses Cluster policy and there are cluster endpoints to send it to.
   */
  readonly usesClusterPolicy: boolean;
  /** A Local-policy endpoint chain (KUBE-SVL / `local-…`) is written, likewise. */
  readonly usesLocalPolicy: boolean;
  /**
   * The external-traffic path (KUBE-EXT / `external-…`) exists: the port is
   * reachable from outside and the service has endpoints somewhere. It is where
   * external traffic is masqueraded (Cluster policy: always, since the reply must
   * come back through this node; Local policy: only traffic from the node itself,
   * whose source would not be routable from the endpoint).
   */
  readonly usesExternalPath: boolean;
  /**
   * The service restricts load-balancer sources (`loadBalancerSourceRanges` on a
   * service with LB VIPs), so a firewall path exists. iptables mode writes it only
   * when the service also has endpoints; nftables mode always.
   */
  readonly hasSourceRanges: boolean;
  /** Whether external traffic from other nodes' clients is masqueraded (Cluster policy) or keeps its source (Local). */
  readonly masqueradeExternal: boolean;
}

/**
 * The plan for `sp` with its endpoints (sorted by `ip:port`) on `node`. Pure:
 * the same inputs give an equal plan.
 */
export function trafficPlan(sp: ServicePort, endpoints: readonly Endpoint[], node: NodeTopology): TrafficPlan {
  const categorized = categorizeEndpoints(endpoints, sp, node);
  const { clusterEndpoints, localEndpoints, hasAnyEndpoints } = categorized;
  const path = (local: boolean): TrafficPath => {
    // Local policy with no endpoint on this node: traffic is dropped, not sent elsewhere
    // (the load balancer's health check sees the node as unhealthy and stops sending).
    const hasEndpoints = hasAnyEndpoints && (!local || localEndpoints.length > 0);
    return {
      policy: local ? "Local" : "Cluster",
      endpoints: local ? localEndpoints : clusterEndpoints,
      hasEndpoints,
      whenEmpty: !hasAnyEndpoints ? "reject" : hasEndpoints ? undefined : "drop",
    };
  };
  return {
    categorized,
    internal: path(sp.internalPolicyLocal),
    external: path(sp.externalPolicyLocal),
    usesClusterPolicy: clusterEndpoints.length > 0 && sp.usesClusterEndpoints,
    usesLocalPolicy: localEndpoints.length > 0 && sp.usesLocalEndpoints,
    usesExternalPath: hasAnyEndpoints && sp.externallyAccessible,
    hasSourceRanges: sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0,
    masqueradeExternal: !sp.externalPolicyLocal,
  };
}
