// Selecting pods for 10k services over 100k pods: the label index (what
// ClusterState and the EndpointSlice controller use) against a plain scan.
// Run against the built package: pnpm --filter @knet/k8s... run build
import { loadavg } from "node:os";
import { ClusterState, compileSelector, LabelIndex, matchLabelMap } from "@knet/k8s";
import { bench, do_not_optimize, group, runBench, writeResults } from "../../../benchmarks/lib.mjs";

const PODS = 100_000;
const SERVICES = 10_000;
const TIERS = ["web", "backend", "cache"];

// Deterministic labels: each app has 10 pods sharing a pod-template-hash; tier and track vary.
function podLabels(i) {
  return {
    app: `app-${i % SERVICES}`,
    tier: TIERS[i % 3],
    track: i % 10 === 0 ? "canary" : "stable",
    "pod-template-hash": `h${((i % SERVICES) * 2654435761) % 1_000_003}`,
  };
}
const serviceSelectors = Array.from({ length: SERVICES }, (_, s) => ({ app: `app-${s}` }));
const exprSelectors = Array.from({ length: SERVICES }, (_, s) => ({
  matchLabels: { app: `app-${s}` },
  matchExpressions: [
    { key: "tier", operator: "In", values: ["web", "backend"] },
    { key: "track", operator: "NotIn", values: ["canary"] },
  ],
}));
const labels = Array.from({ length: PODS }, (_, i) => podLabels(i));

const index = new LabelIndex();
for (let i = 0; i < PODS; i++) index.set(i, labels[i]);

// Sanity: the index and a scan agree before anything is timed.
for (const s of [0, 17, 9999]) {
  const viaIndex = index.selectMap(serviceSelectors[s]).sort((a, b) => a - b);
  const viaScan = labels.flatMap((l, i) => (matchLabelMap(serviceSelectors[s], l) ? [i] : []));
  if (JSON.stringify(viaIndex) !== JSON.stringify(viaScan)) throw new Error(`index and scan disagree for service ${s}`);
  const c = compileSelector(exprSelectors[s]);
  const e1 = index.select(exprSelectors[s]).sort((a, b) => a - b);
  const e2 = labels.flatMap((l, i) => (c.matches(l) ? [i] : []));
  if (JSON.stringify(e1) !== JSON.stringify(e2)) throw new Error(`expression selector disagrees for service ${s}`);
}

group("10k services over 100k pods", () => {
  bench("index: 10k service selectors (matchLabels map)", () => {
    let n = 0;
    for (const sel of serviceSelectors) n += index.selectMap(sel).length;
    return do_not_optimize(n);
  });
  bench("index: 10k LabelSelectors (In + NotIn)", () => {
    let n = 0;
    for (const sel of exprSelectors) n += index.select(sel).length;
    return do_not_optimize(n);
  });
  bench("scan: 10 service selectors x 100k pods (x1000 = 10k)", () => {
    let n = 0;
    for (let s = 0; s < 10; s++) {
      const sel = serviceSelectors[s];
      for (const l of labels) if (matchLabelMap(sel, l)) n++;
    }
    return do_not_optimize(n);
  });
});

// The previous LabelIndex layout (a Set of ids per label pair and per key), kept here
// only as the side-by-side baseline for the build row.
class SetPerPairIndex {
  labelsOf = new Map();
  byPair = new Map();
  byKey = new Map();
  set(id, labels) {
    const l = { ...labels };
    this.labelsOf.set(id, l);
    for (const k in l) {
      let values = this.byPair.get(k);
      if (values === undefined) {
        values = new Map();
        this.byPair.set(k, values);
      }
      let ids = values.get(l[k]);
      if (ids === undefined) {
        ids = new Set();
        values.set(l[k], ids);
      }
      ids.add(id);
      let keyed = this.byKey.get(k);
      if (keyed === undefined) {
        keyed = new Set();
        this.byKey.set(k, keyed);
      }
      keyed.add(id);
    }
  }
}
const podKeys = labels.map((_, i) => `bench/pod-${i}`);

group("index maintenance", () => {
  bench("build LabelIndex of 100k pods", () => {
    const idx = new LabelIndex();
    for (let i = 0; i < PODS; i++) idx.set(podKeys[i], labels[i]);
    return do_not_optimize(idx.size);
  });
  bench("build Set-per-pair index of 100k pods (previous layout)", () => {
    const idx = new SetPerPairIndex();
    for (let i = 0; i < PODS; i++) idx.set(podKeys[i], labels[i]);
    return do_not_optimize(idx.labelsOf.size);
  });
});

const rows = await runBench("k8s-selectors", {
  pods: PODS,
  services: SERVICES,
  podsPerService: PODS / SERVICES,
  note: "scan row covers 10 services; multiply by 1000 for the 10k-service scan",
  loadavg1: loadavg()[0],
});

// One-shot: the whole ClusterState with the EndpointSlice controller (10k services, 100k pods).
const objects = [];
for (let s = 0; s < SERVICES; s++) {
  objects.push({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${s}`, namespace: "bench" },
    spec: { selector: serviceSelectors[s], ports: [{ name: "http", port: 80, targetPort: "http" }] },
  });
}
for (let i = 0; i < PODS; i++) {
  objects.push({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: "bench", labels: labels[i] },
    spec: { nodeName: `node-${i % 50}`, containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080 }] }] },
    status: {
      phase: "Running",
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
}
// Memory per pod: a store of only the 100k pods (no services, no controller).
globalThis.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const podsOnly = new ClusterState({ endpointSliceController: false });
podsOnly.applyAll(objects.slice(SERVICES));
globalThis.gc?.();
const bytesPerPod = (process.memoryUsage().heapUsed - heap0) / PODS;
do_not_optimize(podsOnly.count("Pod"));

globalThis.gc?.();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const state = new ClusterState();
const events = state.applyAll(objects);
const t1 = performance.now();
const cpu = process.cpuUsage(cpu0);
const slices = state.count("EndpointSlice");
let endpoints = 0;
for (const sl of state.list("EndpointSlice")) endpoints += sl.endpoints.length;
const t2 = performance.now();
state.apply({
  ...objects[SERVICES],
  metadata: { ...objects[SERVICES].metadata, labels: { ...labels[0], tier: "cache" } },
});
const t3 = performance.now();
const one = [
  {
    name: "ClusterState.applyAll 10k services + 100k pods (controller on)",
    ms: t1 - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    events,
    slices,
    endpoints,
  },
  { name: "one pod relabel -> incremental slice update", ms: t3 - t2 },
  { name: "memory per stored pod (store of 100k pods, defaulted, label-indexed)", bytes: bytesPerPod },
].map((r) => ({ ...r, events: typeof r.events === "object" ? r.events.length : r.events }));
for (const r of one)
  console.log(`${r.name.padEnd(72)} ${r.ms !== undefined ? `${r.ms.toFixed(1)} ms` : `${r.bytes.toFixed(0)} bytes`}`);
if (endpoints !== PODS) throw new Error(`expected ${PODS} endpoints, got ${endpoints}`);
writeResults("k8s-cluster-state", one, { pods: PODS, services: SERVICES, loadavg1: loadavg()[0] });
do_not_optimize(rows);
