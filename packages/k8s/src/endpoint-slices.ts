/**
 * The EndpointSlice controller (kube-controller-manager's `endpointslice-controller.k8s.io`)
 * as a pure function: from a Service with a selector, its Pods and the Nodes, the
 * slices the real controller would write.
 */
import type { EndpointPort, EndpointSlice, Node, Pod, Service, ServicePort, SliceEndpoint } from "./objects.js";
import { matchLabelMap } from "./selector.js";

/** Label naming the Service a slice belongs to. */
export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
/** Label naming the controller that manages a slice. */
export const LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
/** The value of {@link LABEL_MANAGED_BY} on slices this controller writes. */
export const ENDPOINTSLICE_CONTROLLER_NAME = "endpointslice-controller.k8s.io";
/** Label set on slices of headless services. */
export const LABEL_HEADLESS = "service.kubernetes.io/headless";
/** The node label that gives an endpoint its zone. */
export const LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone";
/** Default `--max-endpoints-per-slice`. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

/** An EndpointSlice address type. */
export type AddressType = "IPv4" | "IPv6" | "FQDN";

/** Options for {@link endpointSlicesFor}. */
export interface EndpointSliceOptions {
  /**
   * The cluster's Nodes (array or by name). Endpoint zones come from their
   * `topology.kubernetes.io/zone` label. When given, a pod whose node is missing is
   * left out (unless the service publishes not-ready addresses), as upstream does.
   * When omitted, nodes are not checked and endpoints carry no zone.
   */
  readonly nodes?: readonly Node[] | ReadonlyMap<string, Node>;
  /** `--max-endpoints-per-slice` (1-1000). Default 100. */
  readonly maxEndpointsPerSlice?: number;
  /**
   * Suffix for slice names (upstream: 5 random characters after `<service>-`).
   * Default: a stable hash of service, address type and the slice's ordinal within
   * that address type, so the same input gives the same names and a placeholder is
   * updated in place when endpoints arrive (as upstream reuses it).
   */
  readonly nameSuffix?: (service: Service, addressType: AddressType, ordinal: number) => string;
}

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function defaultSuffix(service: Service, addressType: AddressType, ordinal: number): string {
  const base = `${service.metadata?.namespace}/${service.metadata?.name}/${service.metadata?.uid ?? ""}/${addressType}/${ordinal}`;
  let s = "";
  for (let i = 0; i < 5; i++) s += ALPHABET[fnv1a(`${base}#${i}`) % ALPHABET.length];
  return s;
}

/** Whether a pod is Ready (its `Ready` condition is `True`). */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Whether a pod has finished (phase Succeeded or Failed): such pods are never endpoints. */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** The pod's IPs: `status.podIPs`, or `[status.podIP]` when only that is set (as the API's v1 conversion fills it). */
export function podIPs(pod: Pod): string[] {
  const list = (pod.status?.podIPs ?? [])
    .map((p) => p.ip)
    .filter((ip): ip is string => typeof ip === "string" && ip !== "");
  if (list.length > 0) return list;
  const one = pod.status?.podIP;
  return one !== undefined && one !== "" ? [one] : [];
}

/**
 * Whether the controller considers a pod at all: not terminal and with an IP.
 * Terminating pods are kept (with `terminating: true`).
 */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  return !isPodTerminal(pod) && podIPs(pod).length > 0;
}

/**
 * Resolve a service port's targetPort on one pod: a number is used as is; a name is
 * looked up in the pod's container ports (then restartable init containers) with
 * the same protocol. Undefined when the name is not found.
 */
export function findPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  const proto = servicePort.protocol ?? "TCP";
  const spec = pod.spec;
  for (const c of spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === proto) return p.containerPort;
  }
  for (const c of spec?.initContainers ?? []) {
    if (c.restartPolicy !== "Always") continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === proto) return p.containerPort;
  }
  return undefined;
}

/**
 * Address types the controller writes for a service: one per `spec.ipFamilies`
 * entry; without families (an object that never went through the API server), the
 * family of the clusterIP, or both IPv4 and IPv6 when it is headless or unset.
 */
export function addressTypesFor(service: Service): AddressType[] {
  const out: AddressType[] = [];
  for (const f of service.spec?.ipFamilies ?? []) {
    if ((f === "IPv4" || f === "IPv6") && !out.includes(f)) out.push(f);
  }
  if (out.length > 0) return out;
  const ip = service.spec?.clusterIP ?? "";
  if (ip !== "" && ip !== "None") return [ip.includes(":") ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"];
}

function endpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const ports = service.spec?.ports ?? [];
  const out: EndpointPort[] = [];
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP" };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function portKey(ports: readonly EndpointPort[]): string {
  return ports
    .map((p) => `${p.name}/${p.protocol}/${p.port}/${p.appProtocol ?? ""}`)
    .sort()
    .join(",");
}

function nodeMap(nodes: EndpointSliceOptions["nodes"]): ReadonlyMap<string, Node> | undefined {
  if (nodes === undefined) return undefined;
  if (nodes instanceof Map) return nodes;
  const m = new Map<string, Node>();
  for (const n of nodes as readonly Node[]) if (n.metadata?.name !== undefined) m.set(n.metadata.name, n);
  return m;
}

/** Whether the controller manages slices for this service: a non-empty selector and not ExternalName. */
export function hasControllerSlices(service: Service): boolean {
  const sel = service.spec?.selector;
  return (
    service.spec?.type !== "ExternalName" &&
    typeof sel === "object" &&
    sel !== null &&
    !Array.isArray(sel) &&
    Object.keys(sel).length > 0
  );
}

