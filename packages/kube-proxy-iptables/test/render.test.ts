import { buildProxyState, ChangeTracker, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { IptablesEngine, jumpRules, probability, renderBootstrap } from "@knet/kube-proxy-iptables";
import { describe, expect, it } from "vitest";

describe("render details", () => {
  it("probabilities are Go %0.10f of 1/(n-i)", () => {
    expect([2, 3, 4, 7].map(probability)).toEqual(["0.5000000000", "0.3333333333", "0.2500000000", "0.1428571429"]);
  });

  it("the real binary spells the mark 0x00004000; another masquerade bit moves it", () => {
    const e = new IptablesEngine({ config: proxyConfig({ masqueradeBit: 5 }) });
    const p = e.sync(buildProxyState({ family: 4, nodeName: "node-1" }, { services: [], endpointSlices: [] })).payload;
    expect(p).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00000020\n");
    expect(p).toContain("-A KUBE-POSTROUTING -m mark ! --mark 0x00000020/0x00000020 -j RETURN\n");
  });

  it("large-cluster mode (> 1000 endpoints) drops the per-endpoint comments only", () => {
    const services = [service({ name: "big", clusterIP: "172.30.0.1" })];
    const ips = Array.from({ length: 1001 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const e = new IptablesEngine({ config: proxyConfig({ clusterCIDR: "10.0.0.0/8" }) });
    const p = e.sync(
      buildProxyState({ family: 4, nodeName: "node-1" }, { services, endpointSlices: [slice("big", ips)] }),
    ).payload;
    expect(p).toMatch(/^-A KUBE-SEP-\w+ -s 10\.1\.0\.0 -j KUBE-MARK-MASQ$/m);
    expect(p).toMatch(/^-A KUBE-SVC-\w+ -m statistic --mode random --probability 0\.0009990010 -j KUBE-SEP-\w+$/m);
    expect(p).toContain('-m comment --comment "ns1/big:p80 cluster IP"');
    const small = new IptablesEngine({ config: proxyConfig({}) }).sync(
      buildProxyState(
        { family: 4, nodeName: "node-1" },
        { services, endpointSlices: [slice("big", ips.slice(0, 1000))] },
      ),
    ).payload;
    expect(small).toContain("-m comment --comment ns1/big:p80 -s 10.1.0.0 -j KUBE-MARK-MASQ");
  });

  it("nodePortAddresses gives one tail rule per matching node IP; localhostNodePorts=false excludes 127/8", () => {
    const none = buildProxyState({ family: 4, nodeName: "n" }, { services: [], endpointSlices: [] });
    const a = new IptablesEngine({
      config: proxyConfig({
        nodeIPs: ["192.168.0.2", "10.5.0.2", "127.0.0.1"],
        nodePortAddresses: ["192.168.0.0/16", "127.0.0.0/8"],
      }),
    }).sync(none).payload;
    expect(a.split("\n").filter((l) => l.includes("must be the last rule"))).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 127.0.0.1 -j KUBE-NODEPORTS',
    ]);
    const b = new IptablesEngine({ config: proxyConfig({ localhostNodePorts: false }) }).sync(none).payload;
    expect(b).toContain("-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS");
    expect(b).not.toContain("KUBE-FIREWALL");
    const v6 = new IptablesEngine({ config: proxyConfig({ family: 6 }) }).sync({ ...none, family: 6 }).payload;
    expect(v6).toContain("-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS");
  });

  it("no local detector and no masqueradeAll: no ClusterIP masquerade rule, no pod short-circuit", () => {
    const e = new IptablesEngine({ config: proxyConfig({}) });
    const p = e.sync(
      buildProxyState(
        { family: 4, nodeName: "node-1" },
        {
          services: [
            service({
              name: "l",
              clusterIP: "172.30.0.2",
              type: "NodePort",
              eTP: "Local",
              ports: [{ name: "p80", port: 80, nodePort: 30002 }],
            }),
          ],
          endpointSlices: [slice("l", [{ ip: "10.0.0.5", node: "node-1" }])],
        },
      ),
    ).payload;
    expect(p).not.toContain("KUBE-MARK-MASQ\n-A KUBE-SVC");
    expect(p).not.toMatch(/-A KUBE-SVC-\w+ -m comment --comment "ns1\/l:p80 cluster IP"/);
    expect(p).not.toContain("pod traffic for");
    expect(p).toContain("masquerade LOCAL traffic for ns1/l:p80 external destinations");
  });

  it("render() is the full payload of the current state; partial syncs fall back to full when asked or when the state is foreign", () => {
    const config = proxyConfig({ clusterCIDR: "10.0.0.0/8" });
    const t = new ChangeTracker(config);
    t.updateService(service({ name: "a", clusterIP: "172.30.0.1" }));
    t.updateEndpointSlice(slice("a", ["10.1.0.1"]));
    const e = new IptablesEngine({ config });
    const first = e.sync(t.state());
    expect(first.full).toBe(true);
    expect(e.render()).toBe(first.payload);
    t.updateService(service({ name: "b", clusterIP: "172.30.0.2" }));
    const second = e.sync(t.state());
    expect(second.full).toBe(false);
    expect(second.servicePortsWritten).toBe(1); // b was rewritten, but it has no endpoints: no nat chains, only a filter REJECT
    expect(second.payload).not.toMatch(/^:KUBE-(SVC|SEP)-/m);
    expect(second.payload).toContain('"ns1/b:p80 has no endpoints"');
    expect(e.sync(t.state(), { full: true }).full).toBe(true);
    // a state built elsewhere is diffed structurally: nothing changed, nothing written
    const foreign = buildProxyState(config, {
      services: [service({ name: "a", clusterIP: "172.30.0.1" }), service({ name: "b", clusterIP: "172.30.0.2" })],
      endpointSlices: [slice("a", ["10.1.0.1"])],
    });
    const third = e.sync(foreign);
    expect(third.full).toBe(false);
    expect(third.servicePortsWritten).toBe(0);
  });

  it("bootstrap prepends the jump rules so the last ensured ends up first", () => {
    const config = proxyConfig({});
    const input = jumpRules(config)
      .filter((j) => j.table === "filter" && j.from === "INPUT")
      .map((j) => j.to);
    expect(input).toEqual(["KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL"]);
    const e = new IptablesEngine({ config });
    e.sync(buildProxyState(config, { services: [], endpointSlices: [] }));
    const chain = e
      .ruleset()
      .tables.get("filter")
      ?.chains.get("INPUT")
      ?.rules.map((r) => r.spec.target);
    expect(chain?.map((t) => (t?.kind === "chain" ? t.chain : t?.kind))).toEqual([...input].reverse());
    expect(renderBootstrap(config)).toContain("*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n");
  });
});
