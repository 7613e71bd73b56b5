import {
  defaultNamespace,
  defaultNetworkPolicy,
  defaultObject,
  defaultPod,
  defaultService,
  type KubeObject,
  type Service,
  validateService,
} from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("defaultService", () => {
  it("applies the API server's defaults to a minimal ClusterIP service", () => {
    const input: Service = { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80 }] } };
    const s = defaultService(input);
    expect(s.metadata?.namespace).toBe("default");
    expect(s.spec?.type).toBe("ClusterIP");
    expect(s.spec?.sessionAffinity).toBe("None");
    expect(s.spec?.ports?.[0]).toEqual({ port: 80, protocol: "TCP", targetPort: 80 });
    expect(s.spec?.internalTrafficPolicy).toBe("Cluster");
    expect(s.spec?.externalTrafficPolicy).toBeUndefined();
    expect(s.spec?.ipFamilyPolicy).toBe("SingleStack");
    expect(s.spec?.ipFamilies).toEqual(["IPv4"]);
    // Pure: the input is untouched.
    expect(input.spec?.type).toBeUndefined();
    expect(input.metadata?.namespace).toBeUndefined();
  });

  it("defaults ClientIP affinity timeout, NodePort traffic policy and dual-stack families", () => {
    const s = defaultService(
      {
        spec: {
          type: "NodePort",
          sessionAffinity: "ClientIP",
          ipFamilyPolicy: "RequireDualStack",
          clusterIPs: ["fd00::10", "10.96.0.10"],
          ports: [{ port: 53, protocol: "UDP", targetPort: "dns" }],
        },
      },
      { serviceIPFamilies: ["IPv4", "IPv6"] },
    );
    expect(s.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds).toBe(10800);
    expect(s.spec?.externalTrafficPolicy).toBe("Cluster");
    expect(s.spec?.clusterIP).toBe("fd00::10");
    expect(s.spec?.ipFamilies).toEqual(["IPv6", "IPv4"]);
    expect(s.spec?.ipFamilyPolicy).toBe("RequireDualStack");
    expect(s.spec?.ports?.[0]?.targetPort).toBe("dns");
    // PreferDualStack picks up the cluster's secondary family.
    const p = defaultService(
      { spec: { ipFamilyPolicy: "PreferDualStack", ports: [{ port: 80 }] } },
      { serviceIPFamilies: ["IPv4", "IPv6"] },
    );
    expect(p.spec?.ipFamilies).toEqual(["IPv4", "IPv6"]);
    // Without a policy the registry infers SingleStack even for two IPs (validation then rejects it).
    const two = defaultService({
      metadata: { name: "two" },
      spec: { clusterIPs: ["10.96.0.10", "fd00::10"], ports: [{ port: 80 }] },
    });
    expect(two.spec?.ipFamilyPolicy).toBe("SingleStack");
    expect(validateService(two).map((x) => x.field)).toEqual(["spec.ipFamilyPolicy"]);
  });

  it("gives headless selector-less services every cluster family; ExternalName none", () => {
    const h = defaultService({ spec: { clusterIP: "None" } }, { serviceIPFamilies: ["IPv6", "IPv4"] });
    expect(h.spec?.ipFamilyPolicy).toBe("RequireDualStack");
    expect(h.spec?.ipFamilies).toEqual(["IPv6", "IPv4"]);
    // Both families even on a single-stack cluster (the registry's special case).
    expect(defaultService({ spec: { clusterIP: "None" } }).spec?.ipFamilies).toEqual(["IPv4", "IPv6"]);
    expect(h.spec?.clusterIPs).toEqual(["None"]);
    const hs = defaultService({ spec: { clusterIP: "None", selector: { app: "db" } } });
    expect(hs.spec?.ipFamilyPolicy).toBe("SingleStack");
    const en = defaultService({ spec: { type: "ExternalName", externalName: "pay.example.com" } });
    expect(en.spec?.ipFamilies).toBeUndefined();
    expect(en.spec?.internalTrafficPolicy).toBeUndefined();
  });
});

describe("defaultNetworkPolicy", () => {
  it("adds Egress to policyTypes only when egress rules exist, and TCP to ports", () => {
    const ingressOnly = defaultNetworkPolicy({ spec: { podSelector: {} } });
    expect(ingressOnly.spec?.policyTypes).toEqual(["Ingress"]);
    const both = defaultNetworkPolicy({ spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } });
    expect(both.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(both.spec?.egress?.[0]?.ports?.[0]?.protocol).toBe("TCP");
    const explicit = defaultNetworkPolicy({ spec: { podSelector: {}, policyTypes: ["Egress"] } });
    expect(explicit.spec?.policyTypes).toEqual(["Egress"]);
    // `egress: []` is absent after the API round trip, so no Egress type.
    expect(defaultNetworkPolicy({ spec: { podSelector: {}, egress: [] } }).spec?.policyTypes).toEqual(["Ingress"]);
  });
});

