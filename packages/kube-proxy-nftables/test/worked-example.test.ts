import { readFileSync } from "node:fs";
import { buildProxyState, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { NftablesEngine, NftEvaluator, NftRuleset, parseNftListing, parseNftScript } from "@knet/kube-proxy-nftables";
import { Addr } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

/** The reference's worked example (kube-proxy.md 6.4): ns1/svc1 with 2 endpoints, ns6/svc6 with none. */
function workedExampleEngine(): NftablesEngine {
  const config = proxyConfig({
    nodeName: "node-1",
    nodeIPs: ["192.168.0.2"],
    clusterCIDR: "10.0.0.0/8",
    nodePortAddresses: ["192.168.0.2/32"],
  });
  const engine = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], random: seededRandom(1), now: () => 0 });
  const state = buildProxyState(
    { family: 4, nodeName: "node-1" },
    {
      services: [
        service({ name: "svc1", clusterIP: "172.30.0.41" }),
        service({ ns: "ns6", name: "svc6", clusterIP: "172.30.0.46" }),
      ],
      endpointSlices: [slice("svc1", ["10.180.0.1", "10.180.0.2"])],
    },
  );
  engine.sync(state);
  return engine;
}

describe("the reference's worked example (nftables, section 6.4)", () => {
  it("a first full sync writes exactly the reference transaction", () => {
    const config = proxyConfig({
      nodeIPs: ["192.168.0.2"],
      clusterCIDR: "10.0.0.0/8",
      nodePortAddresses: ["192.168.0.2/32"],
    });
    const engine = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], now: () => 0 });
    const state = buildProxyState(
      { family: 4, nodeName: "node-1" },
      {
        services: [
          service({ name: "svc1", clusterIP: "172.30.0.41" }),
          service({ ns: "ns6", name: "svc6", clusterIP: "172.30.0.46" }),
        ],
        endpointSlices: [slice("svc1", ["10.180.0.1", "10.180.0.2"])],
      },
    );
    const r = engine.sync(state);
    expect(r.full).toBe(true);
    expect(r.payload).toBe(fixture("worked-example.nft"));
    expect(engine.render()).toBe(fixture("worked-example.nft"));
  });

  it("uses kube-proxy's chain names", () => {
    const chains = [...(workedExampleEngine().ruleset.table("ip", "kube-proxy")?.chains.keys() ?? [])];
    expect(chains).toContain("service-ULMVA6XW-ns1/svc1/tcp/p80");
    expect(chains).toContain("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
    expect(chains).toContain("endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80");
  });

  it("the state it builds equals what the real kernel listed after loading it (nft 1.0.6)", () => {
    const fromKernel = new NftRuleset();
    fromKernel.apply(parseNftListing(fixture("worked-example.list")));
    expect(workedExampleEngine().ruleset.dump()).toBe(fromKernel.dump());
  });

  it("evaluates the example as the kernel would route it", () => {
    const rs = new NftRuleset();
    rs.apply(parseNftScript(fixture("worked-example.nft")));
    const ev = new NftEvaluator(rs, { isLocal: (a) => a.equals(Addr.parse("192.168.0.2")) });
    const pkt = (src: string, dst: string, dport: number) => ({
      src: Addr.parse(src),
      dst: Addr.parse(dst),
      proto: "tcp",
      sport: 40000,
      dport,
    });
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const r = ev.evaluate(pkt("10.0.1.5", "172.30.0.41", 80));
      expect(r.verdict).toBe("accept");
      expect(r.dnat).toBe(true);
      expect(r.masquerade).toBe(false);
      seen.add(`${r.dst}:${r.dport}`);
    }
    expect([...seen].sort()).toEqual(["10.180.0.1:80", "10.180.0.2:80"]);
    const outside = ev.evaluate(pkt("203.0.113.9", "172.30.0.41", 80));
    expect(outside.masquerade).toBe(true);
    expect(outside.hooks).toEqual(["prerouting", "forward", "postrouting"]);
    const noEp = ev.evaluate(pkt("10.0.1.5", "172.30.0.46", 80), { trace: true });
    expect(noEp.verdict).toBe("reject");
    expect(noEp.decidedBy).toBe("reject-chain: ns6/svc6:p80");
    expect(noEp.trace?.some((s) => s.chain === "service-endpoints-check" && s.result === "goto")).toBe(true);
    expect(ev.evaluate(pkt("10.0.1.5", "172.30.0.41", 81)).verdict).toBe("reject");
    const unalloc = ev.evaluate(pkt("10.0.1.5", "172.30.9.9", 80));
    expect(unalloc.verdict).toBe("drop");
    expect(unalloc.decidedBy).toBe("cluster-ips-check: Drop traffic to unallocated ClusterIPs");
    expect(ev.evaluate(pkt("10.0.1.5", "8.8.8.8", 53)).verdict).toBe("accept");
  });
});
