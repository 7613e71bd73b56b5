// kube-proxy iptables mode: render and partial-sync cost, evaluator throughput and
// per-packet scaling with the number of services. Run against the built package:
//   pnpm --filter "@knet/kube-proxy-iptables..." run build && node packages/kube-proxy-iptables/bench/iptables.bench.mjs
import { ChangeTracker, proxyConfig } from "@knet/kube-proxy";
import { IptablesEngine, newRenderCache, renderRestore } from "@knet/kube-proxy-iptables";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });

const ip = (base, i) => `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function svc(i) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: "bench", name: `svc${i}` },
    spec: { clusterIP: ip(172, i), ports: [{ name: "http", port: 80, protocol: "TCP" }] },
  };
}

function slice(i, endpoints, salt = 0) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: "bench", name: `svc${i}-x`, labels: { "kubernetes.io/service-name": `svc${i}` } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: Array.from({ length: endpoints }, (_, k) => ({ addresses: [ip(10, i * endpoints + k + salt)] })),
  };
}

function tracker(n, endpoints) {
  const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
  for (let i = 0; i < n; i++) {
    t.updateService(svc(i));
    t.updateEndpointSlice(slice(i, endpoints));
  }
  return t;
}

const states = new Map();
function stateOf(n, endpoints) {
  const key = `${n}/${endpoints}`;
  if (!states.has(key)) states.set(key, tracker(n, endpoints).state());
  return states.get(key);
}

group("full render (services x 10 endpoints)", () => {
  bench("full render $n services", function* (s) {
    const state = stateOf(s.get("n"), 10);
    const options = { config };
    renderRestore(options, { state }); // warm the chain-name memo, as kube-proxy keeps names per service
    yield () => do_not_optimize(renderRestore(options, { state, cache: newRenderCache() }).payload.length);
  }).args("n", [1000, 5000, 10000]);
});

group("partial sync of one endpoint change (services x 10 endpoints)", () => {
  bench("partial sync $n services", function* (s) {
    const n = s.get("n");
    const t = tracker(n, 10);
    const engine = new IptablesEngine({ config, simulate: false });
    engine.sync(t.state());
    let flip = 0;
    yield () => {
      flip ^= 1;
      t.updateEndpointSlice(slice(n >> 1, 10, flip * 7_000_000));
      const r = engine.sync(t.state());
      if (r.full || r.servicePortsWritten !== 1) throw new Error("expected a partial sync of one service");
      return do_not_optimize(r.payload.length);
    };
  }).args("n", [1000, 10000]);
});

// Evaluator: a packet to the last service walks the whole KUBE-SERVICES chain (O(n), as in the kernel).
const evalSetups = new Map();
function evalSetup(n) {
  if (!evalSetups.has(n)) {
    const engine = new IptablesEngine({ config });
    engine.sync(tracker(n, 1).state());
    const ev = engine.iptablesEvaluator();
    const packet = { src: "10.1.2.3", dst: ip(172, n - 1), dport: 80, origin: "remote" };
    const visited = ev.evaluate(packet, { trace: false }).rulesVisited;
    const chainVisited = ev.walkChain("nat", "KUBE-SERVICES", packet);
    evalSetups.set(n, { engine, ev, packet, visited, chainVisited });
  }
  return evalSetups.get(n);
}

const SIZES = [100, 1000, 10000, 100000];
group("evaluator: KUBE-SERVICES scan to the last service", () => {
  bench("walk nat KUBE-SERVICES $n services", function* (s) {
    const { ev, packet } = evalSetup(s.get("n"));
    yield () => do_not_optimize(ev.walkChain("nat", "KUBE-SERVICES", packet));
  }).args("n", SIZES);
});

group("evaluator: one packet through the node (all hooks)", () => {
  bench("evaluate packet $n services", function* (s) {
    const { ev, packet } = evalSetup(s.get("n"));
    yield () => do_not_optimize(ev.evaluate(packet, { trace: false }).verdict);
  }).args("n", SIZES);
});

const rows = await runBench("kube-proxy-iptables", {
  machine: "shared 2-core VM, noisy",
  note: "rule-matches/s = rules visited per walk / p50 time",
});
const extra = {};
for (const n of SIZES) {
  const { visited, chainVisited } = evalSetup(n);
  const walk = rows.find((r) => r.name.startsWith("walk nat KUBE-SERVICES") && r.args.n === n);
  const pkt = rows.find((r) => r.name.startsWith("evaluate packet") && r.args.n === n);
  extra[n] = {
    rulesPerPacket: visited,
    rulesInScan: chainVisited,
    scanRuleMatchesPerSec: walk ? chainVisited / (walk.p50_ns / 1e9) : null,
    packetRuleMatchesPerSec: pkt ? visited / (pkt.p50_ns / 1e9) : null,
    nsPerService: pkt ? pkt.p50_ns / n : null,
  };
  console.log(
    `n=${n}: ${visited} rules/packet; scan ${((extra[n].scanRuleMatchesPerSec ?? 0) / 1e6).toFixed(1)} M rule-matches/s; packet ${((extra[n].packetRuleMatchesPerSec ?? 0) / 1e6).toFixed(1)} M rule-matches/s`,
  );
}
// CPU time (process.cpuUsage) beside wall time: the shared VM is often oversubscribed
// (load average well above its 2 cores), which inflates wall-clock figures several times over.
function cpuTimed(label, reps, fn, extraFields = {}) {
  fn();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  const c = process.cpuUsage(c0);
  const row = {
    case: label,
    reps,
    wall_ms: (performance.now() - t0) / reps,
    cpu_ms: (c.user + c.system) / 1000 / reps,
    ...extraFields,
  };
  console.log(`${label}: wall ${row.wall_ms.toFixed(3)} ms, cpu ${row.cpu_ms.toFixed(3)} ms`);
  return row;
}
const cpuRows = [];
for (const n of [1000, 5000, 10000]) {
  const state = stateOf(n, 10);
  cpuRows.push(
    cpuTimed(`full render ${n} services x 10 endpoints`, 3, () =>
      renderRestore({ config }, { state, cache: newRenderCache() }),
    ),
  );
}
for (const n of [1000, 10000]) {
  const t = tracker(n, 10);
  const engine = new IptablesEngine({ config, simulate: false });
  engine.sync(t.state());
  let flip = 0;
  cpuRows.push(
    cpuTimed(`partial sync (1 endpoint change) ${n} services x 10 endpoints`, 30, () => {
      flip ^= 1;
      t.updateEndpointSlice(slice(n >> 1, 10, flip * 7_000_000));
      engine.sync(t.state());
    }),
  );
}
for (const n of SIZES) {
  const { ev, packet, visited, chainVisited } = evalSetup(n);
  const reps = Math.max(20, Math.floor(2_000_000 / n));
  const scan = cpuTimed(`walk nat KUBE-SERVICES ${n} services`, reps, () =>
    ev.walkChain("nat", "KUBE-SERVICES", packet),
  );
  scan.ruleMatchesPerSec_cpu = chainVisited / (scan.cpu_ms / 1000);
  const pkt = cpuTimed(`evaluate packet ${n} services`, reps, () => ev.evaluate(packet, { trace: false }));
  pkt.ruleMatchesPerSec_cpu = visited / (pkt.cpu_ms / 1000);
  pkt.nsPerService_cpu = (pkt.cpu_ms * 1e6) / n;
  console.log(
    `  -> ${(scan.ruleMatchesPerSec_cpu / 1e6).toFixed(1)} M rule-matches/s (cpu), ${pkt.nsPerService_cpu.toFixed(2)} ns/service per packet`,
  );
  cpuRows.push(scan, pkt);
}
const { writeResults } = await import("../../../benchmarks/lib.mjs");
const { loadavg } = await import("node:os");
writeResults(
  "kube-proxy-iptables-throughput",
  [...Object.entries(extra).map(([n, v]) => ({ services: Number(n), ...v })), ...cpuRows],
  { derivedFrom: "kube-proxy-iptables.json", loadavg: loadavg() },
);
