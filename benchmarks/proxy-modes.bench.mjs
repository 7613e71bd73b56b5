// The proxy-mode comparison this project exists to show: the same generated
// cluster (N services x 5 endpoints) loaded into each kube-proxy engine, then
//   - the cost of a new connection's first packet through each evaluator,
//   - a full sync, and an incremental sync after one endpoint changes (the
//     engine's sync: kube-proxy's own work of computing and rendering), and
//   - loading the synced rules into the simulated node's evaluator,
// for N from 100 to 100,000. iptables walks KUBE-SERVICES linearly (O(n));
// nftables verdict maps, IPVS virtual-server tables and the eBPF LB maps hash
// (O(1)). Each (mode, N) runs on its own and is dropped before the next, so
// memory holds one engine at a time. Per-packet timings: 21 batches of about
// 20 ms wall time over the same 1,024 packets; p50_ns is the median batch and
// min_ns the best one (on the shared VM a batch that was never descheduled
// shows the work's own cost). Sync timings are wall time of one sync.
// The eBPF mode cannot program 100,000 services (Cilium's service IDs are
// 16-bit: at most 65,534 frontends), so at that size its sync rows are absent
// and its first-packet row runs the same evaluator on LB maps built with a
// wider ID space (LbReconciler's serviceIdLimit), marked beyondCiliumIdSpace.
// Run: pnpm build && node --expose-gc --max-old-space-size=12288 benchmarks/proxy-modes.bench.mjs
// (KNET_BENCH_SIZES=100,1000 and KNET_BENCH_MODES=ebpf,iptables narrow it; results/proxy-modes.json
// is written either way, so commit only a full run.)
import { registerBundledModes } from "@knet/cli";
import { ChangeTracker, proxyConfig, proxyModes, seededRandom } from "@knet/kube-proxy";
import { LbReconciler, maglevConfig, SockLbEvaluator } from "@knet/kube-proxy-ebpf";
import { median, timePerCall, writeResults } from "./lib.mjs";

const SIZES = (process.env.KNET_BENCH_SIZES ?? "100,1000,10000,100000").split(",").map(Number);
const ENDPOINTS = 5;
const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });
const octets = (i) => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
// Every mode the CLI bundles, from the kube-proxy mode registry.
registerBundledModes();
// KNET_BENCH_MODES=ebpf,nftables runs a subset (default: all).
const MODES = process.env.KNET_BENCH_MODES?.split(",");
const ENGINES = Object.fromEntries(
  proxyModes()
    .filter((m) => MODES === undefined || MODES.includes(m.name))
    .map((m) => [m.name, (o) => m.create(o)]),
);

const service = (i) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace: "bench", name: `svc${i}` },
  spec: { clusterIP: `172.${octets(i)}`, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
});
const slice = (i, salt = 0) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { namespace: "bench", name: `svc${i}-a`, labels: { "kubernetes.io/service-name": `svc${i}` } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: Array.from({ length: ENDPOINTS }, (_, k) => ({ addresses: [`10.${octets(i * ENDPOINTS + k + salt)}`] })),
});

function tracker(n) {
  const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
  for (let i = 0; i < n; i++) {
    t.updateService(service(i));
    t.updateEndpointSlice(slice(i));
  }
  return t;
}

/**
 * The eBPF evaluator on LB maps with more frontends than Cilium's 16-bit
 * service IDs allow: the same reconciler and evaluator the engine uses, with
 * a 17-bit ID space. Only the evaluator runs; no batch file is rendered.
 */
function ebpfBeyondIdSpace(state) {
  const r = new LbReconciler(
    config,
    { algorithm: "random", algorithmAnnotation: false, wildcardEntries: false, annotations: undefined },
    maglevConfig({}),
    { serviceIdLimit: 1 << 17 },
  );
  r.sync(state, { full: true });
  const ev = new SockLbEvaluator(r.maps, r.datapath, { config, maglev: maglevConfig({}), defaultAlgorithm: "random" });
  const random = seededRandom(7);
  return { evaluate: (p, o) => ev.evaluate(p, { random, now: 0, ...o }) };
}

const rows = [];
const skipped = [];
const row = (group, mode, n, ns, extra = {}) =>
  rows.push({ group, name: `${mode} n=${n}`, args: { n }, p50_ns: ns, ...extra });
