/** Small builders of Services and EndpointSlices for engine tests (part of `@knet/kube-proxy/contract`). */
import { type EndpointSlice, LABEL_SERVICE_NAME, type Service } from "@knet/k8s";

/** Options of {@link service}. */
export interface ServiceFixture {
  /** Namespace (default ns1). */
  readonly ns?: string;
  /** Name. */
  readonly name: string;
  /** `spec.clusterIP(s)`: one address, or one per family. */
  readonly clusterIP: string | readonly string[];
  /** Ports (default one `p80` 80/TCP). */
  readonly ports?: readonly { name?: string; port: number; protocol?: string; nodePort?: number }[];
  /** `spec.type` (default ClusterIP). */
  readonly type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  /** `spec.externalIPs`. */
  readonly externalIPs?: readonly string[];
  /** `status.loadBalancer.ingress` IPs. */
  readonly lbIngress?: readonly string[];
  /** `spec.loadBalancerSourceRanges`. */
  readonly sourceRanges?: readonly string[];
  /** `spec.externalTrafficPolicy`. */
  readonly eTP?: "Local" | "Cluster";
  /** `spec.internalTrafficPolicy`. */
  readonly iTP?: "Local" | "Cluster";
  /** `spec.healthCheckNodePort`. */
  readonly healthCheckNodePort?: number;
  /** ClientIP session affinity with this timeout. */
  readonly affinitySeconds?: number;
}

/** A Service object for tests (defaults: namespace ns1, one port p80 80/TCP). */
export function service(f: ServiceFixture): Service {
  const ips = typeof f.clusterIP === "string" ? [f.clusterIP] : [...f.clusterIP];
  const spec: NonNullable<Service["spec"]> = {
    type: f.type ?? "ClusterIP",
    clusterIP: ips[0] ?? "",
    clusterIPs: ips,
    ports: (f.ports ?? [{ name: "p80", port: 80 }]).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? "TCP",
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    })),
  };
  if (ips[0] !== "None" && ips[0] !== "") spec.ipFamilies = ips.map((ip) => (ip.includes(":") ? "IPv6" : "IPv4"));
  if (f.externalIPs) spec.externalIPs = [...f.externalIPs];
  if (f.sourceRanges) spec.loadBalancerSourceRanges = [...f.sourceRanges];
  if (f.eTP) spec.externalTrafficPolicy = f.eTP;
  if (f.iTP) spec.internalTrafficPolicy = f.iTP;
  if (f.healthCheckNodePort !== undefined) spec.healthCheckNodePort = f.healthCheckNodePort;
  if (f.affinitySeconds !== undefined) {
    spec.sessionAffinity = "ClientIP";
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: f.affinitySeconds } };
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: f.ns ?? "ns1", name: f.name },
    spec,
    ...(f.lbIngress ? { status: { loadBalancer: { ingress: f.lbIngress.map((ip) => ({ ip })) } } } : {}),
  };
}

/** One endpoint of {@link slice}. */
export interface EndpointFixture {
  /** Address. */
  readonly ip: string;
  /** `nodeName`. */
  readonly node?: string;
  /** `conditions.ready` (default true). */
  readonly ready?: boolean;
  /** `conditions.serving`. */
  readonly serving?: boolean;
  /** `conditions.terminating`. */
  readonly terminating?: boolean;
  /** Zone hints. */
  readonly zones?: readonly string[];
}

/** An EndpointSlice for a service (defaults: namespace ns1, one port p80 80/TCP). */
export function slice(
  svcName: string,
  endpoints: readonly (string | EndpointFixture)[],
  options: {
    ns?: string;
    name?: string;
    ports?: readonly { name?: string; port: number; protocol?: string }[];
    family?: 4 | 6;
  } = {},
): EndpointSlice {
  const eps = endpoints.map((e) => (typeof e === "string" ? { ip: e } : e));
  const family = options.family ?? ((eps[0]?.ip ?? "").includes(":") ? 6 : 4);
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      namespace: options.ns ?? "ns1",
      name: options.name ?? `${svcName}-${family === 6 ? "v6" : "v4"}`,
      labels: { [LABEL_SERVICE_NAME]: svcName },
    },
    addressType: family === 6 ? "IPv6" : "IPv4",
    ports: (options.ports ?? [{ name: "p80", port: 80 }]).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? "TCP",
    })),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.zones ? { hints: { forZones: e.zones.map((name) => ({ name })) } } : {}),
    })),
  };
}
