/**
 * `@knet/gateway`: Gateway API (GatewayClass, Gateway, HTTPRoute,
 * ReferenceGrant) and Ingress routing with the specification's matching,
 * precedence and status, and a real HTTP reverse proxy serving it.
 *
 * @example
 * ```ts
 * import { buildGatewayModel, gatewayStatus, loadGatewayInputs, Router } from "@knet/gateway";
 *
 * const { inputs } = loadGatewayInputs([{ name: "app.yaml", text: yamlText }]);
 * const model = buildGatewayModel(inputs);
 * const d = new Router(model).route({ method: "GET", scheme: "http", host: "shop.example.com", port: 80, path: "/api" });
 * console.log(d.status, d.route, d.backends, d.explanation.join("\n"));
 * console.log(gatewayStatus(model).routes[0]?.parents[0]?.conditions);
 * ```
 *
 * @module
 */
export type { BackendEndpoint, ServiceLookup } from "./backends.js";
export { ServiceIndex } from "./backends.js";
export type {
  GatewayClusterBuild,
  GatewayClusterOptions,
  GatewayProxiedRequest,
  GatewayProxyForward,
  GatewayUserspaceProxy,
} from "./cluster-gateway.js";
export { gatewayClusterExtension } from "./cluster-gateway.js";
export { condition, Reason } from "./conditions.js";
export type { FilterContext, FilterState, HeaderMap, RedirectInput } from "./filters.js";
export { applyFilters, modifyHeaders, modifyPath, redirectLocation } from "./filters.js";
export type { WildcardMode } from "./hostname.js";
export { hostnameMatches, hostnameSpecificity, intersectHostname, normalizeHost } from "./hostname.js";
export type { IngressTranslation, IngressTranslationOptions } from "./ingress.js";
export {
  CLASSLESS_GATEWAY_NAME,
  DEFAULT_INGRESS_CLASS_ANNOTATION,
  INGRESS_CLASS_ANNOTATION,
  ingressClassOf,
  nameFromHost,
  translateIngresses,
} from "./ingress.js";
export { registerGatewayKinds } from "./kinds.js";
export type { GatewayKindLists, LoadedGatewayInputs } from "./load.js";
export { gatewayInputsFrom, loadGatewayInputs } from "./load.js";
export type {
  Attachment,
  CompiledRule,
  GatewayInputs,
  GatewayModel,
  GatewayModelOptions,
  GatewayState,
  ListenerCertificate,
  ListenerState,
  ObjectKey,
  ResolvedBackend,
  RouteState,
} from "./model.js";
export { buildGatewayModel, referenceAllowed } from "./model.js";
export { pathPrefixMatches, replacePrefix } from "./path.js";
export type { ForwardedRequest, GatewayRequest, Rejection, RouteDecision, RouteOptions, RouteRef } from "./router.js";
export { Router } from "./router.js";
export type { BoundAddress, GatewayServerOptions, ServerListen } from "./server.js";
export { GatewayServer, pickWeighted } from "./server.js";
export type { GatewayStatusEntry, GatewayStatusReport, RouteStatusEntry } from "./status.js";
export { gatewayStatus } from "./status.js";
export type {
  AllowedRoutes,
  BackendObjectReference,
  Condition,
  Gateway,
  GatewayApiObject,
  GatewayClass,
  GatewayClassSpec,
  GatewaySpec,
  HTTPBackendRef,
  HTTPHeader,
  HTTPHeaderFilter,
  HTTPPathMatch,
  HTTPPathModifier,
  HTTPRequestMirrorFilter,
  HTTPRequestRedirectFilter,
  HTTPRoute,
  HTTPRouteFilter,
  HTTPRouteMatch,
  HTTPRouteRule,
  HTTPRouteSpec,
  HTTPURLRewriteFilter,
  HTTPValueMatch,
  Ingress,
  IngressClass,
  Listener,
  ParentReference,
  ReferenceGrant,
  RouteGroupKind,
  Secret,
  SecretObjectReference,
} from "./types.js";
export { GATEWAY_GROUP, KNET_CONTROLLER_NAME } from "./types.js";
export type { GatewayPackageObject } from "./validate.js";
export {
  defaultGatewayObject,
  GATEWAY_KIND_API_VERSIONS,
  GATEWAY_NAMESPACED_KINDS,
  validateGatewayObject,
} from "./validate.js";
