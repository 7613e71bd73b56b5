/**
 * Registration of this package's kinds with the `@knet/k8s` kind registry, so
 * every knet manifest reader (loadManifests, validateManifests, the cluster)
 * accepts, defaults and validates them the way this package does.
 */
import { type ExtensionObject, type KindDefinition, type KindProblem, registerKind } from "@knet/k8s";
import {
  defaultGatewayObject,
  GATEWAY_API_VERSIONS,
  GATEWAY_KIND_API_VERSIONS,
  GATEWAY_NAMESPACED_KINDS,
  type GatewayPackageObject,
  validateGatewayObject,
} from "./validate.js";

const asOwn = (o: ExtensionObject): GatewayPackageObject => o as unknown as GatewayPackageObject;

/** One registry definition per kind, made once so registering again is a no-op. */
const DEFINITIONS: readonly KindDefinition[] = Object.entries(GATEWAY_KIND_API_VERSIONS).map(([kind, apiVersion]) => ({
  apiVersion,
  ...(GATEWAY_API_VERSIONS.includes(apiVersion)
    ? { servedVersions: GATEWAY_API_VERSIONS.filter((v) => v !== apiVersion) }
    : {}),
  kind,
  namespaced: GATEWAY_NAMESPACED_KINDS.has(kind),
  defaults: (o: ExtensionObject) => defaultGatewayObject(asOwn(o)) as unknown as ExtensionObject,
  validate: (o: ExtensionObject): KindProblem[] =>
    validateGatewayObject(asOwn(o)).map(({ code, field, message }) => ({ code, field, message })),
}));

/**
 * Register GatewayClass, Gateway, HTTPRoute (gateway.networking.k8s.io/v1),
 * ReferenceGrant (v1beta1), Ingress and IngressClass (networking.k8s.io/v1)
 * with the `@knet/k8s` kind registry. Idempotent.
 * @throws KindRegistryError (from `@knet/k8s`) when another package registered one of these kinds differently.
 */
export function registerGatewayKinds(): void {
  for (const d of DEFINITIONS) registerKind(d);
}
