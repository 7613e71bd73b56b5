// Render the rules kube-proxy would program on a real node, from manifests:
// iptables-restore input and the nft script, for the bundled demo cluster.
import { readFileSync } from "node:fs";
import { defaultObject, loadManifests } from "@knet/k8s";
import { buildProxyState, proxyConfig } from "@knet/kube-proxy";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { NftablesEngine } from "@knet/kube-proxy-nftables";

const objects = loadManifests(readFileSync(new URL("./manifests/demo-cluster.yaml", import.meta.url), "utf8")).map(
  (o) => defaultObject(o),
);
const services = objects.filter((o) => o.kind === "Service");
const endpointSlices = objects.filter((o) => o.kind === "EndpointSlice");
// The demo manifests have pods but no slices: a selector-less service would bring its own;
// here we hand kube-proxy one slice for shop/api so the rules have endpoints.
endpointSlices.push({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { namespace: "shop", name: "api-1", labels: { "kubernetes.io/service-name": "api" } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: [{ addresses: ["10.244.1.11"], conditions: { ready: true }, nodeName: "node-a" }],
});
const config = proxyConfig({ nodeName: "node-a", nodeIPs: ["192.168.49.2"], clusterCIDR: "10.244.0.0/16" });
const state = buildProxyState({ family: 4, nodeName: "node-a" }, { services, endpointSlices });
for (const engine of [new IptablesEngine({ config }), new NftablesEngine({ config })]) {
  const { payload } = engine.sync(state, { full: true });
  const lines = payload.split("\n");
  console.log(`--- ${engine.mode}: ${lines.length} lines; the ones for shop/api:`);
  for (const l of lines.filter((x) => x.includes("shop/api")).slice(0, 6)) console.log(l);
}
