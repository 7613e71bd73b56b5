// Compare proxy modes on one cluster: trace the same request under each mode
// and count the rule steps each evaluator visits.
import { readFileSync } from "node:fs";
import { Cluster, traceRequest } from "@knet/cluster";
import { proxyModeNames, registerProxyMode } from "@knet/kube-proxy";
import { ebpfMode } from "@knet/kube-proxy-ebpf";
import { iptablesMode } from "@knet/kube-proxy-iptables";
import { ipvsMode } from "@knet/kube-proxy-ipvs";
import { nftablesMode } from "@knet/kube-proxy-nftables";

// Modes register themselves with @knet/kube-proxy's registry; the cluster reads it.
for (const mode of [iptablesMode, ipvsMode, nftablesMode, ebpfMode]) registerProxyMode(mode);

const text = readFileSync(new URL("./manifests/demo-cluster.yaml", import.meta.url), "utf8");
for (const mode of proxyModeNames()) {
  const cluster = await Cluster.fromManifests(text, { mode });
  const t = traceRequest(cluster, { from: "shop/frontend-6d8f9c7b5-q2xkz", to: "http://api.shop:80" });
  const steps = t.proxy[0]?.evaluation.trace.length ?? 0;
  console.log(
    `${mode.padEnd(9)} ${t.connected ? "connected to" : "failed:"} ${t.backend?.pod ?? t.summary} (${steps} rule steps)`,
  );
}
