import { ConfigError, DnsIndex, DnsServer, parseCorefile, plugins } from "@knet/coredns-lite";
import { describe, expect, it } from "vitest";

describe("Corefile", () => {
  it("parses blocks, keys with ports, nested directives, comments and quotes", () => {
    const blocks = parseCorefile(`# kubeadm-like
.:5353 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure   # comment
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    cache 30 "cluster.local"
}
example.test:5353 { log }
`);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]?.zones).toEqual(["."]);
    expect(blocks[0]?.port).toBe(5353);
    const k = blocks[0]?.directives.find((d) => d.name === "kubernetes");
    expect(k?.args).toEqual(["cluster.local", "in-addr.arpa", "ip6.arpa"]);
    expect(k?.block.map((d) => [d.name, d.args])).toEqual([
      ["pods", ["insecure"]],
      ["fallthrough", ["in-addr.arpa", "ip6.arpa"]],
      ["ttl", ["30"]],
    ]);
    expect(blocks[0]?.directives.find((d) => d.name === "cache")?.args).toEqual(["30", "cluster.local"]);
    expect(blocks[1]).toMatchObject({ zones: ["example.test."], port: 5353, directives: [{ name: "log", args: [] }] });
  });

  it("has the plugin order of plugin.cfg", () => {
    expect(plugins.map((p) => p.name)).toEqual([
      "reload",
      "ready",
      "health",
      "metrics",
      "errors",
      "log",
      "any",
      "loadbalance",
      "cache",
      "autopath",
      "kubernetes",
      "loop",
      "forward",
    ]);
  });

  it("reports mistakes with their line", () => {
    const make = (config: string) => () => new DnsServer({ index: new DnsIndex(), config, listen: { port: 0 } });
    expect(make("cluster.local {\n  kubernetes {\n    pods maybe\n  }\n}")).toThrow(/line 3: kubernetes: pods takes/);
    expect(make("cluster.local {\n  kubernetes {\n    ttl 3601\n  }\n}")).toThrow(/ttl/);
    expect(make("cluster.local {\n  rewrite name a b\n}")).toThrow(/line 2: unknown directive "rewrite"/);
    expect(make("cluster.local {\n  log\n  log\n}")).toThrow(/given twice/);
    expect(make(". {\n  forward . /nonexistent/resolv.conf\n}")).toThrow(
      /line 2: forward: not an IP address or file "\/nonexistent\/resolv.conf": ENOENT/,
    );
    expect(make(". {\n  forward . dns.google\n}")).toThrow(ConfigError);
    expect(make(". {\n  cache {\n    prefetch 10\n  }\n}")).toThrow(/unsupported property "prefetch"/);
    expect(() => parseCorefile("cluster.local {\n  log\n")).toThrow(/missing }/);
  });

  it("kubernetes options change answers (ttl, ignore empty_service, namespaces, noendpoints, fallthrough)", async () => {
    const objs = [
      { kind: "Service", metadata: { name: "a", namespace: "n1" }, spec: { clusterIP: "10.9.0.1" } },
      { kind: "Service", metadata: { name: "h", namespace: "n2" }, spec: { clusterIP: "None" } },
      {
        kind: "EndpointSlice",
        metadata: { name: "h-1", namespace: "n2", labels: { "kubernetes.io/service-name": "h" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.9.1.1"] }],
      },
    ];
    const { encodeQuery, decodeMessage, RRType } = await import("@knet/coredns-lite");
    const ask = (config: string, name: string) => {
      const s = new DnsServer({ index: DnsIndex.from(objs as never), config, listen: { port: 0 } });
      const r = s.handle(encodeQuery(1, name, RRType.A), "udp");
      if (r === null || r instanceof Promise) throw new Error("expected a synchronous reply");
      return decodeMessage(r);
    };
    expect(ask("cluster.local { kubernetes {\n ttl 30\n} }", "a.n1.svc.cluster.local.").answer[0]?.ttl).toBe(30);
    expect(ask("cluster.local { kubernetes {\n ignore empty_service\n} }", "a.n1.svc.cluster.local.").rcode).toBe(3);
    expect(ask("cluster.local { kubernetes {\n namespaces n2\n} }", "a.n1.svc.cluster.local.").rcode).toBe(3);
    expect(ask("cluster.local { kubernetes {\n namespaces n2\n} }", "h.n2.svc.cluster.local.").answer).toHaveLength(1);
    expect(ask("cluster.local { kubernetes {\n noendpoints\n} }", "h.n2.svc.cluster.local.").rcode).toBe(3);
    // fallthrough: the NXDOMAIN goes on; with no next plugin the chain ends in SERVFAIL, as CoreDNS's does.
    expect(ask("cluster.local { kubernetes {\n fallthrough\n} }", "zz.n1.svc.cluster.local.").rcode).toBe(2);
    expect(ask("cluster.local { kubernetes }", "zz.n1.svc.cluster.local.").rcode).toBe(3);
  });
});
