import { type EndpointSlice, LABEL_SERVICE_NAME, namespaceOf, objectKey, type Service } from "@knet/k8s";
import type { Family } from "@knet/netstack";
import { type Endpoint, mergeEndpoints, type SliceEndpoints, sliceEndpoints } from "./endpoint.js";
import { LayeredMap } from "./layered-map.js";
import { endpointListsEqual, type ProxyObjects, type ProxyState } from "./proxy-state.js";
import { compareServicePorts, type ProxyLog, type ServicePort, servicePortsFor } from "./service-port.js";

/** What a {@link ChangeTracker} needs to know about its proxier. */
export interface ChangeTrackerOptions {
  /** IP family of the proxier. */
  readonly family: Family;
  /** Node name (endpoint locality). */
  readonly nodeName: string;
  /** Receives a line for each address kube-proxy would skip (an unparsable IP or CIDR); default: dropped. */
  readonly log?: ProxyLog;
}

let lineages = 0;

interface SliceRecord {
  readonly serviceKey: string | undefined;
  readonly ports: readonly SliceEndpoints[];
}

/**
 * Records Service and EndpointSlice events and turns them into successive
 * {@link ProxyState}s, as kube-proxy's service and endpoints change trackers do.
 * Bad objects are rejected when recorded (the tracker is left unchanged), so a
 * state is never half-built. Unchanged service ports keep their object
 * identity from one state to the next.
 */
export class ChangeTracker {
  private readonly family: Family;
  private readonly nodeName: string;
  private readonly log: ProxyLog | undefined;
  private readonly services = new Map<string, ServicePort[]>();
  private readonly slices = new Map<string, SliceRecord>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly pendingKeys = new Set<string>();
  private readonly portKeysByService = new Map<string, string[]>();
  private current: ProxyState;
  private readonly lineage: number;

  constructor(options: ChangeTrackerOptions) {
    this.family = options.family;
    this.nodeName = options.nodeName;
    this.log = options.log;
    this.lineage = ++lineages;
    this.current = {
      family: options.family,
      servicePorts: LayeredMap.of(),
      endpoints: LayeredMap.of(),
      order: [],
      lineage: this.lineage,
      generation: 0,
    };
  }

  /** A tracker loaded with `objects`. */
  static from(options: ChangeTrackerOptions, objects: ProxyObjects): ChangeTracker {
    const t = new ChangeTracker(options);
    for (const s of objects.services) t.updateService(s);
    for (const s of objects.endpointSlices) t.updateEndpointSlice(s);
    return t;
  }

  /** Service keys (`ns/name`) changed since the last {@link ChangeTracker.state}. */
  get pending(): ReadonlySet<string> {
    return this.pendingKeys;
  }

  /**
   * Record an added or updated Service.
   * @throws ProxyModelError for bad input (the tracker is unchanged).
   */
  updateService(svc: Service): void {
    const ports = servicePortsFor(svc, this.family, this.log);
    const key = objectKey(svc);
    this.services.set(key, ports);
    this.pendingKeys.add(key);
  }

