import type { EndpointSlice, Service } from "@knet/k8s";
import type { Addr, Family, Prefix } from "@knet/netstack";
import type { Endpoint } from "./endpoint.js";
import { compareServicePorts, type ServicePort } from "./service-port.js";

/**
 * Everything an engine syncs from, for one IP family: the service ports and
 * their endpoints. Immutable; a {@link ChangeTracker} shares unchanged entries
 * between successive states, so engines can diff cheaply.
 */
export interface ProxyState {
  /** IP family of every address in the state. */
  readonly family: Family;
  /** Service ports by {@link ServicePort.key}. */
  readonly servicePorts: ReadonlyMap<string, ServicePort>;
  /** Endpoints (sorted by `ip:port`) by service port key; a missing key means none. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Service port keys in output order (by `spn`, then protocol), the order upstream tests normalise to. */
  readonly order: readonly string[];
  /** Identifies the {@link ChangeTracker} that produced the state (states of one tracker form a lineage). */
  readonly lineage?: number;
  /** Increases with every state a tracker produces. */
  readonly generation?: number;
  /** What changed since the tracker's previous state, so engines need not diff everything. */
  readonly changes?: ProxyStateChanges;
}

/** The changes a {@link ChangeTracker} applied to get from generation `since` to this state. */
export interface ProxyStateChanges {
  /** Generation of the state these changes apply to. */
  readonly since: number;
  /** Services (`ns/name`) whose Service object or EndpointSlices changed. */
  readonly services: ReadonlySet<string>;
  /** Service port keys present in the previous state and gone in this one. */
  readonly removedPorts: readonly string[];
}

/** Service and EndpointSlice objects to build a {@link ProxyState} from. */
export interface ProxyObjects {
  /** Services (all namespaces). */
  readonly services: readonly Service[];
  /** EndpointSlices (all namespaces). */
  readonly endpointSlices: readonly EndpointSlice[];
}

/** Sort service port keys of `ports` in output order. */
export function sortServicePortKeys(ports: ReadonlyMap<string, ServicePort>): string[] {
  return [...ports.values()].sort(compareServicePorts).map((p) => p.key);
}

function addrsEqual(a: readonly Addr[], b: readonly Addr[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(a[i] as Addr).equals(b[i] as Addr)) return false;
  return true;
}

function prefixesEqual(a: readonly Prefix[], b: readonly Prefix[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(a[i] as Prefix).equals(b[i] as Prefix)) return false;
  return true;
}

/** Whether two service ports are the same in every field an engine renders. */
export function servicePortsEqual(a: ServicePort, b: ServicePort): boolean {
  return (
    a === b ||
    (a.key === b.key &&
      a.clusterIP.equals(b.clusterIP) &&
      a.port === b.port &&
      a.nodePort === b.nodePort &&
      a.healthCheckNodePort === b.healthCheckNodePort &&
      a.sessionAffinitySeconds === b.sessionAffinitySeconds &&
      a.externalPolicyLocal === b.externalPolicyLocal &&
      a.internalPolicyLocal === b.internalPolicyLocal &&
      a.externallyAccessible === b.externallyAccessible &&
      addrsEqual(a.externalIPs, b.externalIPs) &&
      addrsEqual(a.loadBalancerVIPs, b.loadBalancerVIPs) &&
      prefixesEqual(a.loadBalancerSourceRanges, b.loadBalancerSourceRanges))
  );
}

/** Whether two endpoint lists are the same (order, address, port, conditions, locality, hints). */
export function endpointListsEqual(a: readonly Endpoint[] | undefined, b: readonly Endpoint[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i] as Endpoint;
    const q = y[i] as Endpoint;
    if (p === q) continue;
    if (
      p.endpoint !== q.endpoint ||
      p.isLocal !== q.isLocal ||
      p.ready !== q.ready ||
      p.serving !== q.serving ||
      p.terminating !== q.terminating ||
      String(p.zoneHints) !== String(q.zoneHints) ||
      String(p.nodeHints) !== String(q.nodeHints)
    )
      return false;
  }
  return true;
}

/** What changed between two states, by service port key. */
export interface ProxyStateDiff {
  /** Keys present only in the new state. */
  readonly added: readonly string[];
  /** Keys present only in the old state. */
  readonly removed: readonly string[];
  /** Keys present in both whose service port or endpoints differ. */
  readonly changed: readonly string[];
}

/**
 * Compare two states (reference equality first, then structure). Partial syncs
 * rewrite only `added` and `changed` service ports and delete `removed` ones.
 */
export function diffProxyState(prev: ProxyState | undefined, next: ProxyState): ProxyStateDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [key, sp] of next.servicePorts) {
    const old = prev?.servicePorts.get(key);
    if (old === undefined) added.push(key);
    else if (!servicePortsEqual(old, sp) || !endpointListsEqual(prev?.endpoints.get(key), next.endpoints.get(key)))
      changed.push(key);
  }
  if (prev) for (const key of prev.servicePorts.keys()) if (!next.servicePorts.has(key)) removed.push(key);
  return { added, removed, changed };
}