const total = SIZES.length * Object.keys(ENGINES).length;
let step = 0;
// Warm-up, not recorded: every mode once at the smallest size. Whatever is measured first in a
// process runs on a heap and JIT state V8 has not settled yet (in a trial, iptables' and
// nftables' n=100 rows measured first came out 2-5x slower than measured after n=1000).
{
  const n0 = Math.min(...SIZES);
  const state0 = tracker(n0).state();
  const packet0 = { src: "10.200.0.9", dst: `172.${octets(0)}`, protocol: "tcp", sport: 40000, dport: 80 };
  for (const make of Object.values(ENGINES)) {
    const engine = make({ config, random: seededRandom(7) });
    engine.sync(state0, { full: true });
    timePerCall(() => engine.evaluate(packet0, { trace: false }), 3);
  }
  globalThis.gc?.();
}
for (const n of SIZES) {
  const t = tracker(n);
  const state = t.state();
  // The same 1024 packets for every mode: services spread over the whole list.
  const packets = Array.from({ length: 1024 }, (_, k) => ({
    src: "10.200.0.9",
    dst: `172.${octets(((k * 2654435761) >>> 0) % n)}`,
    protocol: "tcp",
    sport: 40000 + k,
    dport: 80,
    origin: "remote",
  }));
  for (const [mode, make] of Object.entries(ENGINES)) {
    step++;
    const t0 = performance.now();
    let engine = make({ config, random: seededRandom(7) });
    try {
      engine.sync(state, { full: true });
    } catch (e) {
      // A mode may not hold N services (Cilium's eBPF LB has 16-bit service IDs: at most 65,534 frontends).
      console.log(`[${step}/${total}] ${mode.padEnd(8)} n=${String(n).padEnd(6)} cannot program: ${e.message}`);
      skipped.push({ mode, n, reason: e.message });
      engine = undefined;
      globalThis.gc?.();
      if (mode === "ebpf") {
        const wide = ebpfBeyondIdSpace(state);
        const o = wide.evaluate(packets[0], { trace: false }).outcome;
        if (o.kind !== "dnat") throw new Error(`ebpf n=${n} (wide IDs): expected DNAT, got ${o.kind}`);
        const t = timePerCall((i) => wide.evaluate(packets[i & 1023], { trace: false }));
        row("first packet of a connection", mode, n, t.p50, { min_ns: t.min, beyondCiliumIdSpace: true });
        console.log(
          `[${step}/${total}] ${mode.padEnd(8)} n=${String(n).padEnd(6)} first packet ${(t.p50 / 1000).toFixed(2).padStart(8)} µs (best ${(t.min / 1000).toFixed(2)})  evaluator on maps with 17-bit service IDs; no sync rows`,
        );
        globalThis.gc?.();
      }
      continue;
    }
    const fullMs = performance.now() - t0;
    // Engines apply a payload to their simulated node lazily, on first use.
    const l0 = performance.now();
    const first = engine.evaluate(packets[0], { trace: false });
    const loadMs = performance.now() - l0;
    if (first.outcome.kind !== "dnat") throw new Error(`${mode} n=${n}: expected DNAT, got ${first.outcome.kind}`);
    const packet = timePerCall((i) => engine.evaluate(packets[i & 1023], { trace: false }));
    const packetNs = packet.p50;
    // Incremental: one endpoint of one service changes, as after a pod restart.
    const incr = [];
    let anyFull = false;
    for (let r = 1; r <= 5; r++) {
      t.updateEndpointSlice(slice(n >> 1, r % 2 ? 3_000_000 : 0));
      const next = t.state();
      const s0 = performance.now();
      const res = engine.sync(next);
      incr.push((performance.now() - s0) * 1e6);
      engine.evaluate(packets[1], { trace: false });
      // kube-proxy's IPVS mode has no partial sync: every sync is full there.
      anyFull ||= res.full;
    }
    row("first packet of a connection", mode, n, packetNs, { min_ns: packet.min });
    row("full sync", mode, n, fullMs * 1e6);
    row("load into the simulated node", mode, n, loadMs * 1e6);
    row("incremental sync (one endpoint)", mode, n, median(incr), { full: anyFull });
    console.log(
      `[${step}/${total}] ${mode.padEnd(8)} n=${String(n).padEnd(6)} first packet ${(packetNs / 1000).toFixed(2).padStart(8)} µs (best ${(packet.min / 1000).toFixed(2)})  full sync ${fullMs.toFixed(0).padStart(6)} ms  load ${loadMs.toFixed(0).padStart(6)} ms  ${anyFull ? "re-sync (full)" : "incremental"} ${(median(incr) / 1e6).toFixed(2).padStart(7)} ms`,
    );
    engine = undefined;
    globalThis.gc?.();
  }
}
const file = writeResults("proxy-modes", rows, {
  endpointsPerService: ENDPOINTS,
  sizes: SIZES,
  unit: "first packet: p50_ns median and min_ns best of 21 batches (wall ns per call); sync rows: wall time of one sync",
  // The shared VM's other jobs inflate whole batches: the curves show the best batch.
  plotField: "min_ns",
  plotLabel: "best of 21 batches",
  skipped,
});
console.log(`-> ${file}\n\nfirst packet, ratio to n=${SIZES[0]} (median batch / best batch):`);
for (const mode of Object.keys(ENGINES)) {
  const mine = rows.filter((r) => r.group === "first packet of a connection" && r.name.startsWith(`${mode} `));
  const base = mine[0];
  if (!base) continue;
  console.log(
    `  ${mode.padEnd(9)} ${mine.map((r) => `n=${r.args.n}: x${(r.p50_ns / base.p50_ns).toFixed(2)} / x${(r.min_ns / base.min_ns).toFixed(2)}`).join("  ")}`,
  );
}
