import type { Endpoint } from "./endpoint.js";
import type { ServicePort } from "./service-port.js";

/** The node facts endpoint selection needs. */
export interface NodeTopology {
  /** This node's name. */
  readonly nodeName: string;
  /** This node's `topology.kubernetes.io/zone` label, if any. */
  readonly zone?: string | undefined;
}

/** Result of {@link categorizeEndpoints}. */
export interface CategorizedEndpoints {
  /** Endpoints for traffic under Cluster policy (empty when the service port does not use them). */
  readonly clusterEndpoints: readonly Endpoint[];
  /** Endpoints for traffic under Local policy (empty when unused or none local). */
  readonly localEndpoints: readonly Endpoint[];
  /** Every endpoint some traffic can reach (cluster ∪ local), sorted by `ip:port`. */
  readonly allReachableEndpoints: readonly Endpoint[];
  /** Whether any usable endpoint exists anywhere (decides REJECT versus DROP). */
  readonly hasAnyEndpoints: boolean;
  /** The topology mode applied to cluster endpoints: `""`, `PreferSameZone` or `PreferSameNode`. */
  readonly topologyMode: "" | "PreferSameZone" | "PreferSameNode";
}

function topologyModeFromHints(
  endpoints: readonly Endpoint[],
  node: NodeTopology,
): CategorizedEndpoints["topologyMode"] {
  let hasForNode = false;
  let allNodeHints = true;
  let hasForZone = false;
  let allZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints === undefined) allNodeHints = false;
    else if (ep.nodeHints.includes(node.nodeName)) hasForNode = true;
    if (ep.zoneHints === undefined) allZoneHints = false;
    else if (node.zone !== undefined && ep.zoneHints.includes(node.zone)) hasForZone = true;
  }
  if (allNodeHints && hasForNode) return "PreferSameNode";
  if (allZoneHints && hasForZone) return "PreferSameZone";
  return "";
}

function availableForTopology(ep: Endpoint, mode: CategorizedEndpoints["topologyMode"], node: NodeTopology): boolean {
  if (mode === "PreferSameNode") return ep.nodeHints?.includes(node.nodeName) ?? false;
  if (mode === "PreferSameZone") return node.zone !== undefined && (ep.zoneHints?.includes(node.zone) ?? false);
  return true;
}

const byEndpoint = (a: Endpoint, b: Endpoint): number =>
  a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0;

/**
 * kube-proxy's `CategorizeEndpoints`, the one implementation all engines use:
 * which endpoints Cluster-policy traffic and Local-policy traffic go to.
 *
 * Cluster: Ready endpoints (narrowed by topology hints when every ready endpoint
 * has hints and one names this node/zone), falling back to serving+terminating
 * endpoints when none is Ready. Local: local Ready endpoints, else local
 * serving+terminating ones. `endpoints` must be sorted by `ip:port`.
 */
export function categorizeEndpoints(
  endpoints: readonly Endpoint[],
  sp: ServicePort,
  node: NodeTopology,
): CategorizedEndpoints {
  let clusterEndpoints: readonly Endpoint[] = [];
  let localEndpoints: readonly Endpoint[] = [];
  let hasAnyEndpoints = false;
  let topologyMode: CategorizedEndpoints["topologyMode"] = "";
  if (sp.usesClusterEndpoints) {
    topologyMode = topologyModeFromHints(endpoints, node);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, topologyMode, node));
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!sp.usesLocalEndpoints) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints, topologyMode };
  }
  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) localReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) localServingTerminating = true;
    }
  }
  let useServingTerminating = false;
  if (localReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (localServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }
  if (!sp.usesClusterEndpoints) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints, topologyMode };
  }
  if (topologyMode === "" && !useServingTerminating) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints, topologyMode };
  }
  const merged = new Map<string, Endpoint>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  const allReachableEndpoints = [...merged.values()].sort(byEndpoint);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints, topologyMode };
}
