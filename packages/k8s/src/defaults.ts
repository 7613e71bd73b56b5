/**
 * Defaulting as the API server applies it (pkg/apis/{core,networking,discovery}/v1
 * defaults plus the Service registry's IP-family rules), so engines never
 * re-derive a default. Every function is pure: it returns a new object and is
 * idempotent (`f(f(x))` deep-equals `f(x)`).
 */
import { cloneDecoded } from "./internal/decode.js";
import { type ExtensionObject, isBuiltinKind, kindDefinition } from "./kinds.js";
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  EndpointSlice,
  KubeKind,
  KubeObject,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  Service,
} from "./objects.js";

/** An IP family name as Services spell it. */
export type IPFamily = "IPv4" | "IPv6";

/** Cluster configuration that defaults depend on. */
export interface DefaultingOptions {
  /**
   * The cluster's Service IP families, primary first (kube-apiserver's
   * `--service-cluster-ip-range` order). Default `["IPv4"]`.
   */
  readonly serviceIPFamilies?: readonly IPFamily[];
  /** Namespace given to namespaced objects without one (kubectl's context namespace). Default `default`. */
  readonly namespace?: string;
}

/** Default sticky-session timeout for `sessionAffinity: ClientIP` (3 hours). */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;

/** The label the API server keeps equal to a Namespace's name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** A copy of an object of `kind`, with nulls read as the API server's decoder reads them. */
function clone<T>(v: T, kind: KubeKind): T {
  return cloneDecoded(v, kind);
}

/** The array at `v`, or [] when it is absent or malformed (validation reports the latter). */
function list<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function withNamespace<T extends { metadata?: { namespace?: string } | undefined }>(
  obj: T,
  options: DefaultingOptions,
): void {
  obj.metadata ??= {};
  if (!isObject(obj.metadata)) return;
  if (obj.metadata.namespace === undefined || obj.metadata.namespace === "") {
    obj.metadata.namespace = options.namespace ?? "default";
  }
}

function familyOf(ip: string): IPFamily {
  return ip.includes(":") ? "IPv6" : "IPv4";
}

/**
 * Service defaults: type ClusterIP; sessionAffinity None (ClientIP gets a
 * 10800 s timeout); per port protocol TCP and targetPort = port; external traffic
 * policy Cluster for NodePort/LoadBalancer; internalTrafficPolicy Cluster for
 * non-ExternalName types; allocateLoadBalancerNodePorts true for LoadBalancer;
 * clusterIPs from clusterIP; ipFamilyPolicy and ipFamilies as the registry
 * infers them on create (headless without selector: RequireDualStack and both
 * families, even on a single-stack cluster; otherwise SingleStack, families from
 * the clusterIPs or the cluster's primary family, plus the secondary one for a
 * dual-stack policy on a dual-stack cluster);
 * namespace `default`. No ClusterIP or NodePort is allocated here (that is ipam's
 * job).
 */
export function defaultService(service: Service, options: DefaultingOptions = {}): Service {
  const s = clone(service, "Service");
  s.kind = "Service";
  s.apiVersion = "v1";
  withNamespace(s, options);
  s.spec ??= {};
  const spec = s.spec;
  spec.sessionAffinity ||= "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT_SECONDS } };
  }
  spec.type ||= "ClusterIP";
  for (const p of list(spec.ports)) {
    if (!isObject(p)) continue;
    p.protocol ||= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  const betaEtp = s.metadata?.annotations?.["service.beta.kubernetes.io/external-traffic"] !== undefined;
  if (!betaEtp) {
    if ((spec.type === "NodePort" || spec.type === "LoadBalancer") && !spec.externalTrafficPolicy) {
      spec.externalTrafficPolicy = "Cluster";
    }
    if (
      spec.internalTrafficPolicy === undefined &&
      (spec.type === "ClusterIP" || spec.type === "NodePort" || spec.type === "LoadBalancer")
    ) {
      spec.internalTrafficPolicy = "Cluster";
    }
  }
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === undefined) {
    spec.allocateLoadBalancerNodePorts = true;
  }
  if (spec.type === "ExternalName") return s;

  // clusterIPs mirrors clusterIP (the API server fills one from the other).
  const firstIP = list(spec.clusterIPs)[0];
  if (typeof spec.clusterIP === "string" && spec.clusterIP !== "" && list(spec.clusterIPs).length === 0) {
    spec.clusterIPs = [spec.clusterIP];
  } else if (!spec.clusterIP && typeof firstIP === "string" && firstIP !== "") {
    spec.clusterIP = firstIP;
  }
  const clusterFamilies = options.serviceIPFamilies ?? ["IPv4"];
  const primary = clusterFamilies[0] ?? "IPv4";
  const families = list(spec.ipFamilies);
  const ips = list(spec.clusterIPs);
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i];
    if (ip === "None" || typeof ip !== "string") break;
    if (i >= families.length) families.push(familyOf(ip));
  }
  const headless = spec.clusterIP === "None";
  const selectorless = !isObject(spec.selector) || Object.keys(spec.selector).length === 0;
  // Create-time inference (registry allocator): headless + selectorless is dual-stack,
  // everything else SingleStack unless the user asked otherwise.
  spec.ipFamilyPolicy ??= headless && selectorless ? "RequireDualStack" : "SingleStack";
  if (headless && selectorless) {
    if (families.length === 0) families.push(primary);
    // Allowed even on a single-stack cluster: the endpoints may be of either family.
    if (families.length < 2 && spec.ipFamilyPolicy !== "SingleStack")
      families.push(families[0] === "IPv6" ? "IPv4" : "IPv6");
    spec.ipFamilies = families;
    return s;
  }
  if (families.length === 0) families.push(primary);
  if (spec.ipFamilyPolicy !== "SingleStack" && families.length === 1 && clusterFamilies.length === 2) {
    families.push(families[0] === "IPv6" ? "IPv4" : "IPv6");
  }
  spec.ipFamilies = families;
  return s;
}

