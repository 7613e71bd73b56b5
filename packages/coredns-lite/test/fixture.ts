/** The reference table's fixture (modelled on CoreDNS's handler tests), as plain objects. */
import type { EndpointSlice, Namespace, Pod, Service } from "@knet/k8s";

type Obj =
  | (Service & { kind: "Service" })
  | (EndpointSlice & { kind: "EndpointSlice" })
  | (Pod & { kind: "Pod" })
  | (Namespace & { kind: "Namespace" });

function svc(name: string, spec: NonNullable<Service["spec"]>, namespace = "testns"): Obj {
  return { kind: "Service", apiVersion: "v1", metadata: { name, namespace }, spec };
}

function slice(
  service: string,
  name: string,
  addressType: "IPv4" | "IPv6",
  endpoints: EndpointSlice["endpoints"],
  ports: EndpointSlice["ports"] = [{ name: "http", protocol: "TCP", port: 80 }],
  namespace = "testns",
): Obj {
  return {
    kind: "EndpointSlice",
    apiVersion: "discovery.k8s.io/v1",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": service } },
    addressType,
    endpoints,
    ports,
  };
}

const http = [{ name: "http", protocol: "TCP", port: 80 }];

/** Every object of the fixture. */
export function fixtureObjects(): Obj[] {
  return [
    { kind: "Namespace", apiVersion: "v1", metadata: { name: "testns" } },
    { kind: "Namespace", apiVersion: "v1", metadata: { name: "kube-system" } },
    svc("svc1", { type: "ClusterIP", clusterIP: "10.0.0.1", clusterIPs: ["10.0.0.1"], ports: http }),
    slice("svc1", "svc1-abc", "IPv4", [{ addresses: ["172.0.0.1"], hostname: "ep1a", conditions: { ready: true } }]),
    svc("svcempty", { type: "ClusterIP", clusterIP: "10.0.0.2", ports: http }),
    slice("svcempty", "svcempty-abc", "IPv4", [{ addresses: ["172.0.0.99"], conditions: { ready: false } }]),
    svc("svc6", { type: "ClusterIP", clusterIP: "1234:abcd::1", clusterIPs: ["1234:abcd::1"], ports: http }),
    svc("svc-dual", { type: "ClusterIP", clusterIP: "10.0.0.3", clusterIPs: ["10.0.0.3", "10::3"], ports: http }),
    svc("hdls1", { type: "ClusterIP", clusterIP: "None", clusterIPs: ["None"], ports: http }),
    slice("hdls1", "hdls1-v4", "IPv4", [
      { addresses: ["172.0.0.2"], conditions: { ready: true } },
      { addresses: ["172.0.0.3"], conditions: { ready: true } },
      { addresses: ["172.0.0.4"], hostname: "dup-name", conditions: { ready: true } },
      { addresses: ["172.0.0.5"], hostname: "dup-name", conditions: { ready: true } },
      { addresses: ["172.0.0.6"], conditions: { ready: false } },
    ]),
    slice("hdls1", "hdls1-v6", "IPv6", [
      { addresses: ["5678:abcd::1"], conditions: { ready: true } },
      { addresses: ["5678:abcd::2"], conditions: {} },
    ]),
    svc("hdlsnone", { type: "ClusterIP", clusterIP: "None", ports: http }),
    slice("hdlsnone", "hdlsnone-abc", "IPv4", [{ addresses: ["172.0.0.7"], conditions: { ready: false } }]),
    svc("ext", { type: "ExternalName", externalName: "ext.example.test", ports: http }),
    svc("ext2svc", { type: "ExternalName", externalName: "svc1.testns.svc.cluster.local" }),
    svc(
      "kube-dns",
      { type: "ClusterIP", clusterIP: "10.0.0.10", ports: [{ name: "dns", protocol: "UDP", port: 53 }] },
      "kube-system",
    ),
    slice(
      "kube-dns",
      "kube-dns-abc",
      "IPv4",
      [{ addresses: ["172.0.0.53"], conditions: { ready: true } }],
      [{ name: "dns", protocol: "UDP", port: 53 }],
      "kube-system",
    ),
    {
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "pod-a", namespace: "testns" },
      spec: { containers: [] },
      status: { podIP: "10.240.0.1", podIPs: [{ ip: "10.240.0.1" }] },
    },
  ];
}

/** A headless service with `n` ready endpoints, for truncation tests. */
export function bigHeadless(n: number): Obj[] {
  const endpoints: EndpointSlice["endpoints"] = [];
  for (let i = 0; i < n; i++)
    endpoints.push({ addresses: [`172.1.${i >> 8}.${i & 255}`], conditions: { ready: true } });
  return [
    svc("big", { type: "ClusterIP", clusterIP: "None", ports: http }),
    slice("big", "big-abc", "IPv4", endpoints),
  ];
}
