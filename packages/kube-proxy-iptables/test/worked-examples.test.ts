import { buildProxyState, ChangeTracker, type ProxyConfigInput, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { IptablesEngine, type IptablesOptions, sortRestoreLikeUpstream } from "@knet/kube-proxy-iptables";
import { describe, expect, it } from "vitest";
import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C_NAT, EXAMPLE_D_ADD } from "./examples.js";

function engine(cfg: ProxyConfigInput, opts: Omit<IptablesOptions, "config"> = {}): IptablesEngine {
  return new IptablesEngine({ config: proxyConfig(cfg), markFormat: "test", ...opts });
}

function natSection(text: string): string {
  const i = text.indexOf("*nat\n");
  return text.slice(i);
}

describe("worked examples of kube-proxy.md §3.7, reproduced exactly", () => {
  it("Example A: ClusterIP with 3 endpoints (emission order, probabilities, string sort)", () => {
    const e = engine({ nodeName: "node-1", clusterCIDR: "10.0.0.0/8" });
    const state = buildProxyState(
      { family: 4, nodeName: "node-1" },
      {
        services: [service({ name: "svc1", clusterIP: "172.30.0.41" })],
        endpointSlices: [slice("svc1", ["10.180.0.2", "10.180.0.9", "10.180.0.10"])],
      },
    );
    expect(e.sync(state).payload).toBe(EXAMPLE_A);
  });

  it("Example B: the upstream TestOverallIPTablesRules, normalised like the upstream test", () => {
    const e = engine(
      { nodeName: "test-node", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" },
      { nfacct: true, randomFully: false },
    );
    const state = buildProxyState(
      { family: 4, nodeName: "test-node" },
      {
        services: [
          service({ name: "svc1", ns: "ns1", clusterIP: "172.30.0.41" }),
          service({
            name: "svc2",
            ns: "ns2",
            clusterIP: "172.30.0.42",
            type: "LoadBalancer",
            eTP: "Local",
            ports: [{ name: "p80", port: 80, nodePort: 3001 }],
            lbIngress: ["1.2.3.4"],
            externalIPs: ["192.168.99.22"],
            healthCheckNodePort: 30000,
          }),
          service({
            name: "svc3",
            ns: "ns3",
            clusterIP: "172.30.0.43",
            type: "NodePort",
            ports: [{ name: "p80", port: 80, nodePort: 3003 }],
          }),
          service({
            name: "svc4",
            ns: "ns4",
            clusterIP: "172.30.0.44",
            type: "NodePort",
            externalIPs: ["192.168.99.33"],
          }),
          service({
            name: "svc5",
            ns: "ns5",
            clusterIP: "172.30.0.45",
            type: "LoadBalancer",
            eTP: "Cluster",
            ports: [{ name: "p80", port: 80, nodePort: 3002 }],
            lbIngress: ["5.6.7.8"],
            sourceRanges: [" 203.0.113.0/25"],
            affinitySeconds: 10800,
            healthCheckNodePort: 30000,
          }),
          service({ name: "svc6", ns: "ns6", clusterIP: "172.30.0.46" }),
        ],
        endpointSlices: [
          slice("svc1", ["10.180.0.1"], { ns: "ns1" }),
          slice("svc2", ["10.180.0.2"], { ns: "ns2" }),
          slice("svc3", ["10.180.0.3"], { ns: "ns3" }),
          slice("svc4", ["10.180.0.4", { ip: "10.180.0.5", node: "test-node" }], { ns: "ns4" }),
          slice("svc5", ["10.180.0.3"], { ns: "ns5" }),
        ],
      },
    );
    expect(sortRestoreLikeUpstream(e.sync(state).payload)).toBe(EXAMPLE_B);
  });

  it("Example C: eTP=Local with one local and one remote endpoint", () => {
    const e = engine(
      { nodeName: "test-node", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" },
      { randomFully: false },
    );
    const state = buildProxyState(
      { family: 4, nodeName: "test-node" },
      {
        services: [
          service({
            name: "svc1",
            clusterIP: "172.30.0.41",
            type: "LoadBalancer",
            eTP: "Local",
            ports: [{ name: "p80", port: 80, nodePort: 3001 }],
            healthCheckNodePort: 30000,
            externalIPs: ["192.168.99.11"],
            lbIngress: ["1.2.3.4"],
          }),
        ],
        endpointSlices: [slice("svc1", ["10.180.0.1", { ip: "10.180.2.1", node: "test-node" }])],
      },
    );
    const sorted = sortRestoreLikeUpstream(e.sync(state).payload);
    const fixed = (l: string): boolean =>
      l === "*nat" ||
      l === "COMMIT" ||
      /^:KUBE-(NODEPORTS|SERVICES|MARK-MASQ|POSTROUTING) /.test(l) ||
      /^-A KUBE-(MARK-MASQ|POSTROUTING) /.test(l) ||
      l.includes("must be the last rule");
    const servicePart = natSection(sorted)
      .split("\n")
      .filter((l) => l !== "" && !fixed(l))
      .join("\n");
    expect(`${servicePart}\n`).toBe(EXAMPLE_C_NAT);
    const filter = sorted.slice(0, sorted.indexOf("*nat\n"));
    expect(filter.split("\n").filter((l) => l.startsWith("-A KUBE-NODEPORTS"))).toEqual([
      '-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
    ]);
    expect(filter).not.toMatch(/KUBE-EXTERNAL-SERVICES -m|KUBE-SERVICES -m|KUBE-PROXY-FIREWALL -m/);
  });

  it("Example D: partial syncs write only the changed service's chains and delete stale ones", () => {
    const e = engine({ nodeName: "node-1", clusterCIDR: "10.0.0.0/8" }, { randomFully: false });
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    t.updateService(service({ name: "svc1", clusterIP: "172.30.0.41" }));
    t.updateService(
      service({ name: "svc2", ns: "ns2", clusterIP: "172.30.0.42", ports: [{ name: "p8080", port: 8080 }] }),
    );
    t.updateEndpointSlice(slice("svc1", ["10.0.1.1"]));
    t.updateEndpointSlice(slice("svc2", ["10.0.2.1"], { ns: "ns2", ports: [{ name: "p8080", port: 8080 }] }));
    expect(e.sync(t.state()).full).toBe(true);

    t.updateService(service({ name: "svc3", ns: "ns3", clusterIP: "172.30.0.43" }));
    t.updateEndpointSlice(slice("svc3", ["10.0.3.1"], { ns: "ns3" }));
    const second = e.sync(t.state());
    expect(second.full).toBe(false);
    expect(natSection(sortRestoreLikeUpstream(second.payload))).toBe(EXAMPLE_D_ADD);

    t.deleteService("ns2", "svc2");
    t.deleteEndpointSlice("ns2", "svc2-v4");
    const third = natSection(sortRestoreLikeUpstream(e.sync(t.state()).payload)).split("\n");
    const perService = third.filter((l) => /^(:|-X )KUBE-(SVC|SEP|EXT|FW|SVL)-/.test(l));
    expect(perService).toEqual([
      ":KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]",
      ":KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]",
      "-X KUBE-SEP-UHEGFW77JX3KXTOV",
      "-X KUBE-SVC-2VJB64SDSIJUP5T6",
    ]);
    // the service's KUBE-SERVICES rule is gone, the others stay
    expect(third.filter((l) => l.startsWith("-A KUBE-SERVICES")).map((l) => l.split('"')[1])).toEqual([
      "ns1/svc1:p80 cluster IP",
      "ns3/svc3:p80 cluster IP",
      "kubernetes service nodeports; NOTE: this must be the last rule in this chain",
    ]);
  });
});