  /** Record a deleted Service. */
  deleteService(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.services.delete(key)) this.pendingKeys.add(key);
  }

  /**
   * Record an added or updated EndpointSlice.
   * @throws ProxyModelError for bad input (the tracker is unchanged).
   */
  updateEndpointSlice(slice: EndpointSlice): void {
    const ports = sliceEndpoints(slice, this.family, this.nodeName, this.log);
    const ns = namespaceOf(slice);
    const sliceKey = `${ns}/${slice.metadata?.name ?? ""}`;
    const svcName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
    const serviceKey = svcName === undefined ? undefined : `${ns}/${svcName}`;
    this.unlinkSlice(sliceKey);
    this.slices.set(sliceKey, { serviceKey, ports });
    if (serviceKey !== undefined) {
      const set = this.slicesByService.get(serviceKey) ?? new Set<string>();
      this.slicesByService.set(serviceKey, set);
      set.add(sliceKey);
      this.pendingKeys.add(serviceKey);
    }
  }

  /** Record a deleted EndpointSlice. */
  deleteEndpointSlice(namespace: string, name: string): void {
    this.unlinkSlice(`${namespace}/${name}`);
    this.slices.delete(`${namespace}/${name}`);
  }

  private unlinkSlice(sliceKey: string): void {
    const old = this.slices.get(sliceKey);
    if (old?.serviceKey !== undefined) {
      this.slicesByService.get(old.serviceKey)?.delete(sliceKey);
      this.pendingKeys.add(old.serviceKey);
    }
  }

  private endpointsFor(sp: ServicePort): Endpoint[] {
    const lists: (readonly Endpoint[])[] = [];
    for (const sliceKey of this.slicesByService.get(sp.serviceKey) ?? []) {
      for (const p of this.slices.get(sliceKey)?.ports ?? []) {
        if (p.portName === sp.name.port && p.protocol === sp.protocol) lists.push(p.endpoints);
      }
    }
    return lists.length === 0 ? [] : mergeEndpoints(lists);
  }

  /**
   * Apply pending changes and return the new state (the previous one is not
   * modified). Entries of unchanged services are shared with the previous state.
   */
  state(): ProxyState {
    if (this.pendingKeys.size === 0) return this.current;
    const prev = this.current;
    // Only the pending services' ports change: collect them, then derive the new maps
    // from the previous ones (shared, layered) instead of copying every service port.
    const portChanges = new Map<string, ServicePort | undefined>();
    const endpointChanges = new Map<string, readonly Endpoint[] | undefined>();
    const removedKeys = new Set<string>();
    const addedPorts: ServicePort[] = [];
    for (const serviceKey of this.pendingKeys) {
      for (const key of this.portKeysByService.get(serviceKey) ?? []) removedKeys.add(key);
      this.portKeysByService.delete(serviceKey);
    }
    for (const key of removedKeys) {
      portChanges.set(key, undefined);
      endpointChanges.set(key, undefined);
    }
    for (const serviceKey of this.pendingKeys) {
      const ports = this.services.get(serviceKey) ?? [];
      if (ports.length > 0)
        this.portKeysByService.set(
          serviceKey,
          ports.map((p) => p.key),
        );
      for (const sp of ports) {
        const old = prev.servicePorts.get(sp.key);
        const eps = this.endpointsFor(sp);
        portChanges.set(sp.key, sp);
        const oldEps = prev.endpoints.get(sp.key);
        endpointChanges.set(sp.key, oldEps !== undefined && endpointListsEqual(oldEps, eps) ? oldEps : eps);
        if (old === undefined) addedPorts.push(sp);
        removedKeys.delete(sp.key);
      }
    }
    const servicePorts = layered(prev.servicePorts).with(portChanges);
    const endpoints = layered(prev.endpoints).with(endpointChanges);
    let order: readonly string[];
    if (removedKeys.size + addedPorts.length > 64) {
      order = [...servicePorts.values()].sort(compareServicePorts).map((p) => p.key);
    } else if (removedKeys.size === 0 && addedPorts.length === 0) {
      order = prev.order; // endpoint churn: the same ports in the same order, shared
    } else {
      const next = removedKeys.size === 0 ? [...prev.order] : prev.order.filter((k) => servicePorts.has(k));
      for (const sp of addedPorts) {
        let lo = 0;
        let hi = next.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compareServicePorts(servicePorts.get(next[mid] as string) as ServicePort, sp) < 0) lo = mid + 1;
          else hi = mid;
        }
        next.splice(lo, 0, sp.key);
      }
      order = next;
    }
    const generation = (prev.generation ?? 0) + 1;
    const changes = {
      since: prev.generation ?? 0,
      services: new Set(this.pendingKeys),
      removedPorts: [...removedKeys],
    };
    this.pendingKeys.clear();
    this.current = { family: this.family, servicePorts, endpoints, order, lineage: this.lineage, generation, changes };
    return this.current;
  }
}

/** The tracker's own states hold LayeredMaps; a state built elsewhere is taken as the base of one. */
function layered<V>(m: ReadonlyMap<string, V>): LayeredMap<string, V> {
  return m instanceof LayeredMap ? m : LayeredMap.of(m);
}

/**
 * Build a {@link ProxyState} from Services and EndpointSlices in one go.
 * @throws ProxyModelError naming the first bad object.
 */
export function buildProxyState(options: ChangeTrackerOptions, objects: ProxyObjects): ProxyState {
  return ChangeTracker.from(options, objects).state();
}

/** `ns/name:port` of a service port key (the key minus its `/protocol` suffix). */
export function spnOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf("/"));
}
