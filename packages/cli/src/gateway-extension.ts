/**
 * The Gateway in commands that build a simulated cluster (`trace`, `demo`): the
 * Gateway API and Ingress kinds they read, and the cluster extension that runs
 * the manifests' Gateways on a node with a `client` host outside the cluster.
 */
import type { ClusterExtension } from "@knet/cluster";
import {
  GATEWAY_KIND_API_VERSIONS,
  gatewayClusterExtension,
  gatewayInputsFrom,
  registerGatewayKinds,
} from "@knet/gateway";
import type { ExtensionObject, KubeObject, Namespace } from "@knet/k8s";

/** The kinds to pass as `extensions` to `readInputs` (registered with the kind registry on first use). */
export function gatewayKinds(): string[] {
  registerGatewayKinds();
  return Object.keys(GATEWAY_KIND_API_VERSIONS);
}

/** The cluster extensions for the admitted objects: the Gateway when any Gateway or Ingress is among them. */
export function gatewayExtensions(
  objects: readonly KubeObject[],
  extensions: readonly ExtensionObject[],
): ClusterExtension[] {
  const inputs = gatewayInputsFrom(extensions);
  if (inputs.gateways.length === 0 && inputs.ingresses.length === 0) return [];
  const namespaces = objects.filter((o): o is KubeObject & Namespace => o.kind === "Namespace");
  return [gatewayClusterExtension({ ...inputs, namespaces })];
}