function sliceLabels(service: Service): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata?.labels ?? {})) {
    if (k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS) continue;
    labels[k] = v;
  }
  if (service.spec?.clusterIP === "None") labels[LABEL_HEADLESS] = "";
  labels[LABEL_SERVICE_NAME] = service.metadata?.name ?? "";
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER_NAME;
  return labels;
}

function slicePrefix(name: string): string {
  // generateName "<service>-" (a Service name is at most 63 characters, so this is always a valid prefix).
  return `${name}-`;
}

/**
 * The EndpointSlices the real controller writes for `service` (pass it defaulted;
 * `pods` may be every pod: those in other namespaces or not matching the selector
 * are ignored). Per address type and per distinct resolved port set, endpoints are
 * packed into slices of at most `maxEndpointsPerSlice`; with no endpoints, one
 * empty placeholder slice per address type. Each endpoint: the pod's IPs of that
 * family, conditions `serving` = pod Ready, `terminating` = deletionTimestamp set,
 * `ready` = publishNotReadyAddresses || (serving && !terminating); targetRef,
 * nodeName, zone (node label) and hostname (when `spec.hostname` is set and
 * `spec.subdomain` names this service). Terminal pods and pods without IPs are
 * skipped; a named targetPort missing on a pod drops that port for that pod.
 * With `trafficDistribution: PreferClose`, ready endpoints with a zone get the hint
 * `forZones: [their zone]` (the 1.31+ default; topology-mode Auto hints, which need
 * node CPU capacity, are not computed).
 * Services without selector (or ExternalName) get `[]`: their slices are the user's.
 * Endpoints are ordered by pod name (upstream order is unspecified).
 */
export function endpointSlicesFor(
  service: Service,
  pods: Iterable<Pod>,
  options: EndpointSliceOptions = {},
): EndpointSlice[] {
  if (!hasControllerSlices(service)) return [];
  const ns = service.metadata?.namespace ?? "default";
  const svcName = service.metadata?.name ?? "";
  const selector = service.spec?.selector ?? {};
  const max = options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw new RangeError(`maxEndpointsPerSlice must be 1-1000, got ${max}`);
  const nodes = nodeMap(options.nodes);
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const headlessNoPorts = (service.spec?.ports ?? []).length === 0 && service.spec?.clusterIP === "None";
  const suffix = options.nameSuffix ?? defaultSuffix;
  const preferClose = service.spec?.trafficDistribution === "PreferClose";

  const selected: Pod[] = [];
  for (const pod of pods) {
    if ((pod.metadata?.namespace ?? "default") !== ns) continue;
    if (!matchLabelMap(selector, pod.metadata?.labels)) continue;
    if (!shouldPodBeInEndpoints(pod)) continue;
    selected.push(pod);
  }
  selected.sort((a, b) =>
    (a.metadata?.name ?? "") < (b.metadata?.name ?? "")
      ? -1
      : (a.metadata?.name ?? "") > (b.metadata?.name ?? "")
        ? 1
        : 0,
  );

  const slices: EndpointSlice[] = [];
  for (const addressType of addressTypesFor(service)) {
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
    for (const pod of selected) {
      const nodeName = pod.spec?.nodeName;
      let node: Node | undefined;
      if (nodes !== undefined) {
        node = nodeName !== undefined ? nodes.get(nodeName) : undefined;
        if (node === undefined && !publishNotReady) continue;
      }
      const addresses = podIPs(pod).filter((ip) => ip.includes(":") === (addressType === "IPv6"));
      if (addresses.length === 0) continue;
      const ports = headlessNoPorts ? [] : endpointPorts(service, pod);
      const serving = isPodReady(pod);
      const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
      const ready = publishNotReady || (serving && !terminating);
      const ep: SliceEndpoint = {
        addresses,
        conditions: { ready, serving, terminating },
        targetRef: {
          kind: "Pod",
          namespace: ns,
          name: pod.metadata?.name ?? "",
          ...(pod.metadata?.uid !== undefined ? { uid: pod.metadata.uid } : {}),
        },
      };
      if (nodeName !== undefined && nodeName !== "") ep.nodeName = nodeName;
      const zone = node?.metadata?.labels?.[LABEL_TOPOLOGY_ZONE];
      if (zone !== undefined && zone !== "") ep.zone = zone;
      const hostname = pod.spec?.hostname;
      if (hostname !== undefined && hostname !== "" && pod.spec?.subdomain === svcName) ep.hostname = hostname;
      // trafficDistribution: PreferClose -> ready endpoints with a zone hint their own zone.
      if (preferClose && ready && ep.zone !== undefined) ep.hints = { forZones: [{ name: ep.zone }] };
      const key = portKey(ports);
      let g = groups.get(key);
      if (g === undefined) {
        g = { ports, endpoints: [] };
        groups.set(key, g);
      }
      g.endpoints.push(ep);
    }
    let ordinal = 0;
    const make = (ports: EndpointPort[], endpoints: SliceEndpoint[]): EndpointSlice => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${slicePrefix(svcName)}${suffix(service, addressType, ordinal++)}`,
        generateName: slicePrefix(svcName),
        namespace: ns,
        labels: sliceLabels(service),
        ownerReferences: [
          {
            apiVersion: "v1",
            kind: "Service",
            name: svcName,
            uid: service.metadata?.uid ?? "",
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      addressType,
      endpoints,
      ports,
    });
    if (groups.size === 0) {
      slices.push(make([], []));
      continue;
    }
    for (const g of groups.values()) {
      for (let i = 0; i * max < g.endpoints.length; i++) {
        slices.push(make(g.ports, g.endpoints.slice(i * max, (i + 1) * max)));
      }
    }
  }
  return slices;
}
