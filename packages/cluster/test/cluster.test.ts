import { readFileSync } from "node:fs";
import { Cluster, type ClusterTrace, formatClusterTrace, traceRequest } from "@knet/cluster";
import "./modes.js";
import { Addr, Prefix } from "@knet/netstack";
import { beforeAll, describe, expect, it } from "vitest";

const manifests = readFileSync(new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url), "utf8");
const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";
const API_PODS = ["shop/api-5b7c9d8f6-4kz8m", "shop/api-5b7c9d8f6-7wq2n", "shop/api-5b7c9d8f6-x9p3r"];

describe.each(["iptables", "nftables", "ipvs"] as const)("the demo cluster in %s mode", (mode) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.fromManifests(manifests, { mode });
  });

  it("gives every pod a unique address inside its node's pod CIDR, and services their addresses", () => {
    const seen = new Set<string>();
    for (const p of cluster.pods.values()) {
      const node = cluster.nodes.get(p.node);
      expect(node?.podCidr.contains(p.ip)).toBe(true);
      expect(seen.has(p.ip.toString())).toBe(false);
      seen.add(p.ip.toString());
    }
    expect(cluster.pods.size).toBe(8);
    expect([...cluster.nodes.values()].map((n) => n.podCidr.toString())).toEqual(["10.244.1.0/24", "10.244.2.0/24"]);
    const svcCidr = Prefix.parse("10.96.0.0/12");
    for (const s of cluster.services.values()) {
      const ip = s.service.spec?.clusterIP;
      if (s.service.spec?.type === "ExternalName") expect(ip).toBeUndefined();
      else if (ip !== "None") expect(svcCidr.contains(Addr.parse(ip ?? ""))).toBe(true);
    }
    expect(cluster.nodes.get("node-a")?.subnetEnv).toContain("FLANNEL_MTU=1450");
  });

  it("traces a request to a service by name: ndots:5 search expansion, DNAT to an api pod, allowed by policy", () => {
    const t = traceRequest(cluster, { from: FRONTEND, to: "http://api.shop.svc.cluster.local:80" });
    // 4 dots < ndots:5, so glibc walks the whole search list before the name as given.
    expect(t.candidates).toHaveLength(4);
    expect(t.dns.map((d) => d.rcode)).toEqual(["NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "NOERROR"]);
    expect(t.address).toBe(cluster.services.get("shop/api")?.service.spec?.clusterIP);
    expect(t.dnsPath?.outcome.kind).toBe("delivered");
    expect(t.connected).toBe(true);
    expect(API_PODS).toContain(t.backend?.pod);
    expect(t.backend?.port).toBe(8080);
    const dnat = t.proxy[0]?.evaluation.outcome;
    expect(dnat?.kind).toBe("dnat");
    expect(t.policy.every((d) => d.verdict.allowed)).toBe(true);
    expect(formatClusterTrace(t)).toContain("connected:");
  });

  it("reaches every api backend over many connections, across nodes through VXLAN", () => {
    const backends = new Set<string>();
    let crossNode: ClusterTrace | undefined;
    for (let i = 0; i < 40; i++) {
      const t = traceRequest(cluster, { from: FRONTEND, to: "http://api.shop:80" });
      expect(t.connected).toBe(true);
      backends.add(t.backend?.pod ?? "");
      if (t.backend?.node === "node-b") crossNode = t;
    }
    expect([...backends].sort()).toEqual([...API_PODS].sort());
    const steps = crossNode?.path?.steps ?? [];
    const encap = steps.find((s) => s.kind === "encap");
    expect(encap?.ns).toBe("node-a");
    expect(encap?.dev).toBe("flannel.1");
    expect(steps.some((s) => s.kind === "decap" && s.ns === "node-b")).toBe(true);
  });

  it("explains a denied flow: frontend -> db is dropped by the default-deny ingress policy", () => {
    const t = traceRequest(cluster, { from: FRONTEND, to: "http://db.shop:5432" });
    expect(t.dns.at(-1)?.rcode).toBe("NOERROR"); // headless: pod addresses
    expect(t.connected).toBe(false);
    expect(t.path?.outcome.kind).toBe("dropped");
    const denied = t.policy.find((d) => !d.verdict[d.direction].allowed);
    expect(denied?.direction).toBe("ingress");
    expect(denied?.verdict.ingress.steps.at(-1)?.policies).toContain("shop/default-deny-ingress");
    expect(t.summary).toContain("denied by NetworkPolicy");
  });

  it("resolves an ExternalName to its CNAME and says it cannot connect without an upstream", () => {
    const t = traceRequest(cluster, { from: FRONTEND, to: "http://payments:443" });
    const hit = t.dns.find((d) => d.answer.some((a) => a.includes("CNAME")));
    expect(hit?.answer.join(" ")).toContain("payments.example.com");
    expect(t.address).toBeUndefined();
    expect(t.summary).toContain("could not resolve");
  });

  it("a NodePort reached through the other node is masqueraded into the pod network, so the ipBlock allow misses it", () => {
    // externalTrafficPolicy Cluster: node-b DNATs to the frontend on node-a and masquerades to its
    // flannel.1 address (10.244.2.0), which allow-external-to-frontend's `except: [10.244.0.0/16]` excludes.
    const nodeB = cluster.nodes.get("node-b");
    const t = traceRequest(cluster, { from: FRONTEND, to: `http://${nodeB?.ip}:30080` });
    const nat = t.path?.steps.find((s) => s.kind === "nat" && s.ns === "node-b" && s.rewrite?.startsWith("src"));
    expect(nat?.rewrite).toContain("-> 10.244.2.0");
    expect(t.proxy.find((p) => p.node === "node-b")?.evaluation.outcome).toMatchObject({
      kind: "dnat",
      masquerade: true,
    });
    expect(t.connected).toBe(false);
    const denied = t.policy.find((d) => !d.verdict[d.direction].allowed);
    expect(denied?.verdict.flow.from).toBe("10.244.2.0");
    expect(denied?.verdict.ingress.steps.at(-1)?.policies).toContain("shop/allow-external-to-frontend");
  });

  it("rejects bad requests with errors that name the problem", () => {
    expect(() => traceRequest(cluster, { from: "shop/nope", to: "http://api:80" })).toThrow(
      /no pod "shop\/nope" \(pods: /,
    );
    expect(() => traceRequest(cluster, { from: FRONTEND, to: "ftp://api" })).toThrow(/no port/);
  });
});

describe("allocation is deterministic", () => {
  it("the same manifests give the same ClusterIPs and NodePorts on every build, whatever the endpoint seed", async () => {
    // The demo with its ClusterIPs and NodePorts left to the allocators.
    const unpinned = manifests.replace(/^\s*clusterIP: 10\.[\d.]+\n/gm, "").replace(/^\s*nodePort: \d+\n/gm, "");
    const addresses = async (seed: number) =>
      [...(await Cluster.fromManifests(unpinned, { seed })).services.values()].map(
        (s) =>
          `${s.key} ${s.service.spec?.clusterIP} ${(s.service.spec?.ports ?? []).map((p) => p.nodePort ?? "-").join(",")}`,
      );
    const first = await addresses(1);
    expect(first.some((l) => /^shop\/api 10\.\d+\.\d+\.\d+ /.test(l))).toBe(true);
    expect(first.some((l) => /^shop\/web \S+ 3\d{4}/.test(l))).toBe(true);
    expect(await addresses(1)).toEqual(first);
    expect(await addresses(5)).toEqual(first);
  });
});

describe("nodes outside the default node network", () => {
  it("routes node processes through their own subnet's router (InternalIPs in 172.18.0.0/24)", async () => {
    const moved = manifests.replaceAll("192.168.49.", "172.18.0.");
    const c = await Cluster.fromManifests(moved);
    const fromPod = traceRequest(c, { from: FRONTEND, to: "http://api.shop.svc.cluster.local:80" });
    expect(fromPod.connected, formatClusterTrace(fromPod)).toBe(true);
    const fromNode = traceRequest(c, { from: "node-a", to: "http://10.96.100.20:80" });
    expect(fromNode.connected, formatClusterTrace(fromNode)).toBe(true);
    expect(formatClusterTrace(fromNode)).toContain("default via 172.18.0.1 dev eth0");
  });
});
