/**
 * Kernel tests: the rendered transactions in a real kernel (namespaces
 * `knet-*`, created and deleted here). Topology:
 *
 *   client (192.168.0.10) --veth-- node (192.168.0.2; kube-proxy table) --veth-- backend k (10.180.k.0/24, several IPs)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EndpointSlice, Service } from "@knet/k8s";
import { buildProxyState, ChangeTracker, type ProxyState, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { NftablesEngine, NftRuleset, parseNftListing } from "@knet/kube-proxy-nftables";
import { describeKernel, Netns, vethPair } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

const BACKENDS = 3;
const IPS_PER_BACKEND = 4;
const config = proxyConfig({
  nodeName: "node-1",
  nodeIPs: ["192.168.0.2"],
  clusterCIDR: "10.0.0.0/8",
});

function mulberry(seed: number): () => number {
  const r = seededRandom(seed);
  return () => r.next();
}

/** All endpoint addresses the backend namespaces own. */
const endpointIPs = Array.from(
  { length: BACKENDS * IPS_PER_BACKEND },
  (_, i) => `10.180.${Math.floor(i / IPS_PER_BACKEND)}.${10 + (i % IPS_PER_BACKEND)}`,
);

interface Scenario {
  readonly services: Service[];
  readonly endpointSlices: EndpointSlice[];
}

