// Explain a NetworkPolicy verdict: which policy isolates the pod and why no rule admitted the flow.
import { readFileSync } from "node:fs";
import { defaultObject, loadManifests } from "@knet/k8s";
import { explain, PolicyEngine } from "@knet/netpol";

const objects = loadManifests(readFileSync(new URL("./manifests/demo-cluster.yaml", import.meta.url), "utf8")).map(
  (o) => defaultObject(o),
);
const engine = new PolicyEngine({
  namespaces: objects.filter((o) => o.kind === "Namespace"),
  pods: objects.filter((o) => o.kind === "Pod"),
  networkPolicies: objects.filter((o) => o.kind === "NetworkPolicy"),
});
for (const [from, to, port] of [
  ["shop/frontend-6d8f9c7b5-q2xkz", "shop/api-5b7c9d8f6-4kz8m", 8080],
  ["shop/frontend-6d8f9c7b5-q2xkz", "shop/db-0", 5432],
]) {
  console.log(explain(engine.verdict({ from, to, protocol: "TCP", port })));
}
