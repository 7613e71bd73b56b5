// In-process cost of the server's hot path (no sockets): parse a query, run the
// chain (memoised kubernetes answer), and write the reply from the reused encoded
// sections; beside the pure resolve() and the general encoder it avoids.
import { DnsIndex, DnsServer, encodeQuery, encodeResponse, parseQuery, resolve } from "@knet/coredns-lite";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

const objects = [];
for (let ns = 0; ns < 20; ns++) objects.push({ kind: "Namespace", metadata: { name: `ns-${ns}` } });
for (let i = 0; i < 1000; i++) {
  objects.push({
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: `ns-${i % 20}` },
    spec: { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  });
}
const index = DnsIndex.from(objects);
const server = new DnsServer({ index, listen: { port: 0 }, logSink: () => {} });
const hits = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(encodeQuery(i, `svc-${i}.ns-${i % 20}.svc.cluster.local.`, 1, { udpSize: 1232 })),
);
const misses = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(encodeQuery(i, `svc-${i}.ns-${(i + 3) % 20}.svc.cluster.local.`, 1)),
);
for (const q of [...hits, ...misses]) server.handle(q, "udp"); // warm the memo and the encoded answers

let k = 0;
group("per query", () => {
  bench("parseQuery", () => do_not_optimize(parseQuery(hits[k++ % 1000])));
  bench("server.handle: hit (A, EDNS)", () => do_not_optimize(server.handle(hits[k++ % 1000], "udp")));
  bench("server.handle: NXDOMAIN + SOA", () => do_not_optimize(server.handle(misses[k++ % 1000], "udp")));
  const names = Array.from({ length: 1000 }, (_, i) => `svc-${i}.ns-${i % 20}.svc.cluster.local`);
  bench("resolve() (pure API, no memo)", () => do_not_optimize(resolve(index, { name: names[k++ % 1000], type: "A" })));
  const res = resolve(index, { name: "svc-1.ns-1.svc.cluster.local", type: "A" });
  bench("encodeResponse (general encoder)", () =>
    do_not_optimize(
      encodeResponse(res, {
        id: 1,
        recursionDesired: true,
        question: { name: "svc-1.ns-1.svc.cluster.local.", type: 1, class: 1 },
      }),
    ),
  );
});

await runBench("coredns-lite-hot-path");