describe("defaultNamespace / defaultPod", () => {
  it("keeps the metadata.name label equal to the name", () => {
    const n = defaultNamespace({
      metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "wrong", team: "a" } },
    });
    expect(n.metadata?.labels).toEqual({ "kubernetes.io/metadata.name": "shop", team: "a" });
  });
  it("defaults dnsPolicy and container port protocol; hostNetwork copies hostPort", () => {
    const p = defaultPod({
      spec: { hostNetwork: true, containers: [{ name: "c", ports: [{ containerPort: 9100 }] }] },
    });
    expect(p.spec?.dnsPolicy).toBe("ClusterFirst");
    expect(p.spec?.containers[0]?.ports?.[0]).toEqual({ containerPort: 9100, protocol: "TCP", hostPort: 9100 });
  });
});

const portArb = fc.record(
  {
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom("TCP", "UDP", "", "SCTP"),
    targetPort: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom("", "http", "dns")),
    name: fc.constantFrom("a", "b"),
  },
  { requiredKeys: ["port"] },
);
const serviceArb: fc.Arbitrary<KubeObject> = fc.record({
  apiVersion: fc.constant("v1" as const),
  kind: fc.constant("Service" as const),
  metadata: fc.record({ name: fc.constant("s"), namespace: fc.constantFrom("", "x") }, { requiredKeys: [] }),
  spec: fc.record(
    {
      type: fc.constantFrom("ClusterIP", "NodePort", "LoadBalancer", "ExternalName", ""),
      clusterIP: fc.constantFrom("None", "10.96.0.1", "fd00::1", ""),
      clusterIPs: fc.constantFrom(["10.96.0.1", "fd00::1"], ["fd00::2"], []),
      sessionAffinity: fc.constantFrom("None", "ClientIP", ""),
      selector: fc.constantFrom({}, { app: "a" }),
      ports: fc.array(portArb, { maxLength: 3 }),
      ipFamilyPolicy: fc.constantFrom("SingleStack", "PreferDualStack", "RequireDualStack"),
      ipFamilies: fc.constantFrom(["IPv4"], ["IPv6", "IPv4"]),
    },
    { requiredKeys: [] },
  ),
});
const netpolArb: fc.Arbitrary<KubeObject> = fc.record({
  apiVersion: fc.constant("networking.k8s.io/v1" as const),
  kind: fc.constant("NetworkPolicy" as const),
  metadata: fc.record({ name: fc.constant("p") }),
  spec: fc.record(
    {
      podSelector: fc.constant({}),
      policyTypes: fc.constantFrom<string[]>([], ["Egress"], ["Ingress", "Egress"]),
      ingress: fc.array(
        fc.record(
          {
            ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 9 }) }, { requiredKeys: [] })),
            from: fc.constant<never[]>([]),
          },
          { requiredKeys: [] },
        ),
      ),
      egress: fc.array(
        fc.record({ ports: fc.array(fc.record({ protocol: fc.constantFrom("UDP", "TCP") })) }, { requiredKeys: [] }),
      ),
    },
    { requiredKeys: ["podSelector"] },
  ),
});
const podArb: fc.Arbitrary<KubeObject> = fc.record({
  apiVersion: fc.constant("v1" as const),
  kind: fc.constant("Pod" as const),
  metadata: fc.record({ name: fc.constant("p") }),
  spec: fc.record({
    hostNetwork: fc.boolean(),
    containers: fc.array(
      fc.record({
        name: fc.constant("c"),
        ports: fc.array(
          fc.record(
            { containerPort: fc.integer({ min: 1, max: 99 }), hostPort: fc.constantFrom(0, 8080) },
            { requiredKeys: ["containerPort"] },
          ),
        ),
      }),
    ),
  }),
});
const nsArb: fc.Arbitrary<KubeObject> = fc.record({
  apiVersion: fc.constant("v1" as const),
  kind: fc.constant("Namespace" as const),
  metadata: fc.record(
    {
      name: fc.constantFrom("a", "b"),
      labels: fc.dictionary(fc.constantFrom("kubernetes.io/metadata.name", "x"), fc.string()),
    },
    { requiredKeys: [] },
  ),
});

describe("defaulting", () => {
  it("is idempotent and pure for every kind", () => {
    fc.assert(
      fc.property(
        fc.oneof(serviceArb, netpolArb, podArb, nsArb),
        fc.constantFrom<("IPv4" | "IPv6")[]>(["IPv4"], ["IPv6", "IPv4"]),
        (obj, fams) => {
          const before = structuredClone(obj);
          const once = defaultObject(obj, { serviceIPFamilies: fams });
          expect(obj).toEqual(before);
          expect(defaultObject(once, { serviceIPFamilies: fams })).toEqual(once);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
