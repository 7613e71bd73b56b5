import {
  assertValid,
  defaultNetworkPolicy,
  defaultService,
  formatProblem,
  ManifestError,
  type ManifestProblem,
  type NetworkPolicy,
  type Service,
  validateAdminNetworkPolicy,
  validateBaselineAdminNetworkPolicy,
  validateEndpointSlice,
  validateManifests,
  validateNetworkPolicy,
  validatePod,
  validateService,
} from "@knet/k8s";
import { describe, expect, it } from "vitest";

const fields = (ps: readonly ManifestProblem[]): string[] => ps.map((p) => p.field);
const svc = (spec: NonNullable<Service["spec"]>, name = "web"): ManifestProblem[] =>
  validateService(defaultService({ metadata: { name, namespace: "shop" }, spec }));

describe("validateService", () => {
  it("accepts a plain ClusterIP service", () => {
    expect(svc({ selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] })).toEqual([]);
  });

  it("reports every problem at once with field paths", () => {
    const ps = svc(
      {
        type: "ClusterIP",
        ports: [
          { name: "Web", port: 0, targetPort: "http--x", protocol: "ICMP" },
          { port: 70000, nodePort: 30080 },
        ],
      },
      "9web",
    );
    expect(fields(ps)).toEqual(
      expect.arrayContaining([
        "metadata.name",
        "spec.ports[0].name",
        "spec.ports[0].port",
        "spec.ports[0].protocol",
        "spec.ports[0].targetPort",
        "spec.ports[1].name",
        "spec.ports[1].port",
        "spec.ports[1].nodePort",
      ]),
    );
    const port0 = ps.find((p) => p.field === "spec.ports[0].port");
    expect(port0?.message).toBe("Invalid value: 0: must be between 1 and 65535, inclusive");
    const proto = ps.find((p) => p.field === "spec.ports[0].protocol");
    expect(proto?.message).toBe('Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"');
    expect(formatProblem(port0 as ManifestProblem)).toBe(
      "Service shop/9web: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    );
  });

  it("checks nodePort against the configured range", () => {
    const s = defaultService({
      metadata: { name: "web" },
      spec: { type: "NodePort", ports: [{ port: 80, nodePort: 8080 }] },
    });
    expect(fields(validateService(s))).toEqual(["spec.ports[0].nodePort"]);
    expect(validateService(s, { nodePortRange: "8000-9000" })).toEqual([]);
    expect(validateService(s, { nodePortRange: { min: 30000, max: 32767 } })[0]?.message).toMatch(/30000-32767/);
  });

  it("distinguishes headless None from IPs, and ExternalName rules", () => {
    expect(svc({ clusterIP: "None", selector: { app: "db" } })).toEqual([]); // no ports needed when headless
    expect(fields(svc({ type: "NodePort", clusterIP: "None", ports: [{ port: 80 }] }))).toContain("spec.clusterIPs[0]");
    expect(fields(svc({ clusterIP: "10.96.0.300", ports: [{ port: 80 }] }))).toEqual(["spec.clusterIPs[0]"]);
    expect(fields(svc({ clusterIP: "10.97.0.1", ports: [{ port: 80 }] }))).toEqual([]);
    expect(
      validateService(
        defaultService({ metadata: { name: "a" }, spec: { clusterIP: "10.97.0.1", ports: [{ port: 80 }] } }),
        {
          serviceClusterIPRanges: ["10.96.0.0/16"],
        },
      )[0]?.message,
    ).toMatch(/not in the valid range.*10\.96\.0\.0\/16/);
    expect(svc({ type: "ExternalName", externalName: "pay.example.com." })).toEqual([]);
    expect(fields(svc({ type: "ExternalName", externalName: "Not_A_Host" }))).toEqual(["spec.externalName"]);
    expect(fields(svc({ type: "ExternalName" }))).toEqual(["spec.externalName"]);
    expect(fields(svc({ type: "ExternalName", externalName: "a.b", clusterIP: "10.96.0.1" }))).toContain(
      "spec.clusterIP",
    );
    expect(fields(svc({ ports: [] }))).toEqual(["spec.ports"]);
  });

  it("checks IP families against the cluster's service ranges when they are given", () => {
    const ds = defaultService({
      metadata: { name: "ds" },
      spec: { ipFamilyPolicy: "RequireDualStack", ports: [{ port: 80 }] },
    });
    expect(validateService(ds)).toEqual([]);
    const single = { serviceClusterIPRanges: ["10.96.0.0/12"] };
    expect(fields(validateService(ds, single))).toEqual(["spec.ipFamilyPolicy"]);
    expect(validateService(ds, { serviceClusterIPRanges: ["10.96.0.0/12", "fd00:10:96::/112"] })).toEqual([]);
    const v6 = defaultService({ metadata: { name: "v6" }, spec: { ipFamilies: ["IPv6"], ports: [{ port: 80 }] } });
    expect(validateService(v6, single)[0]?.message).toBe('Invalid value: "IPv6": not configured on this cluster');
    // Headless selector-less services may carry both families on any cluster.
    expect(validateService(defaultService({ metadata: { name: "h" }, spec: { clusterIP: "None" } }), single)).toEqual(
      [],
    );
  });

  it("rejects externalTrafficPolicy on a plain ClusterIP service and bad affinity timeouts", () => {
    expect(fields(svc({ ports: [{ port: 80 }], externalTrafficPolicy: "Local" }))).toEqual([
      "spec.externalTrafficPolicy",
    ]);
    expect(
      fields(
        svc({
          ports: [{ port: 80 }],
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 90000 } },
        }),
      ),
    ).toEqual(["spec.sessionAffinityConfig.clientIP.timeoutSeconds"]);
  });

  it("reports wrong JSON types instead of throwing", () => {
    const bad = { metadata: { name: "x" }, spec: { ports: { port: 80 } } } as unknown as Service;
    const ps = validateService(defaultService(bad));
    expect(ps.map((p) => [p.field, p.code])).toContainEqual(["spec.ports", "shape"]);
  });
});

