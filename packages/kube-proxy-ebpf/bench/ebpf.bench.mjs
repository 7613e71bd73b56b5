// The eBPF mode on the proxy-modes workload (N ClusterIP services x 5
// endpoints): the first packet of a connection through the evaluator (one hash
// probe per map step), a full sync (maps and the bpftool batch file), and an
// incremental sync after one endpoint changes (only the changed entries), with
// random selection up to 60,000 services (Cilium's service IDs are 16-bit: at
// most 65,534 frontends) and Maglev (per-service annotation, M = 1021) up to
// 10,000. First packet: median (p50_ns) and best (min_ns) of 21 batches of
// about 20 ms, as in benchmarks/proxy-modes.bench.mjs.
// Run: pnpm build && node benchmarks/run.mjs kube-proxy-ebpf
import { ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { EbpfEngine } from "@knet/kube-proxy-ebpf";
import { median, timePerCall, writeResults } from "../../../benchmarks/lib.mjs";

const SIZES = (process.env.KNET_BENCH_SIZES ?? "100,1000,10000,60000").split(",").map(Number);
const ENDPOINTS = 5;
const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });
const octets = (i) => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const service = (i) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace: "bench", name: `svc${i}`, annotations: { "service.cilium.io/lb-algorithm": "maglev" } },
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

const rows = [];
for (const algorithm of ["random", "maglev"]) {
  for (const n of SIZES) {
    if (algorithm === "maglev" && n > 10000) continue;
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    for (let i = 0; i < n; i++) {
      t.updateService(service(i));
      t.updateEndpointSlice(slice(i));
    }
    const state = t.state();
    const t0 = performance.now();
    const maglev = algorithm === "maglev";
    let engine = new EbpfEngine({
      config,
      random: seededRandom(7),
      ...(maglev
        ? { algorithmAnnotation: true, maglevTableSize: 1021, annotations: () => service(0).metadata.annotations }
        : {}),
    });
    const full = engine.sync(state, { full: true });
    const fullMs = performance.now() - t0;
    // Pod traffic to ClusterIPs, services spread over the whole list.
    const packets = Array.from({ length: 1024 }, (_, k) => ({
      src: "10.200.0.9",
      dst: `172.${octets(((k * 2654435761) >>> 0) % n)}`,
      protocol: "tcp",
      sport: 40000 + k,
      dport: 80,
    }));
    const o = engine.evaluate(packets[0], { trace: false }).outcome;
    if (o.kind !== "dnat") throw new Error(`n=${n}: expected DNAT, got ${o.kind}`);
    const packet = timePerCall((i) => engine.evaluate(packets[i & 1023], { trace: false }));
    const packetNs = packet.p50;
    const incr = [];
    let lines = 0;
    for (let r = 1; r <= 5; r++) {
      t.updateEndpointSlice(slice(n >> 1, r % 2 ? 3_000_000 : 0));
      const next = t.state();
      const s0 = performance.now();
      const res = engine.sync(next);
      incr.push((performance.now() - s0) * 1e6);
      lines = res.payload.split("\n").filter((l) => l.startsWith("map ")).length;
    }
    const tag = `${algorithm} n=${n}`;
    rows.push({ group: "first packet of a connection", name: tag, args: { n }, p50_ns: packetNs, min_ns: packet.min });
    rows.push({
      group: "full sync (maps + bpftool batch)",
      name: tag,
      args: { n },
      p50_ns: fullMs * 1e6,
      bytes: full.payload.length,
    });
    rows.push({
      group: "incremental sync (one endpoint)",
      name: tag,
      args: { n },
      p50_ns: median(incr),
      batchLines: lines,
    });
    console.log(
      `${algorithm.padEnd(7)} n=${String(n).padEnd(6)} first packet ${(packetNs / 1000).toFixed(2).padStart(7)} µs (best ${(packet.min / 1000).toFixed(2)})  full sync ${fullMs.toFixed(0).padStart(6)} ms  incremental ${(median(incr) / 1e6).toFixed(2).padStart(7)} ms (${lines} map commands)`,
    );
    engine = undefined;
    globalThis.gc?.();
  }
}
const file = writeResults("kube-proxy-ebpf", rows, {
  endpointsPerService: ENDPOINTS,
  sizes: SIZES,
  unit: "first packet: p50_ns median and min_ns best of 21 batches (wall ns per call); sync rows: wall time of one sync; bytes: size of the full batch file",
});
console.log(`-> ${file}\n\nfirst packet, ratio to n=${SIZES[0]}:`);
for (const algorithm of ["random", "maglev"]) {
  const mine = rows.filter((r) => r.group === "first packet of a connection" && r.name.startsWith(`${algorithm} `));
  const base = mine[0]?.p50_ns ?? 1;
  console.log(
    `  ${algorithm.padEnd(7)} ${mine.map((r) => `n=${r.args.n}: x${(r.p50_ns / base).toFixed(2)} (best x${(r.min_ns / mine[0].min_ns).toFixed(2)})`).join("  ")}`,
  );
}
