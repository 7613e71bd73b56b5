// Embed the cluster DNS logic: index a Service and its EndpointSlice, then answer
// queries without any socket, and show the names a pod's resolver tries.
import { DnsIndex, expandQuery, formatRr, rcodeName, resolvConfFor, resolve } from "@knet/coredns-lite";

const index = new DnsIndex();
index.upsert({
  kind: "Service",
  metadata: { namespace: "shop", name: "web" },
  spec: {
    type: "ClusterIP",
    clusterIP: "10.96.0.50",
    clusterIPs: ["10.96.0.50"],
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
  },
});
index.upsert({
  kind: "EndpointSlice",
  metadata: { namespace: "shop", name: "web-abc12", labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: [{ addresses: ["10.244.1.7"], conditions: { ready: true } }],
});

for (const [name, type] of [
  ["web.shop.svc.cluster.local", "A"],
  ["_http._tcp.web.shop.svc.cluster.local", "SRV"],
  ["7.1.244.10.in-addr.arpa", "PTR"],
  ["nope.shop.svc.cluster.local", "A"],
]) {
  const res = resolve(index, { name, type }, { zones: ["cluster.local", "in-addr.arpa"] });
  console.log(`${name} ${type}: ${rcodeName(res.rcode)} ${res.answer.map(formatRr).join(" | ")}`);
}

const pod = { kind: "Pod", metadata: { namespace: "shop", name: "client" }, spec: { containers: [{ name: "c" }] } };
const { resolvConf } = resolvConfFor(pod, { clusterDNS: ["10.96.0.10"] });
console.log(`a pod in shop looking up "web" tries: ${expandQuery("web", resolvConf).join(", ")}`);
