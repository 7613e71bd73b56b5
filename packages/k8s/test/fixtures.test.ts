import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ClusterState,
  defaultObject,
  endpointSlicesFor,
  type KubeObject,
  loadManifests,
  type NetworkPolicy,
  type Pod,
  type Service,
  validateManifests,
} from "@knet/k8s";
import { describe, expect, it } from "vitest";

const dir = join(import.meta.dirname, "../../../examples/manifests");
const load = (file: string): KubeObject[] => loadManifests({ name: file, text: readFileSync(join(dir, file), "utf8") });
const defaulted = (file: string): KubeObject[] => load(file).map((o) => defaultObject(o));
const byName = <K extends KubeObject["kind"]>(
  objs: KubeObject[],
  kind: K,
  name: string,
): Extract<KubeObject, { kind: K }> => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (o === undefined) throw new Error(`${kind} ${name} missing`);
  return o as Extract<KubeObject, { kind: K }>;
};

const FIXTURES = [
  "clusterip-two-pods.yaml",
  "headless-statefulset.yaml",
  "externalname.yaml",
  "selectorless-endpointslice.yaml",
  "netpol-deny-all.yaml",
  "netpol-allow-frontend-to-backend.yaml",
  "netpol-allow-dns.yaml",
  "netpol-ipblock-except.yaml",
  "demo-cluster.yaml",
  "admin-network-policies.yaml",
];