/** Random services over the backend addresses: ClusterIP and NodePort, 1-5 endpoints, one without endpoints. */
function scenario(seed: number, n: number): Scenario {
  const rand = mulberry(seed);
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc${i}`;
    const nodePort = rand() < 0.5 ? 30000 + i : undefined;
    const port = rand() < 0.5 ? 80 : 8080;
    services.push(
      service({
        name,
        clusterIP: `172.30.0.${10 + i}`,
        ...(nodePort !== undefined ? { type: "NodePort" as const } : {}),
        ports: [{ name: "p", port: 80 + i, ...(nodePort !== undefined ? { nodePort } : {}) }],
      }),
    );
    if (i === n - 1) continue; // the last service has no endpoints
    const count = 1 + Math.floor(rand() * 5);
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(endpointIPs[Math.floor(rand() * endpointIPs.length)] as string);
    endpointSlices.push(slice(name, [...chosen], { ports: [{ name: "p", port }] }));
  }
  return { services, endpointSlices };
}

const SERVER = `
const net = require("node:net");
for (const port of [80, 8080]) {
  net.createServer((s) => { s.end(s.localAddress + ":" + s.localPort + "\\n"); }).listen(port, "0.0.0.0");
}
console.log("ready");
`;

const CLIENT = `
const net = require("node:net");
const targets = JSON.parse(process.argv[1]);
const out = [];
function one(t) {
  return new Promise((resolve) => {
    let data = "";
    const s = net.connect({ host: t.host, port: t.port, timeout: 1500 });
    s.on("data", (d) => (data += d));
    s.on("end", () => resolve(data.trim()));
    s.on("timeout", () => { s.destroy(); resolve("timeout"); });
    s.on("error", (e) => resolve(e.code || "error"));
  });
}
(async () => {
  for (const t of targets) out.push(await one(t));
  process.stdout.write(JSON.stringify(out));
})();
`;

describeKernel("nftables mode in the kernel", { commands: ["ip", "nft"] }, () => {
  const made: Netns[] = [];
  let node: Netns;
  let client: Netns;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "knet-nft-"));
    node = Netns.create("nftnode");
    client = Netns.create("nftcli");
    made.push(node, client);
    const [cn, nc] = vethPair(client, node);
    client.must("ip", ["addr", "add", "192.168.0.10/24", "dev", cn]);
    client.must("ip", ["route", "add", "default", "via", "192.168.0.2"]);
    node.must("ip", ["addr", "add", "192.168.0.2/24", "dev", nc]);
    node.must("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    // `reject` answers with ICMP port unreachable; without this the kernel rate-limits those answers
    // and back-to-back test connections would time out instead of being refused.
    node.must("sysctl", ["-q", "-w", "net.ipv4.icmp_ratelimit=0"]);
    // A default route, as a real node has: traffic to a ClusterIP that is not DNATed still reaches the forward hook.
    node.must("ip", ["route", "add", "default", "via", "192.168.0.10"]);
    const ready: Promise<void>[] = [];
    for (let k = 0; k < BACKENDS; k++) {
      const b = Netns.create(`nftb${k}`);
      made.push(b);
      const [bn, nb] = vethPair(b, node);
      for (let j = 0; j < IPS_PER_BACKEND; j++) b.must("ip", ["addr", "add", `10.180.${k}.${10 + j}/24`, "dev", bn]);
      b.must("ip", ["route", "add", "default", "via", `10.180.${k}.1`]);
      node.must("ip", ["addr", "add", `10.180.${k}.1/24`, "dev", nb]);
      const child = b.spawn(process.execPath, ["-e", SERVER]);
      ready.push(
        new Promise((resolve, reject) => {
          child.stdout?.on("data", () => resolve());
          child.on("exit", (c) => reject(new Error(`backend server exited ${c}`)));
        }),
      );
    }
    await Promise.all(ready);
  });

  afterAll(() => {
    for (const ns of made.reverse()) ns.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  function loadFresh(text: string): void {
    node.run("nft", ["delete", "table", "ip", "kube-proxy"]);
    node.must("nft", ["-f", file("load.nft", text)]);
  }

  function kernelDump(): string {
    const rs = new NftRuleset();
    rs.apply(parseNftListing(node.must("nft", ["list", "table", "ip", "kube-proxy"])));
    return rs.dump();
  }

  function connect(targets: { host: string; port: number }[]): string[] {
    return JSON.parse(
      client.must(process.execPath, ["-e", CLIENT, JSON.stringify(targets)], undefined, 120_000),
    ) as string[];
  }

  it("the rendered transactions pass nft -c, IPv4 and IPv6, first and later full syncs", () => {
    const s = scenario(1, 12);
    const e = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], now: () => 0 });
    const st = buildProxyState({ family: 4, nodeName: "node-1" }, s);
    const text = e.sync(st).payload;
    const check = (t: string) => node.run("nft", ["-c", "-f", file("check.nft", t)]);
    const r1 = check(text);
    expect(r1.stderr).toBe("");
    expect(r1.code).toBe(0);
    // A richer IPv4 mix: eTP=Local, LB with source ranges, externalIPs, affinity, iTP=Local.
    const rich = buildProxyState(
      { family: 4, nodeName: "node-1" },
      {
        services: [
          service({
            name: "a",
            clusterIP: "172.30.1.1",
            type: "NodePort",
            eTP: "Local",
            ports: [{ name: "p", port: 80, nodePort: 30100 }],
          }),
          service({
            name: "b",
            clusterIP: "172.30.1.2",
            type: "LoadBalancer",
            ports: [{ name: "p", port: 80, nodePort: 30101 }],
            lbIngress: ["5.6.7.8"],
            sourceRanges: ["203.0.113.0/25", "192.168.0.0/24"],
          }),
          service({ name: "c", clusterIP: "172.30.1.3", externalIPs: ["192.168.99.3"], affinitySeconds: 600 }),
          service({ name: "d", clusterIP: "172.30.1.4", iTP: "Local" }),
        ],
        endpointSlices: [
          slice(
            "a",
            [
              { ip: "10.180.0.10", node: "node-1" },
              { ip: "10.180.1.10", node: "node-2" },
            ],
            { ports: [{ name: "p", port: 80 }] },
          ),
          slice("b", ["10.180.2.10"], { ports: [{ name: "p", port: 80 }] }),
          slice("c", ["10.180.0.11", "10.180.1.11"], { ports: [{ name: "p", port: 80 }] }),
          slice("d", [{ ip: "10.180.2.11", node: "node-2" }], { ports: [{ name: "p", port: 80 }] }),
        ],
      },
    );
    const e2 = new NftablesEngine({ config, now: () => 0 });
    const r2 = check(e2.sync(rich).payload);
    expect(r2.stderr).toBe("");
    const e6 = new NftablesEngine({
      config: proxyConfig({
        family: 6,
        nodeIPs: ["fd00:192::2"],
        clusterCIDR: "fd00:10::/32",
        nodePortAddresses: ["::/0"],
      }),
      now: () => 0,
    });
    const st6 = buildProxyState(
      { family: 6, nodeName: "node-1" },
      {
        services: [
          service({
            name: "v6",
            clusterIP: "fd00:30::5",
            type: "NodePort",
            affinitySeconds: 60,
            ports: [{ name: "p", port: 80, nodePort: 30080 }],
          }),
        ],
        endpointSlices: [
          slice("v6", ["fd00:10:180::1", "fd00:10:180::2:1"], { family: 6, ports: [{ name: "p", port: 80 }] }),
        ],
      },
    );
    const r3 = check(e6.sync(st6).payload);
    expect(r3.stderr).toBe("");
    expect(r3.code).toBe(0);
    // A broken transaction is refused by the kernel as by our ruleset.
    const bad = `${text}add rule ip kube-proxy services jump no-such-chain\n`;
    expect(check(bad).code).not.toBe(0);
    expect(() => new NftRuleset().apply(parseNftListing(""))).not.toThrow();
  });

  it("real connections land on the backends the evaluator picks, with the same distribution", () => {
    const s = scenario(7, 10);
    const e = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], random: seededRandom(3), now: () => 0 });
    const st = buildProxyState({ family: 4, nodeName: "node-1" }, s);
    loadFresh(e.sync(st).payload);
    // Our state equals what the kernel holds.
    expect(kernelDump()).toBe(e.ruleset.dump());
    const rand = mulberry(99);
    const targets: { host: string; port: number; key: string }[] = [];
    const picks = [...st.order].sort(() => rand() - 0.5).slice(0, 6);
    const withEp = st.order.filter((k) => (st.endpoints.get(k) ?? []).length > 0);
    for (const k of withEp.slice(0, 1)) if (!picks.includes(k)) picks.push(k);
    for (const key of picks) {
      const sp = st.servicePorts.get(key);
      if (!sp) continue;
      const host = sp.nodePort !== 0 && rand() < 0.5 ? "192.168.0.2" : sp.clusterIP.toString();
      const port = host === "192.168.0.2" ? sp.nodePort : sp.port;
      targets.push({ host, port, key });
    }
    const PER = 90;
    const batch = targets.flatMap((t) => Array.from({ length: PER }, () => ({ host: t.host, port: t.port })));
    const results = connect(batch);
    let checked = 0;
    targets.forEach((t, ti) => {
      const got = results.slice(ti * PER, (ti + 1) * PER);
      // What the evaluator says for the same packet.
      const evalCounts = new Map<string, number>();
      const r = seededRandom(1000 + ti);
      for (let i = 0; i < 600; i++) {
        const o = e.evaluate(
          { src: "192.168.0.10", dst: t.host, dport: t.port, sport: 20000 + i },
          { random: r, trace: false },
        ).outcome;
        const k =
          o.kind === "dnat" ? `${o.backend.ip}:${o.backend.port}` : o.kind === "reject" ? "ECONNREFUSED" : o.kind;
        evalCounts.set(k, (evalCounts.get(k) ?? 0) + 1);
      }
      const kernelCounts = new Map<string, number>();
      for (const g of got) kernelCounts.set(g, (kernelCounts.get(g) ?? 0) + 1);
      expect([...kernelCounts.keys()].sort(), `${t.key} via ${t.host}:${t.port}`).toEqual(
        [...evalCounts.keys()].sort(),
      );
      // Chi-square, kernel counts against the evaluator's proportions. Critical values at p = 0.0001:
      // with several services per run, a looser level would fail a correct run now and then.
      const k = evalCounts.size;
      if (k > 1) {
        let chi2 = 0;
        for (const [b, c] of evalCounts) {
          const exp = (c / 600) * PER;
          chi2 += ((kernelCounts.get(b) ?? 0) - exp) ** 2 / exp;
        }
        const crit = [0, 15.14, 18.42, 21.11, 23.51][k - 1] ?? 25.74;
        console.log(
          `${t.key} via ${t.host}:${t.port}: kernel ${JSON.stringify([...kernelCounts].sort())} chi2=${chi2.toFixed(2)} (crit ${crit}, ${k - 1} dof)`,
        );
        expect(chi2, `${t.key}: ${JSON.stringify([...kernelCounts])}`).toBeLessThan(crit);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(0);
    // Not service traffic: a port the ClusterIP does not serve is rejected, in both.
    const sp0 = st.servicePorts.get(st.order[0] as string);
    if (sp0) {
      const [res] = connect([{ host: sp0.clusterIP.toString(), port: 9 }]);
      expect(res).toBe("ECONNREFUSED");
      expect(e.evaluate({ src: "192.168.0.10", dst: sp0.clusterIP, dport: 9 }).outcome.kind).toBe("reject");
    }
  });

  it("an incremental sync applied on top gives the same table as a full sync of the new state", () => {
    const clock = { t: 0 };
    const e = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], now: () => clock.t });
    const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });
    const s1 = scenario(11, 15);
    for (const s of s1.services) tracker.updateService(s);
    for (const s of s1.endpointSlices) tracker.updateEndpointSlice(s);
    loadFresh(e.sync(tracker.state()).payload);
    // Changes: new endpoints for some, a deleted service, a new service with affinity, NodePort added.
    const s2 = scenario(12, 15);
    for (let i = 0; i < 15; i += 3) {
      tracker.updateService(s2.services[i] as Service);
      tracker.deleteEndpointSlice("ns1", `svc${i}-v4`);
      const sl = s2.endpointSlices.find((x) => x.metadata?.name === `svc${i}-v4`);
      if (sl) tracker.updateEndpointSlice(sl);
    }
    tracker.deleteService("ns1", "svc4");
    tracker.deleteEndpointSlice("ns1", "svc4-v4");
    tracker.updateService(
      service({ name: "new", clusterIP: "172.30.2.1", affinitySeconds: 30, ports: [{ name: "p", port: 80 }] }),
    );
    tracker.updateEndpointSlice(slice("new", ["10.180.0.12", "10.180.1.12"], { ports: [{ name: "p", port: 80 }] }));
    clock.t = 100;
    const inc = e.sync(tracker.state());
    expect(inc.full).toBe(false);
    for (const tx of inc.transactions) node.must("nft", ["-f", file("inc.nft", tx)]);
    // Stale chains are flushed now, deleted by a later sync (>= 1 s).
    clock.t = 1500;
    const later = e.sync(tracker.state());
    expect(later.transactions.length).toBe(1);
    for (const tx of later.transactions) node.must("nft", ["-f", file("later.nft", tx)]);
    const incremental = kernelDump();
    expect(incremental).toBe(e.ruleset.dump());
    const full = new NftablesEngine({ config, serviceCIDRs: ["172.30.0.0/16"], now: () => 0 });
    const fresh: ProxyState = tracker.state();
    loadFresh(full.sync(fresh).payload);
    expect(kernelDump()).toBe(incremental);
  });
});
