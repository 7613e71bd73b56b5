import type { EndpointSlice, Service } from "@knet/k8s";

/** Options of {@link service}. */
export interface ServiceFixture {
  readonly ns?: string;
  readonly name: string;
  readonly clusterIP: string | readonly string[];
  readonly ports?: readonly { name?: string; port: number; protocol?: string; nodePort?: number }[];
  readonly type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  readonly externalIPs?: readonly string[];
  readonly lbIngress?: readonly string[];
  readonly sourceRanges?: readonly string[];
  readonly eTP?: "Local" | "Cluster";
  readonly iTP?: "Local" | "Cluster";
  readonly healthCheckNodePort?: number;
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
  readonly ip: string;
  readonly node?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
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
      labels: { "kubernetes.io/service-name": svcName },
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
