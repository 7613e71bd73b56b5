/**
 * The kubernetes plugin's `multicluster` zones (KEP-1645): names there answer from
 * ServiceImports and the EndpointSlices labelled `multicluster.kubernetes.io/service-name`,
 * as CoreDNS's findMultiClusterServices does (cases from its kubernetes_test.go).
 */
import {
  DnsIndex,
  DnsServer,
  decodeMessage,
  encodeQuery,
  formatRr,
  RRType,
  type Rr,
  rcodeName,
  registerServiceImport,
  resolve,
} from "@knet/coredns-lite";
import { parseManifests, validateManifests } from "@knet/k8s";
import { describe, expect, it } from "vitest";
import { udpExchange } from "./client.js";
import { fixtureObjects } from "./fixture.js";
import { normalise } from "./table.js";

const ns = "testns";
const imports = [
  {
    kind: "ServiceImport",
    apiVersion: "multicluster.x-k8s.io/v1alpha1",
    metadata: { name: "svc1", namespace: ns },
    spec: { type: "ClusterSetIP", ips: ["10.0.0.1"], ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  },
  {
    kind: "ServiceImport",
    apiVersion: "multicluster.x-k8s.io/v1alpha1",
    metadata: { name: "svc-dual-stack", namespace: ns },
    spec: { type: "ClusterSetIP", ips: ["10.0.0.2", "10::2"], ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  },
  {
    kind: "ServiceImport",
    apiVersion: "multicluster.x-k8s.io/v1alpha1",
    metadata: { name: "hdls1", namespace: ns },
    spec: { type: "Headless", ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  },
];
const mcSlice = (service: string, name: string, cluster: string, endpoints: unknown[]) => ({
  kind: "EndpointSlice",
  apiVersion: "discovery.k8s.io/v1",
  metadata: {
    name,
    namespace: ns,
    labels: {
      "multicluster.kubernetes.io/service-name": service,
      "multicluster.kubernetes.io/source-cluster": cluster,
    },
  },
  addressType: "IPv4",
  endpoints,
  ports: [{ name: "http", protocol: "TCP", port: 80 }],
});
const objects = [
  ...fixtureObjects(),
  ...imports,
  mcSlice("svc1", "svc1-c1", "cluster1", [{ addresses: ["172.0.0.1"], hostname: "ep1a" }]),
  mcSlice("hdls1", "hdls1-c1", "cluster1", [{ addresses: ["172.0.0.2"] }]),
  mcSlice("hdls1", "hdls1-c2", "cluster2", [
    { addresses: ["172.0.1.2"] },
    { addresses: ["172.0.1.3"], conditions: { ready: false } },
  ]),
];
const ZONES = ["cluster.local", "clusterset.local"];
const opts = { zones: ZONES, multicluster: ["clusterset.local"] };
const SOA = "clusterset.local. 5 SOA ns.dns.clusterset.local. hostmaster.clusterset.local. S 7200 1800 86400 5";
const lines = (rrs: readonly Rr[]): string[] => rrs.map((r) => normalise(formatRr(r))).sort();

const rows: [string, string, string, string[], string[]?][] = [
  ["svc1.testns.svc.clusterset.local.", "A", "NOERROR", ["svc1.testns.svc.clusterset.local. 5 A 10.0.0.1"]],
  [
    "_http._tcp.svc1.testns.svc.clusterset.local.",
    "SRV",
    "NOERROR",
    ["_http._tcp.svc1.testns.svc.clusterset.local. 5 SRV 0 100 80 svc1.testns.svc.clusterset.local."],
    ["svc1.testns.svc.clusterset.local. 5 A 10.0.0.1"],
  ],
  [
    "ep1a.cluster1.svc1.testns.svc.clusterset.local.",
    "A",
    "NOERROR",
    ["ep1a.cluster1.svc1.testns.svc.clusterset.local. 5 A 172.0.0.1"],
  ],
  // An endpoint name without its cluster, or in another cluster, names nothing.
  ["ep1a.svc1.testns.svc.clusterset.local.", "A", "NXDOMAIN", []],
  ["ep1a.cluster2.svc1.testns.svc.clusterset.local.", "A", "NXDOMAIN", []],
  [
    "svc-dual-stack.testns.svc.clusterset.local.",
    "AAAA",
    "NOERROR",
    ["svc-dual-stack.testns.svc.clusterset.local. 5 AAAA 10::2"],
  ],
  [
    "hdls1.testns.svc.clusterset.local.",
    "A",
    "NOERROR",
    ["hdls1.testns.svc.clusterset.local. 5 A 172.0.0.2", "hdls1.testns.svc.clusterset.local. 5 A 172.0.1.2"],
  ],
  [
    "_http._tcp.hdls1.testns.svc.clusterset.local.",
    "SRV",
    "NOERROR",
    [
      "_http._tcp.hdls1.testns.svc.clusterset.local. 5 SRV 0 50 80 172-0-0-2.cluster1.hdls1.testns.svc.clusterset.local.",
      "_http._tcp.hdls1.testns.svc.clusterset.local. 5 SRV 0 50 80 172-0-1-2.cluster2.hdls1.testns.svc.clusterset.local.",
    ],
    [
      "172-0-0-2.cluster1.hdls1.testns.svc.clusterset.local. 5 A 172.0.0.2",
      "172-0-1-2.cluster2.hdls1.testns.svc.clusterset.local. 5 A 172.0.1.2",
    ],
  ],
  [
    "172-0-1-2.cluster2.hdls1.testns.svc.clusterset.local.",
    "A",
    "NOERROR",
    ["172-0-1-2.cluster2.hdls1.testns.svc.clusterset.local. 5 A 172.0.1.2"],
  ],
  // A Service that is not imported does not exist in the clusterset zone; the cluster zone is unchanged.
  ["svc6.testns.svc.clusterset.local.", "AAAA", "NXDOMAIN", []],
  ["svc1.testns.svc.cluster.local.", "A", "NOERROR", ["svc1.testns.svc.cluster.local. 5 A 10.0.0.1"]],
];

describe("multicluster zones answer from ServiceImports", () => {
  const index = DnsIndex.from(objects);
  for (const [name, type, rcode, answer, additional = []] of rows) {
    it(`${name} ${type} -> ${rcode}`, () => {
      const r = resolve(index, { name, type }, opts);
      expect(rcodeName(r.rcode)).toBe(rcode);
      expect(lines(r.answer)).toEqual([...answer].sort());
      expect(lines(r.additional)).toEqual([...additional].sort());
      if (rcode === "NXDOMAIN" && name.endsWith("clusterset.local.")) expect(lines(r.authority)).toEqual([SOA]);
    });
  }

  it("follows ServiceImport and EndpointSlice changes, and drops them on delete", () => {
    const idx = DnsIndex.from(objects);
    const ask = () => resolve(idx, { name: "hdls1.testns.svc.clusterset.local.", type: "A" }, opts);
    idx.upsert(mcSlice("hdls1", "hdls1-c2", "cluster2", [{ addresses: ["172.0.1.9"] }]) as never);
    expect(lines(ask().answer)).toEqual([
      "hdls1.testns.svc.clusterset.local. 5 A 172.0.0.2",
      "hdls1.testns.svc.clusterset.local. 5 A 172.0.1.9",
    ]);
    idx.remove({ kind: "EndpointSlice", metadata: { name: "hdls1-c1", namespace: ns } });
    expect(lines(ask().answer)).toEqual(["hdls1.testns.svc.clusterset.local. 5 A 172.0.1.9"]);
    expect(idx.remove({ kind: "ServiceImport", metadata: { name: "hdls1", namespace: ns } })).toBe(true);
    expect(rcodeName(ask().rcode)).toBe("NXDOMAIN");
  });

  it("is configured in the Corefile, and the zone must be one the plugin serves", async () => {
    const server = new DnsServer({
      index: DnsIndex.from(objects),
      config:
        "cluster.local clusterset.local {\n kubernetes cluster.local clusterset.local {\n  multicluster clusterset.local\n }\n}",
      listen: { port: 0 },
    });
    await server.start();
    try {
      const m = decodeMessage(
        (await udpExchange(
          server.address().port,
          encodeQuery(1, "svc1.testns.svc.clusterset.local.", RRType.A),
        )) as Buffer,
      );
      expect(m.answer).toEqual([{ name: "svc1.testns.svc.clusterset.local.", type: 1, ttl: 5, address: "10.0.0.1" }]);
    } finally {
      await server.stop();
    }
    expect(
      () =>
        new DnsServer({
          index: DnsIndex.from(objects),
          config: ". {\n kubernetes cluster.local {\n  multicluster clusterset.local\n }\n}",
        }),
    ).toThrow(/not authoritative for the multicluster zone clusterset\.local\./);
  });
});

describe("ServiceImport in the @knet/k8s kind registry", () => {
  const doc = (spec: string) =>
    `apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceImport\nmetadata: {name: web, namespace: shop}\nspec: ${spec}\n`;

  it("is an unknown kind until registered, then loads as an extension and validates as the CRD does", () => {
    expect(parseManifests(doc("{type: ClusterSetIP}")).problems[0]?.code).toBe("unknown-kind");
    registerServiceImport();
    registerServiceImport(); // again: a no-op
    const ok = parseManifests(doc("{type: ClusterSetIP, ips: [10.100.0.5], ports: [{port: 80}]}"));
    expect(ok.problems).toEqual([]);
    expect(ok.extensions.map((e) => e.object.kind)).toEqual(["ServiceImport"]);
    expect(parseManifests(doc("{ports: [{port: eighty}]}")).problems.map((p) => `${p.code} ${p.field}`)).toEqual([
      "shape spec.ports[0].port",
    ]);
    const bad = validateManifests(doc("{type: LoadBalancer, ips: [10.0.0.300], ports: [{port: 0}]}"));
    expect(bad.problems.map((p) => `${p.code} ${p.field}`)).toEqual([
      "invalid spec.type",
      "invalid spec.ips[0]",
      "invalid spec.ports[0].port",
    ]);
  });
});
