import {
  addressTypesFor,
  defaultService,
  type EndpointSlice,
  endpointSlicesFor,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  type Node,
  type Pod,
  type Service,
  validateEndpointSlice,
} from "@knet/k8s";
import { describe, expect, it } from "vitest";

const svc = (spec: NonNullable<Service["spec"]>, name = "api"): Service =>
  defaultService({ metadata: { name, namespace: "shop", uid: "u1", labels: { team: "a" } }, spec });

function pod(
  name: string,
  opts: {
    ip?: string | string[];
    ready?: boolean;
    node?: string;
    labels?: Record<string, string>;
    phase?: string;
    deleting?: boolean;
    ns?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
    hostname?: string;
    subdomain?: string;
  } = {},
): Pod {
  const ips = opts.ip === undefined ? ["10.244.1.5"] : Array.isArray(opts.ip) ? opts.ip : [opts.ip];
  return {
    metadata: {
      name,
      namespace: opts.ns ?? "shop",
      labels: opts.labels ?? { app: "api" },
      ...(opts.deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
    },
    spec: {
      ...(opts.node !== undefined ? { nodeName: opts.node } : {}),
      ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
      ...(opts.subdomain !== undefined ? { subdomain: opts.subdomain } : {}),
      containers: [{ name: "c", ports: opts.ports ?? [{ name: "http", containerPort: 8080, protocol: "TCP" }] }],
    },
    status: {
      phase: opts.phase ?? "Running",
      podIPs: ips.map((ip) => ({ ip })),
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  };
}

const nodes: Node[] = [
  { metadata: { name: "node-a", labels: { "topology.kubernetes.io/zone": "z1" } } },
  { metadata: { name: "node-b" } },
];

describe("endpointSlicesFor", () => {
  const api = svc({ selector: { app: "api" }, ports: [{ name: "http", port: 80, targetPort: "http" }] });

  it("writes one slice with labels, owner, ports resolved by name and conditions", () => {
    const [s, ...rest] = endpointSlicesFor(
      api,
      [pod("api-1", { node: "node-a" }), pod("api-0", { ip: "10.244.2.7", node: "node-b", ready: false })],
      { nodes },
    );
    expect(rest).toEqual([]);
    expect(s?.addressType).toBe("IPv4");
    expect(s?.metadata?.labels).toEqual({
      team: "a",
      [LABEL_SERVICE_NAME]: "api",
      [LABEL_MANAGED_BY]: "endpointslice-controller.k8s.io",
    });
    expect(s?.metadata?.name).toMatch(/^api-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Service",
      name: "api",
      uid: "u1",
      controller: true,
    });
    expect(s?.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    expect(s?.endpoints.map((e) => [e.targetRef?.name, e.addresses, e.conditions, e.nodeName, e.zone])).toEqual([
      ["api-0", ["10.244.2.7"], { ready: false, serving: false, terminating: false }, "node-b", undefined],
      ["api-1", ["10.244.1.5"], { ready: true, serving: true, terminating: false }, "node-a", "z1"],
    ]);
    expect(validateEndpointSlice(s as EndpointSlice)).toEqual([]);
  });

  it("marks terminating pods, honours publishNotReadyAddresses, skips terminal and IP-less pods", () => {
    const pods = [
      pod("t", { deleting: true }),
      pod("done", { phase: "Succeeded" }),
      pod("noip", { ip: [] }),
      pod("other-ns", { ns: "kube-system" }),
      pod("other-labels", { labels: { app: "web" } }),
    ];
    const [s] = endpointSlicesFor(api, pods);
    expect(s?.endpoints.map((e) => [e.targetRef?.name, e.conditions])).toEqual([
      ["t", { ready: false, serving: true, terminating: true }],
    ]);
    const pub = svc({ selector: { app: "api" }, publishNotReadyAddresses: true, ports: [{ port: 80 }] });
    const [p] = endpointSlicesFor(pub, [pod("t", { deleting: true, ready: false })]);
    expect(p?.endpoints[0]?.conditions).toEqual({ ready: true, serving: false, terminating: true });
  });

  it("leaves out pods on unknown nodes unless publishing not-ready addresses", () => {
    const [s] = endpointSlicesFor(api, [pod("x", { node: "ghost" })], { nodes });
    expect(s?.endpoints).toEqual([]);
  });

  it("groups pods by resolved port, and drops a port a pod does not expose", () => {
    const pods = [
      pod("a", { ports: [{ name: "http", containerPort: 8080 }] }),
      pod("b", { ports: [{ name: "http", containerPort: 9090 }] }),
      pod("c", { ports: [{ name: "http", containerPort: 8080, protocol: "UDP" }] }),
    ];
    const slices = endpointSlicesFor(api, pods);
    expect(slices.map((s) => [s.ports?.map((p) => p.port), s.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [[8080], ["a"]],
      [[9090], ["b"]],
      [[], ["c"]],
    ]);
    expect(new Set(slices.map((s) => s.metadata?.name)).size).toBe(3);
  });

  it("packs at most 100 endpoints per slice (configurable)", () => {
    const pods = Array.from({ length: 250 }, (_, i) =>
      pod(`p${String(i).padStart(3, "0")}`, { ip: `10.244.${i >> 8}.${i & 255}` }),
    );
    expect(endpointSlicesFor(api, pods).map((s) => s.endpoints.length)).toEqual([100, 100, 50]);
    expect(endpointSlicesFor(api, pods, { maxEndpointsPerSlice: 1000 }).map((s) => s.endpoints.length)).toEqual([250]);
  });

  it("writes one slice family per IP family and an empty placeholder when there are no endpoints", () => {
    const ds = defaultService(
      {
        metadata: { name: "ds", namespace: "shop" },
        spec: { selector: { app: "api" }, ipFamilyPolicy: "PreferDualStack", ports: [{ port: 80 }] },
      },
      { serviceIPFamilies: ["IPv4", "IPv6"] },
    );
    const slices = endpointSlicesFor(ds, [pod("a", { ip: ["10.244.1.5", "fd00:10:244::5"] })]);
    expect(slices.map((s) => [s.addressType, s.endpoints[0]?.addresses])).toEqual([
      ["IPv4", ["10.244.1.5"]],
      ["IPv6", ["fd00:10:244::5"]],
    ]);
    const empty = endpointSlicesFor(api, []);
    expect(empty).toHaveLength(1);
    expect(empty[0]?.endpoints).toEqual([]);
    expect(empty[0]?.ports).toEqual([]);
  });

  it("sets hostname only for pods whose subdomain names the service, and the headless label", () => {
    const db = svc({ clusterIP: "None", selector: { app: "db" } }, "db");
    const [s] = endpointSlicesFor(db, [
      pod("db-0", { labels: { app: "db" }, hostname: "db-0", subdomain: "db" }),
      pod("db-x", { labels: { app: "db" }, hostname: "db-x", subdomain: "other", ip: "10.244.1.9" }),
    ]);
    expect(s?.metadata?.labels?.["service.kubernetes.io/headless"]).toBe("");
    expect(s?.ports).toEqual([]); // headless without ports
    expect(s?.endpoints.map((e) => e.hostname)).toEqual(["db-0", undefined]);
  });

  it("adds same-zone hints to ready endpoints for trafficDistribution PreferClose", () => {
    const close = svc({ selector: { app: "api" }, trafficDistribution: "PreferClose", ports: [{ port: 80 }] });
    const [s] = endpointSlicesFor(
      close,
      [
        pod("a", { node: "node-a" }),
        pod("b", { node: "node-b", ip: "10.244.2.2" }),
        pod("c", { node: "node-a", ready: false, ip: "10.244.1.9" }),
      ],
      { nodes },
    );
    expect(s?.endpoints.map((e) => [e.targetRef?.name, e.hints?.forZones?.map((z) => z.name)])).toEqual([
      ["a", ["z1"]],
      ["b", undefined], // node-b has no zone label
      ["c", undefined], // not ready
    ]);
    expect(endpointSlicesFor(api, [pod("a", { node: "node-a" })], { nodes })[0]?.endpoints[0]?.hints).toBeUndefined();
  });

  it("picks address types from ipFamilies, else from the clusterIP, else both", () => {
    expect(addressTypesFor({ spec: { ipFamilies: ["IPv6", "IPv4"] } })).toEqual(["IPv6", "IPv4"]);
    expect(addressTypesFor({ spec: { clusterIP: "fd00::1" } })).toEqual(["IPv6"]);
    expect(addressTypesFor({ spec: { clusterIP: "None" } })).toEqual(["IPv4", "IPv6"]);
  });

  it("writes nothing for selector-less and ExternalName services", () => {
    expect(endpointSlicesFor(svc({ ports: [{ port: 80 }] }), [pod("a")])).toEqual([]);
    expect(
      endpointSlicesFor(svc({ type: "ExternalName", externalName: "x.y", selector: { app: "api" } }), [pod("a")]),
    ).toEqual([]);
  });
});
