// Loading manifests at scale (issue 17.6): YAML against JSON at 10k and 50k Services,
// as a multi-document stream and as one List document; the previous loader's parser
// (the `yaml` package's parseAllDocuments, without the per-document line rescans that
// made the old loader quadratic) as the baseline at 10k. One-shot timings (each load
// takes seconds), median of 3, heap growth per load.
// Run against the built package: pnpm --filter @knet/k8s... run build
import { loadavg } from "node:os";
import { loadManifests, serializeManifests } from "@knet/k8s";
import { parseAllDocuments } from "yaml";
import { writeResults } from "../../../benchmarks/lib.mjs";

function service(i) {
  const name = `svc-${i}`;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: `ns-${i % 50}`,
      labels: { app: name, tier: i % 3 === 0 ? "web" : "backend", "app.kubernetes.io/part-of": "bench" },
      annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" },
      resourceVersion: String(1000 + i),
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      creationTimestamp: "2026-12-01T09:12:03Z",
    },
    spec: {
      type: "ClusterIP",
      clusterIP: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
      clusterIPs: [`10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      selector: { app: name },
      ports: [
        { name: "http", port: 80, protocol: "TCP", targetPort: "http" },
        { name: "metrics", port: 9090, protocol: "TCP", targetPort: 9090 },
      ],
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function measure(label, fn, runs = 3) {
  const times = [];
  let heap = 0;
  for (let r = 0; r < runs; r++) {
    globalThis.gc?.();
    const h0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const out = fn();
    times.push(performance.now() - t0);
    heap = Math.max(heap, process.memoryUsage().heapUsed - h0);
    if (out === undefined) throw new Error(`${label}: nothing loaded`);
  }
  const ms = median(times);
  console.log(`${label.padEnd(72)} ${ms.toFixed(0).padStart(7)} ms  heap +${(heap / 1048576).toFixed(0)} MB`);
  return { ms, heapMB: heap / 1048576 };
}

const rows = [];
for (const n of [10_000, 50_000]) {
  const objects = Array.from({ length: n }, (_, i) => service(i));
  const yamlStream = serializeManifests(objects, "yaml");
  const jsonList = `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 4)}\n`; // kubectl get -o json
  const yamlList = serializeManifests([{ apiVersion: "v1", kind: "List", items: objects }], "yaml");
  const sizes = { yamlStreamMB: yamlStream.length / 1048576, jsonListMB: jsonList.length / 1048576 };
  const json = measure(`${n} services: JSON List (kubectl get -o json)`, () => loadManifests(jsonList));
  const stream = measure(`${n} services: YAML, one document each`, () => loadManifests(yamlStream));
  const list = measure(`${n} services: YAML, one List document`, () => loadManifests(yamlList));
  if (loadManifests(yamlStream).length !== n || loadManifests(yamlList).length !== n) throw new Error("lost objects");
  rows.push(
    { name: "JSON List", services: n, ...json, ...sizes },
    { name: "YAML documents", services: n, ...stream, ratioToJson: stream.ms / json.ms },
    { name: "YAML List document", services: n, ...list, ratioToJson: list.ms / json.ms },
  );
  if (n === 10_000) {
    // The previous loader's parser on the same stream (its quadratic line rescans excluded).
    const base = measure(
      `${n} services: yaml.parseAllDocuments + toJS (previous parser)`,
      () => parseAllDocuments(yamlStream, { version: "1.1" }).map((d) => d.toJS()),
      1,
    );
    rows.push({
      name: "yaml package parseAllDocuments (previous loader's parser)",
      services: n,
      ...base,
      ratioToJson: base.ms / json.ms,
    });
  }
}
writeResults("k8s-load", rows, {
  aim: "YAML load within 3x of JSON load at 10k and 50k services",
  previous: "issue 17.6: 10k documents took 128 s (line numbers rescanned from the start per document)",
  loadavg1: loadavg()[0],
});
