import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { NftRuleset, parseNftScript } from "@knet/kube-proxy-nftables";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const MANIFEST = `apiVersion: v1
kind: Node
metadata: { name: node-1 }
status: { addresses: [{ type: InternalIP, address: 192.168.0.2 }] }
---
apiVersion: v1
kind: Service
metadata: { namespace: ns1, name: svc1 }
spec: { clusterIP: 172.30.0.41, ports: [{ name: p80, port: 80, protocol: TCP }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { namespace: ns1, name: svc1-abc, labels: { kubernetes.io/service-name: svc1 } }
addressType: IPv4
ports: [{ name: p80, port: 80, protocol: TCP }]
endpoints: [{ addresses: [10.180.0.1] }, { addresses: [10.180.0.2] }]
---
apiVersion: v1
kind: Service
metadata: { namespace: ns6, name: svc6 }
spec: { clusterIP: 172.30.0.46, type: NodePort, ports: [{ name: p80, port: 80, protocol: TCP, nodePort: 30046 }] }
`;

function manifest(): string {
  const dir = mkdtempSync(join(tmpdir(), "knet-cli-nft-"));
  const f = join(dir, "m.yaml");
  writeFileSync(f, MANIFEST);
  return f;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("knet proxy --mode nftables", () => {
  it("render prints the nft -f transaction of a full sync, with kube-proxy's chain names", async () => {
    const f = manifest();
    const r = await run(["proxy", "render", "--mode", "nftables", "-f", f, "--cluster-cidr", "10.0.0.0/8"]);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toBe('add table ip kube-proxy { comment "rules for kube-proxy" ; }');
    expect(r.out).toContain("add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80\n");
    expect(r.out).toContain("add element ip kube-proxy nodeport-ips { 192.168.0.2 }\n");
    expect(r.out).toContain(
      "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n",
    );
    expect(r.out).toContain(
      'add element ip kube-proxy no-endpoint-nodeports { tcp . 30046 comment "ns6/svc6:p80" : goto reject-chain }\n',
    );
    // The output is a transaction our ruleset (like nft) accepts.
    expect(() => new NftRuleset().apply(parseNftScript(r.out))).not.toThrow();
  });

  it("trace takes the same flags as iptables mode and shows the nft rules visited", async () => {
    const f = manifest();
    const base = ["proxy", "trace", "--mode", "nftables", "-f", f, "--cluster-cidr", "10.0.0.0/8"];
    const r = await run([...base, "--src", "10.0.1.5", "--dst", "172.30.0.41:80"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: DNAT to 10\.180\.0\.[12]:80\n/);
    expect(r.out).toContain("+ ip/services #1");
    expect(r.out).toContain("ip daddr . meta l4proto . th dport vmap @service-ips");
    const np = await run([...base, "--src", "203.0.113.9", "--dst", "192.168.0.2:30046"]);
    expect(np.out).toMatch(/^verdict: REJECT: reject-chain: ns6\/svc6:p80\n/);
    const j = await run([...base, "--src", "203.0.113.9", "--dst", "172.30.0.41:80", "--seed", "3", "--json"]);
    const doc = JSON.parse(j.out) as { mode: string; outcome: { kind: string; masquerade: boolean } };
    expect(doc.mode).toBe("nftables");
    expect(doc.outcome).toMatchObject({ kind: "dnat", masquerade: true });
  });

  it("lists nftables among the modes", async () => {
    const r = await run(["proxy", "render", "--mode", "nope", "-f", manifest()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/iptables, ipvs, nftables/);
  });
});