/**
 * Pod defaults that networking reads: namespace, `dnsPolicy: ClusterFirst`,
 * `restartPolicy: Always`, `enableServiceLinks: true`,
 * `terminationGracePeriodSeconds: 30`, `schedulerName: default-scheduler`,
 * container port protocol TCP, hostPort = containerPort for hostNetwork pods, and
 * `status.podIP`/`status.podIPs[0]` filled from each other.
 */
export function defaultPod(pod: Pod, options: DefaultingOptions = {}): Pod {
  const p = clone(pod, "Pod");
  p.kind = "Pod";
  p.apiVersion = "v1";
  withNamespace(p, options);
  p.spec ??= { containers: [] };
  const spec = p.spec;
  spec.containers ??= [];
  spec.dnsPolicy ||= "ClusterFirst";
  spec.restartPolicy ||= "Always";
  spec.enableServiceLinks ??= true;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ||= "default-scheduler";
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    if (!isObject(c)) continue;
    for (const port of list(c.ports)) {
      if (!isObject(port)) continue;
      port.protocol ||= "TCP";
      if (spec.hostNetwork === true && (port.hostPort === undefined || port.hostPort === 0)) {
        port.hostPort = port.containerPort;
      }
    }
  }
  // The v1 -> internal conversion keeps podIP and podIPs[0] in step.
  const status = p.status;
  if (isObject(status)) {
    const ips = list(status.podIPs as unknown[] | undefined);
    if (typeof status.podIP === "string" && status.podIP !== "" && ips.length === 0)
      status.podIPs = [{ ip: status.podIP }];
    else if ((status.podIP === undefined || status.podIP === "") && isObject(ips[0]) && typeof ips[0].ip === "string") {
      status.podIP = ips[0].ip;
    }
  }
  return p;
}

/** Namespace defaults: the `kubernetes.io/metadata.name` label (kept equal to the name) and `spec.finalizers: [kubernetes]`. */
export function defaultNamespace(namespace: Namespace): Namespace {
  const n = clone(namespace, "Namespace");
  n.kind = "Namespace";
  n.apiVersion = "v1";
  n.metadata ??= {};
  const labels = n.metadata.labels;
  // A label map of the wrong type is left for validation to report.
  if (n.metadata.name !== undefined && (labels === undefined || isObject(labels))) {
    n.metadata.labels = { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: n.metadata.name };
  }
  n.spec ??= {};
  n.spec.finalizers ??= ["kubernetes"];
  return n;
}

/** Node defaults: none that networking reads; returns a copy with kind/apiVersion set. */
export function defaultNode(node: Node): Node {
  const n = clone(node, "Node");
  n.kind = "Node";
  n.apiVersion = "v1";
  return n;
}

/**
 * NetworkPolicy defaults: namespace; `podSelector: {}` when absent; every port's
 * protocol TCP; empty lists normalised to absent (the API server's omitempty
 * round-trip, so `from: []` reads as "all sources" downstream); `policyTypes`
 * (only when absent or empty) = `[Ingress]`, plus `Egress` when egress rules exist.
 */