describe("validateNetworkPolicy", () => {
  const np = (spec: NetworkPolicy["spec"]): ManifestProblem[] =>
    validateNetworkPolicy(
      defaultNetworkPolicy({ metadata: { name: "p", namespace: "shop" }, ...(spec ? { spec } : {}) }),
    );

  it("accepts ipBlock with an except strictly inside the cidr", () => {
    expect(
      np({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "172.17.0.0/16", except: ["172.17.1.0/24"] } }] }] }),
    ).toEqual([]);
  });

  it("rejects excepts that equal, exceed or miss the cidr, and ipBlock combined with selectors", () => {
    const ps = np({
      podSelector: {},
      ingress: [
        {
          from: [
            { ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.0/16", "10.0.0.0/8", "192.168.0.0/24", "fd00::/64"] } },
            { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} },
            {},
          ],
        },
      ],
    });
    expect(fields(ps)).toEqual([
      "spec.ingress[0].from[0].ipBlock.except[0]",
      "spec.ingress[0].from[0].ipBlock.except[1]",
      "spec.ingress[0].from[0].ipBlock.except[2]",
      "spec.ingress[0].from[0].ipBlock.except[3]",
      "spec.ingress[0].from[1]",
      "spec.ingress[0].from[2]",
    ]);
    expect(ps[0]?.message).toBe('Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`');
  });

  it("checks endPort, named ports, protocols, selector operators and policyTypes", () => {
    const ps = np({
      podSelector: {
        matchExpressions: [
          { key: "app", operator: "Equals", values: ["a"] },
          { key: "b", operator: "Exists", values: ["x"] },
        ],
      },
      policyTypes: ["Ingress", "Sideways"],
      egress: [
        {
          ports: [
            { port: 8080, endPort: 8000 },
            { port: "http", endPort: 9000 },
            { endPort: 10 },
            { port: "this-name-is-too-long", protocol: "ICMP" },
          ],
        },
      ],
    });
    expect(fields(ps)).toEqual([
      "spec.podSelector.matchExpressions[0].operator",
      "spec.podSelector.matchExpressions[1].values",
      "spec.egress[0].ports[0].endPort",
      "spec.egress[0].ports[1].endPort",
      "spec.egress[0].ports[2].endPort",
      "spec.egress[0].ports[3].protocol",
      "spec.egress[0].ports[3].port",
      "spec.policyTypes[1]",
    ]);
  });
});

describe("other kinds", () => {
  it("validates pod port names as IANA service names and unique", () => {
    const ps = validatePod({
      metadata: { name: "p" },
      spec: {
        containers: [
          {
            name: "c",
            ports: [
              { name: "http", containerPort: 80 },
              { name: "http", containerPort: 81 },
              { name: "9", containerPort: 0 },
            ],
          },
        ],
      },
    });
    expect(fields(ps)).toEqual([
      "spec.containers[0].ports[1].name",
      "spec.containers[0].ports[2].name",
      "spec.containers[0].ports[2].containerPort",
    ]);
  });

  it("validates EndpointSlice address types", () => {
    const ps = validateEndpointSlice({
      metadata: { name: "s", namespace: "a" },
      addressType: "IPv4",
      endpoints: [{ addresses: ["fd00::1"] }, { addresses: [] }],
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    });
    expect(fields(ps)).toEqual(["endpoints[0].addresses[0]", "endpoints[1].addresses"]);
  });

  it("validates Admin and Baseline policies", () => {
    const ps = validateAdminNetworkPolicy({
      metadata: { name: "a" },
      spec: {
        priority: 1001,
        subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } },
        egress: [
          { action: "Allow", to: [{ networks: ["10.0.0.0/8"] }], ports: [{ namedPort: "http" }] },
          { action: "Pass", to: [] },
        ],
      },
    });
    expect(fields(ps)).toEqual(["spec.priority", "spec.subject", "spec.egress[0].ports", "spec.egress[1].to"]);
    const b = validateBaselineAdminNetworkPolicy({
      metadata: { name: "other" },
      spec: { subject: { namespaces: {} }, ingress: [{ action: "Pass" as "Allow", from: [{ namespaces: {} }] }] },
    });
    expect(fields(b)).toEqual(["metadata.name", "spec.ingress[0].action"]);
  });
});

