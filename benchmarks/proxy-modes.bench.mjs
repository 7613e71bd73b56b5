// The proxy-mode comparison this project exists to show: the same generated
// cluster (N services x 5 endpoints) loaded into each kube-proxy engine, and the
// cost of one new connection's first packet through each evaluator, for N from
// 100 to 100,000. iptables walks KUBE-SERVICES linearly (O(n)); nftables and
// IPVS hash (O(1)). Packets go to services spread over the whole list.
// Run: pnpm build && node benchmarks/proxy-modes.bench.mjs
import { ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { NftablesEngine } from "@knet/kube-proxy-nftables";
import { bench, do_not_optimize, group, runBench } from "./lib.mjs";

const SIZES = (process.env.KNET_BENCH_SIZES ?? "100,1000,10000,100000").split(",").map(Number);
const ENDPOINTS = 5;
const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });
const octets = (i) => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const engines = { iptables: (o) => new IptablesEngine(o), nftables: (o) => new NftablesEngine(o) };
try {
  const { IpvsEngine } = await import("@knet/kube-proxy-ipvs");
  if (typeof IpvsEngine === "function") engines.ipvs = (o) => new IpvsEngine(o);
} catch {
  // IPVS mode not built: compare the two others.
}

const states = new Map();
function stateOf(n) {
  if (!states.has(n)) {
    process.stderr.write(`  generating ${n} services x ${ENDPOINTS} endpoints\n`);
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    for (let i = 0; i < n; i++) {
      t.updateService({
        apiVersion: "v1",
        kind: "Service",
        metadata: { namespace: "bench", name: `svc${i}` },
        spec: { clusterIP: `172.${octets(i)}`, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
      });
      t.updateEndpointSlice({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { namespace: "bench", name: `svc${i}-a`, labels: { "kubernetes.io/service-name": `svc${i}` } },
        addressType: "IPv4",
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        endpoints: Array.from({ length: ENDPOINTS }, (_, k) => ({ addresses: [`10.${octets(i * ENDPOINTS + k)}`] })),
      });
    }
    states.set(n, t.state());
  }
  return states.get(n);
}

const setupTimes = [];
group("first packet of a connection to a ClusterIP", () => {
  for (const [mode, make] of Object.entries(engines)) {
    bench(`${mode} n=$n`, function* (s) {
      const n = s.get("n");
      const state = stateOf(n);
      const t0 = performance.now();
      const engine = make({ config, random: seededRandom(7) });
      engine.sync(state, { full: true });
      setupTimes.push({ mode, n, sync_ms: performance.now() - t0 });
      process.stderr.write(`  ${mode}: synced ${n} services in ${(performance.now() - t0).toFixed(0)} ms\n`);
      // 1024 packets to services spread evenly over the list (same targets for every mode).
      const packets = Array.from({ length: 1024 }, (_, k) => ({
        src: "10.200.0.9",
        dst: `172.${octets(Math.floor(((k * 2654435761) >>> 0) % n))}`,
        protocol: "tcp",
        sport: 40000 + (k & 1023),
        dport: 80,
        origin: "remote",
      }));
      const check = engine.evaluate(packets[0], { trace: false });
      if (check.outcome.kind !== "dnat") throw new Error(`${mode}: expected a DNAT, got ${check.outcome.kind}`);
      let k = 0;
      yield () => do_not_optimize(engine.evaluate(packets[k++ & 1023], { trace: false }).outcome);
    }).args("n", SIZES);
  }
});

const rows = await runBench("proxy-modes", { endpointsPerService: ENDPOINTS, setup: setupTimes });
console.log("\nper-packet p50 by mode (ratio to n=100):");
for (const mode of Object.keys(engines)) {
  const mine = rows.filter((r) => r.name.startsWith(`${mode} `));
  const base = mine.find((r) => r.args.n === SIZES[0])?.p50_ns ?? 1;
  console.log(
    `  ${mode.padEnd(9)} ${mine.map((r) => `n=${r.args.n}: ${r.p50_ns.toFixed(0)} ns (x${(r.p50_ns / base).toFixed(1)})`).join("  ")}`,
  );
}
