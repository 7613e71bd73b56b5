// Serves N ClusterIP services svc-<i>.ns-<i mod 20>.svc.cluster.local (the dnsperf data set)
// from the built package on 127.0.0.1:PORT. Used by dnsperf.bench.mjs; prints "ready <port>".
// Usage: node serve-fixture.mjs PORT [N]
import { DnsIndex, DnsServer } from "@knet/coredns-lite";

const port = Number(process.argv[2] ?? 0);
const n = Number(process.argv[3] ?? 1000);
const objects = [];
for (let ns = 0; ns < 20; ns++) objects.push({ kind: "Namespace", metadata: { name: `ns-${ns}` } });
for (let i = 0; i < n; i++) {
  objects.push({
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: `ns-${i % 20}` },
    spec: { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  });
}
const server = new DnsServer({ index: DnsIndex.from(objects), listen: { host: "127.0.0.1", port }, logSink: () => {} });
await server.start();
console.log(`ready ${server.address().port}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