export function defaultNetworkPolicy(policy: NetworkPolicy, options: DefaultingOptions = {}): NetworkPolicy {
  const np = clone(policy, "NetworkPolicy");
  np.kind = "NetworkPolicy";
  np.apiVersion = "networking.k8s.io/v1";
  withNamespace(np, options);
  np.spec ??= { podSelector: {} };
  const spec = np.spec;
  spec.podSelector ??= {};
  const fixPorts = (rule: { ports?: unknown }): void => {
    if (Array.isArray(rule.ports) && rule.ports.length === 0) delete rule.ports;
    for (const port of list(rule.ports as { protocol?: string }[] | undefined))
      if (isObject(port)) port.protocol ||= "TCP";
  };
  if (Array.isArray(spec.ingress) && spec.ingress.length === 0) delete spec.ingress;
  if (Array.isArray(spec.egress) && spec.egress.length === 0) delete spec.egress;
  for (const r of list(spec.ingress)) {
    if (!isObject(r)) continue;
    fixPorts(r);
    if (Array.isArray(r.from) && r.from.length === 0) delete r.from;
  }
  for (const r of list(spec.egress)) {
    if (!isObject(r)) continue;
    fixPorts(r);
    if (Array.isArray(r.to) && r.to.length === 0) delete r.to;
  }
  if (
    spec.policyTypes === undefined ||
    spec.policyTypes === null ||
    (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)
  ) {
    spec.policyTypes = spec.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"];
  }
  return np;
}

/** EndpointSlice defaults: namespace; every port's protocol TCP and name `""`. */
export function defaultEndpointSlice(slice: EndpointSlice, options: DefaultingOptions = {}): EndpointSlice {
  const s = clone(slice, "EndpointSlice");
  s.kind = "EndpointSlice";
  s.apiVersion = "discovery.k8s.io/v1";
  withNamespace(s, options);
  s.endpoints ??= [];
  for (const p of list(s.ports)) {
    if (!isObject(p)) continue;
    p.protocol ||= "TCP";
    p.name ??= "";
  }
  return s;
}

function defaultAnpPorts(
  rules: readonly { ports?: { portNumber?: { protocol?: string }; portRange?: { protocol?: string } }[] }[] | undefined,
): void {
  for (const r of list(
    rules as { ports?: { portNumber?: { protocol?: string }; portRange?: { protocol?: string } }[] }[] | undefined,
  )) {
    if (!isObject(r)) continue;
    for (const p of list(r.ports)) {
      if (!isObject(p)) continue;
      if (isObject(p.portNumber)) p.portNumber.protocol ||= "TCP";
      if (isObject(p.portRange)) p.portRange.protocol ||= "TCP";
    }
  }
}

/** AdminNetworkPolicy defaults: protocol TCP in `portNumber` and `portRange`. */
export function defaultAdminNetworkPolicy(policy: AdminNetworkPolicy): AdminNetworkPolicy {
  const p = clone(policy, "AdminNetworkPolicy");
  p.kind = "AdminNetworkPolicy";
  p.apiVersion = "policy.networking.k8s.io/v1alpha1";
  defaultAnpPorts(p.spec?.ingress);
  defaultAnpPorts(p.spec?.egress);
  return p;
}

/** BaselineAdminNetworkPolicy defaults: protocol TCP in `portNumber` and `portRange`. */
export function defaultBaselineAdminNetworkPolicy(policy: BaselineAdminNetworkPolicy): BaselineAdminNetworkPolicy {
  const p = clone(policy, "BaselineAdminNetworkPolicy");
  p.kind = "BaselineAdminNetworkPolicy";
  p.apiVersion = "policy.networking.k8s.io/v1alpha1";
  defaultAnpPorts(p.spec?.ingress);
  defaultAnpPorts(p.spec?.egress);
  return p;
}

/**
 * Apply the defaults of the object's kind (see the per-kind functions); objects
 * of kinds other packages registered get their definition's `defaults`.
 */
export function defaultObject<T extends KubeObject | ExtensionObject>(obj: T, options: DefaultingOptions = {}): T {
  if (!isBuiltinKind(obj.kind)) {
    const hook = kindDefinition(obj.kind)?.defaults;
    return hook !== undefined ? (hook(obj as ExtensionObject, options) as T) : obj;
  }
  const o = obj as KubeObject;
  switch (o.kind) {
    case "Service":
      return defaultService(o, options) as T;
    case "Pod":
      return defaultPod(o, options) as T;
    case "Node":
      return defaultNode(o) as T;
    case "Namespace":
      return defaultNamespace(o) as T;
    case "EndpointSlice":
      return defaultEndpointSlice(o, options) as T;
    case "NetworkPolicy":
      return defaultNetworkPolicy(o, options) as T;
    case "AdminNetworkPolicy":
      return defaultAdminNetworkPolicy(o) as T;
    case "BaselineAdminNetworkPolicy":
      return defaultBaselineAdminNetworkPolicy(o) as T;
  }
  return obj;
}