describe("seed fixtures", () => {
  it.each(FIXTURES)("%s loads and validates clean", (file) => {
    const r = validateManifests({ name: file, text: readFileSync(join(dir, file), "utf8") });
    expect(r.problems).toEqual([]);
    expect(r.objects.length).toBeGreaterThan(0);
  });

  it("ClusterIP service: defaults and two endpoints with both ports", () => {
    const objs = defaulted("clusterip-two-pods.yaml");
    const svc = byName(objs, "Service", "api");
    expect(svc.spec?.type).toBe("ClusterIP");
    expect(svc.spec?.ports?.map((p) => [p.name, p.protocol, p.targetPort])).toEqual([
      ["http", "TCP", 8080],
      ["grpc", "TCP", 50051],
    ]);
    expect(svc.spec?.clusterIPs).toEqual(["10.96.45.123"]);
    const pods = objs.filter((o): o is Pod & { kind: "Pod" } => o.kind === "Pod");
    const [slice, ...more] = endpointSlicesFor(svc, pods);
    expect(more).toEqual([]);
    expect(slice?.endpoints.map((e) => e.addresses[0])).toEqual(["10.244.1.5", "10.244.2.3"]);
    expect(slice?.ports?.map((p) => `${p.name}:${p.port}`)).toEqual(["http:8080", "grpc:50051"]);
  });

  it("headless StatefulSet service: SingleStack, endpoint hostnames, headless label", () => {
    const objs = defaulted("headless-statefulset.yaml");
    const svc = byName(objs, "Service", "cassandra");
    expect(svc.spec?.clusterIPs).toEqual(["None"]);
    expect(svc.spec?.ipFamilyPolicy).toBe("SingleStack");
    const [slice] = endpointSlicesFor(
      svc,
      objs.filter((o): o is Pod & { kind: "Pod" } => o.kind === "Pod"),
    );
    expect(slice?.metadata?.labels?.["service.kubernetes.io/headless"]).toBe("");
    expect(slice?.endpoints.map((e) => `${e.hostname}=${e.addresses[0]}`)).toEqual([
      "cassandra-0=10.244.1.12",
      "cassandra-1=10.244.2.8",
      "cassandra-2=10.244.3.21",
    ]);
  });

  it("ExternalName: no IP families, no traffic policy, no slices", () => {
    for (const o of defaulted("externalname.yaml")) {
      const svc = o as Service;
      expect(svc.spec?.ipFamilies).toBeUndefined();
      expect(svc.spec?.internalTrafficPolicy).toBeUndefined();
      expect(endpointSlicesFor(svc, [])).toEqual([]);
    }
  });

  it("selector-less service keeps its hand-written slice in ClusterState", () => {
    const st = new ClusterState();
    st.applyAll(load("selectorless-endpointslice.yaml"));
    const slices = st.endpointSlicesOf("default", "my-service");
    expect(slices.map((s) => s.metadata?.name)).toEqual(["my-service-1"]);
    expect(slices[0]?.endpoints.map((e) => e.addresses[0])).toEqual(["10.4.5.6", "10.1.2.3"]);
    expect(slices[0]?.ports?.[0]).toEqual({ name: "", appProtocol: "http", protocol: "TCP", port: 9376 });
  });

  it("NetworkPolicies default as the API server stores them", () => {
    const deny = defaulted("netpol-deny-all.yaml") as NetworkPolicy[];
    expect(deny.map((p) => [p.metadata?.name, p.spec?.policyTypes, p.spec?.ingress])).toEqual([
      ["deny-all-ingress", ["Ingress"], undefined], // `ingress: []` is stored as absent
      ["deny-all", ["Ingress", "Egress"], undefined],
    ]);
    const [dns] = defaulted("netpol-allow-dns.yaml") as NetworkPolicy[];
    expect(dns?.spec?.egress?.[0]?.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    const [fb] = defaulted("netpol-allow-frontend-to-backend.yaml") as NetworkPolicy[];
    expect(fb?.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels).toEqual({ app: "frontend" });
  });

  it("ipBlock with except: valid as written, rejected once an except leaves the cidr", () => {
    const text = readFileSync(join(dir, "netpol-ipblock-except.yaml"), "utf8");
    expect(validateManifests(text).problems).toEqual([]);
    const broken = text.replace("cidr: 0.0.0.0/0", "cidr: 10.0.0.0/8");
    const problems = validateManifests(broken).problems.map((p) => `${p.field}: ${p.message}`);
    expect(problems).toEqual([
      'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
      'spec.egress[0].to[0].ipBlock.except[1]: Invalid value: "172.16.0.0/12": must be a strict subset of `cidr`',
      'spec.egress[0].to[0].ipBlock.except[2]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
      'spec.egress[0].to[0].ipBlock.except[3]: Invalid value: "127.0.0.1/8": must be a strict subset of `cidr`',
    ]);
  });
});

describe("admin-network-policies.yaml", () => {
  it("defaults port protocols and keeps rule order and actions", () => {
    const [anp, banp] = defaulted("admin-network-policies.yaml");
    if (anp?.kind !== "AdminNetworkPolicy" || banp?.kind !== "BaselineAdminNetworkPolicy") throw new Error("kinds");
    expect(anp.spec.priority).toBe(10);
    expect(anp.spec.ingress?.map((r) => `${r.name}:${r.action}`)).toEqual([
      "allow-monitoring:Allow",
      "pass-from-same-team:Pass",
      "deny-everything-else:Deny",
    ]);
    expect(anp.spec.egress?.[1]?.ports).toEqual([
      { portNumber: { protocol: "UDP", port: 53 } },
      { portRange: { protocol: "TCP", start: 53, end: 54 } },
    ]);
    expect(banp.metadata?.name).toBe("default");
    // Renamed, the baseline policy is rejected (it is a cluster singleton).
    const text = readFileSync(join(dir, "admin-network-policies.yaml"), "utf8").replace(
      "name: default ",
      "name: other ",
    );
    expect(validateManifests(text).problems.map((p) => `${p.object?.kind} ${p.field}`)).toEqual([
      "BaselineAdminNetworkPolicy metadata.name",
    ]);
  });
});

describe("demo-cluster.yaml", () => {
  const st = new ClusterState();
  st.applyAll(load("demo-cluster.yaml"));
  const eps = (ns: string, svc: string): string[] =>
    st
      .endpointSlicesOf(ns, svc)
      .flatMap((s) =>
        s.endpoints.map(
          (e) =>
            `${e.addresses[0]}:${s.ports?.map((p) => p.port).join("/")}@${e.nodeName}/${e.zone}${e.hostname ? `#${e.hostname}` : ""}${e.conditions?.ready ? "" : "!"}`,
        ),
      );

  it("has the nodes, namespaces and pods the demo needs", () => {
    expect(st.list("Node").map((n) => [n.metadata?.name, n.spec?.podCIDR, n.status?.addresses?.[0]?.address])).toEqual([
      ["node-a", "10.244.1.0/24", "192.168.49.2"],
      ["node-b", "10.244.2.0/24", "192.168.49.3"],
    ]);
    expect(st.list("Namespace").map((n) => n.metadata?.labels?.["kubernetes.io/metadata.name"])).toEqual([
      "shop",
      "kube-system",
    ]);
    for (const p of st.list("Pod")) {
      expect(p.status?.phase).toBe("Running");
      expect(p.spec?.nodeName).toMatch(/^node-[ab]$/);
    }
  });

  it("the controller writes the slices every engine will read", () => {
    expect(eps("shop", "api")).toEqual([
      "10.244.1.11:8080@node-a/zone-a",
      "10.244.2.11:8080@node-b/zone-b",
      "10.244.2.12:8080@node-b/zone-b",
    ]);
    expect(eps("shop", "db")).toEqual(["10.244.1.20:5432@node-a/zone-a#db-0", "10.244.2.20:5432@node-b/zone-b#db-1"]);
    expect(eps("shop", "web")).toEqual(["10.244.1.10:8080@node-a/zone-a"]);
    expect(eps("kube-system", "kube-dns")).toEqual([
      "10.244.1.2:53/53/9153@node-a/zone-a",
      "10.244.2.2:53/53/9153@node-b/zone-b",
    ]);
    expect(st.endpointSlicesOf("shop", "payments")).toEqual([]);
    expect(st.get("Service", "shop", "web")?.spec?.ports?.[0]?.nodePort).toBe(30080);
    expect(st.get("Service", "kube-system", "kube-dns")?.spec?.clusterIP).toBe("10.96.0.10");
  });

  it("its policies select the intended pods", () => {
    const pol = (name: string) => st.get("NetworkPolicy", "shop", name);
    const names = (sel: Parameters<ClusterState["podsSelectedBy"]>[1]) =>
      st
        .podsSelectedBy("shop", sel)
        .map((p) => p.metadata?.name?.split("-")[0])
        .sort();
    expect(names(pol("default-deny-ingress")?.spec?.podSelector)).toEqual([
      "api",
      "api",
      "api",
      "db",
      "db",
      "frontend",
    ]);
    expect(names(pol("allow-frontend-to-api")?.spec?.podSelector)).toEqual(["api", "api", "api"]);
    expect(names(pol("allow-api-to-db")?.spec?.podSelector)).toEqual(["db", "db"]);
    expect(pol("allow-dns")?.spec?.policyTypes).toEqual(["Egress"]);
    expect(
      st
        .namespacesSelectedBy(pol("allow-dns")?.spec?.egress?.[0]?.to?.[0]?.namespaceSelector)
        .map((n) => n.metadata?.name),
    ).toEqual(["kube-system"]);
  });
});