describe("validateManifests / assertValid", () => {
  it("reports loading and validation problems with document and object, plus duplicates", () => {
    const text = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {ports: [{port: 0}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
`;
    const r = validateManifests({ name: "f.yaml", text });
    expect(r.problems.map(formatProblem)).toEqual([
      // Lines point at the field (or, for a defaulted field, at the nearest written parent).
      "f.yaml document 1 (line 4): Service shop/api: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
      // targetPort was defaulted from the bad port, and the API server reports it too.
      "f.yaml document 1 (line 4): Service shop/api: spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
      'f.yaml document 2 (line 8): Service shop/api: metadata.name: Duplicate value: "api": already defined in f.yaml document 1',
      'f.yaml document 3 (line 12): ConfigMap x: kind: unknown kind "ConfigMap" (v1): knet reads Service, Pod, Node, Namespace, EndpointSlice, NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy',
    ]);
    expect([...r.counts]).toEqual([["Service", 2]]);
  });

  it("reports unknown fields like kubectl --validate=strict, unless told to ignore them", () => {
    const text = `apiVersion: v1
kind: Service
metadata: {name: api, lables: {app: api}}
spec:
  selector: {app: api}
  ports: [{port: 80, targetport: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: {matchLabel: {app: api}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, exept: [10.1.0.0/16]}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{network: [0.0.0.0/0]}]}]}
`;
    const r = validateManifests(text);
    expect(r.problems.filter((p) => p.code === "unknown-field").map((p) => p.field)).toEqual([
      "metadata.lables",
      "spec.ports[0].targetport",
      "spec.podSelector.matchLabel",
      "spec.ingress[0].from[0].ipBlock.exept",
      "spec.egress[0].to[0].network",
    ]);
    expect(r.problems[0]?.message).toBe(
      "Unknown field: not in the v1 Service schema (kubectl --validate=strict rejects it)",
    );
    expect(validateManifests(text, { unknownFields: "ignore" }).problems.map((p) => p.code)).not.toContain(
      "unknown-field",
    );
  });

  it("rejects a ClusterIP or NodePort claimed by two services, as the allocators do", () => {
    const svcDoc = (name: string, ip: string, nodePort: number): string =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {type: NodePort, clusterIP: ${ip}, ports: [{port: 80, nodePort: ${nodePort}}, {name: b, port: 80, protocol: UDP, nodePort: ${nodePort}}]}\n`;
    // A service may reuse its own nodePort for another protocol; a second service may not.
    const r = validateManifests(
      [svcDoc("a", "10.96.0.10", 30080), svcDoc("b", "10.96.0.10", 30080), svcDoc("c", "10.96.0.11", 30081)].join(
        "---\n",
      ),
    );
    expect(r.problems.map((p) => `${p.object?.name} ${p.field}: ${p.message}`)).toEqual([
      "a spec.ports[0].name: Required value: each port must be named when a Service has more than one",
      "b spec.ports[0].name: Required value: each port must be named when a Service has more than one",
      'b spec.clusterIPs[0]: Invalid value: "10.96.0.10": provided IP is already allocated (to Service default/a)',
      "b spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (to Service default/a)",
      "b spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated (to Service default/a)",
      "c spec.ports[0].name: Required value: each port must be named when a Service has more than one",
    ]);
  });

  it("assertValid throws a ManifestError with all problems, or returns the defaulted object", () => {
    const ok: Service & { kind: "Service" } = {
      kind: "Service",
      metadata: { name: "a" },
      spec: { ports: [{ port: 1 }] },
    };
    expect(assertValid(ok).spec?.type).toBe("ClusterIP");
    expect(() => assertValid({ kind: "Service", metadata: { name: "A" }, spec: { ports: [{ port: 0 }] } })).toThrow(
      ManifestError,
    );
  });
});
