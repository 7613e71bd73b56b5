/**
 * Object shapes of the Gateway API kinds knet serves (gateway.networking.k8s.io
 * v1 GatewayClass, Gateway, HTTPRoute and v1beta1 ReferenceGrant), as their
 * CRDs define them, plus the networking.k8s.io/v1 Ingress kinds (from
 * `kubernetes-types`). Optional fields are optional here too; CRD defaults are
 * applied by {@link defaultGatewayObject}.
 */
import type { Secret } from "kubernetes-types/core/v1.js";
import type { LabelSelector, ObjectMeta } from "kubernetes-types/meta/v1.js";
import type { Ingress as K8sIngress, IngressClass as K8sIngressClass } from "kubernetes-types/networking/v1.js";

export type { Secret };

/** networking.k8s.io/v1 Ingress (the `kubernetes-types` shape, with `kind` required). */
export type Ingress = K8sIngress & { kind: "Ingress" };

/** networking.k8s.io/v1 IngressClass (the `kubernetes-types` shape, with `kind` required). */
export type IngressClass = K8sIngressClass & { kind: "IngressClass" };

/** The API group of the Gateway API kinds. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** The controllerName of knet's GatewayClass (and the IngressClass controller it serves). */
export const KNET_CONTROLLER_NAME = "knet.dev/gateway-controller";

/** A condition as Kubernetes writes it in `status.conditions` (without timestamps). */
export interface Condition {
  /** Condition type (`Accepted`, `ResolvedRefs`, `Programmed`, ...). */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: "True" | "False" | "Unknown";
  /** CamelCase reason from the specification. */
  reason: string;
  /** Human-readable detail. */
  message: string;
}

/** GatewayClass spec. */
export interface GatewayClassSpec {
  /** The controller that manages Gateways of this class (`knet.dev/gateway-controller` for knet). */
  controllerName: string;
  /** Implementation-specific parameters (not used by knet). */
  parametersRef?: { group: string; kind: string; name: string; namespace?: string };
  /** Free-form description. */
  description?: string;
}

/** gateway.networking.k8s.io/v1 GatewayClass (cluster-scoped). */
export interface GatewayClass {
  /** `gateway.networking.k8s.io/v1`. */
  apiVersion?: string;
  /** `GatewayClass`. */
  kind: "GatewayClass";
  /** Object metadata. */
  metadata?: ObjectMeta;
  /** Spec. */
  spec: GatewayClassSpec;
}

/** A reference from a listener to a certificate Secret. */
export interface SecretObjectReference {
  /** API group, `""` (core) by default. */
  group?: string;
  /** Kind, `Secret` by default. */
  kind?: string;
  /** Name. */
  name: string;
  /** Namespace, the Gateway's by default (another needs a ReferenceGrant). */
  namespace?: string;
}

/** A route kind a listener accepts. */
export interface RouteGroupKind {
  /** Group, `gateway.networking.k8s.io` by default. */
  group?: string;
  /** Kind (`HTTPRoute`). */
  kind: string;
}

/** Which namespaces and kinds of routes may attach to a listener. */
export interface AllowedRoutes {
  /** Namespaces: `from` Same (default), All or Selector. */
  namespaces?: { from?: "All" | "Same" | "Selector" | string; selector?: LabelSelector };
  /** Route kinds; empty means the kinds the protocol supports. */
  kinds?: RouteGroupKind[];
}

/** One listener of a Gateway. */
export interface Listener {
  /** Unique name within the Gateway (the `sectionName` of a parentRef). */
  name: string;
  /** Hostname, possibly `*.`-wildcarded; unset matches every host. */
  hostname?: string;
  /** TCP port. */
  port: number;
  /** Protocol (`HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP` or a domain-prefixed one). */
  protocol: string;
  /** TLS settings (required for HTTPS). */
  tls?: { mode?: string; certificateRefs?: SecretObjectReference[]; options?: Record<string, string> };
  /** Route admission. */
  allowedRoutes?: AllowedRoutes;
}

/** Gateway spec. */
export interface GatewaySpec {
  /** The GatewayClass this Gateway belongs to. */
  gatewayClassName: string;
  /** Listeners (1..64). */
  listeners: Listener[];
  /** Requested addresses. */
  addresses?: { type?: string; value?: string }[];
}

/** gateway.networking.k8s.io/v1 Gateway. */
export interface Gateway {
  /** `gateway.networking.k8s.io/v1`. */
  apiVersion?: string;
  /** `Gateway`. */
  kind: "Gateway";
  /** Object metadata. */
  metadata?: ObjectMeta;
  /** Spec. */
  spec: GatewaySpec;
}

/** A route's reference to its parent (a Gateway, or one listener of it). */
export interface ParentReference {
  /** Group, `gateway.networking.k8s.io` by default. */
  group?: string;
  /** Kind, `Gateway` by default. */
  kind?: string;
  /** Namespace, the route's by default. */
  namespace?: string;
  /** Gateway name. */
  name: string;
  /** Listener name. */
  sectionName?: string;
  /** Listener port. */
  port?: number;
}

/** A reference to a backend object. */
export interface BackendObjectReference {
  /** Group, `""` (core) by default. */
  group?: string;
  /** Kind, `Service` by default. */
  kind?: string;
  /** Name. */
  name: string;
  /** Namespace, the route's by default (another needs a ReferenceGrant). */
  namespace?: string;
  /** Port (required for Services). */
  port?: number;
}

/** Path match. */
export interface HTTPPathMatch {
  /** `Exact`, `PathPrefix` (default) or `RegularExpression`. */
  type?: string;
  /** Value, `/` by default. */
  value?: string;
}

/** Header or query-parameter match. */
export interface HTTPValueMatch {
  /** `Exact` (default) or `RegularExpression`. */
  type?: string;
  /** Header (case-insensitive) or query-parameter (exact) name. */
  name: string;
  /** Value to compare. */
  value: string;
}

/** One match of a rule: every given condition must hold. */
export interface HTTPRouteMatch {
  /** Path (PathPrefix `/` by default). */
  path?: HTTPPathMatch;
  /** Headers that must all match. */
  headers?: HTTPValueMatch[];
  /** Query parameters that must all match. */
  queryParams?: HTTPValueMatch[];
  /** HTTP method. */
  method?: string;
}

/** A header name and value. */
export interface HTTPHeader {
  /** Header name. */
  name: string;
  /** Header value. */
  value: string;
}

/** RequestHeaderModifier / ResponseHeaderModifier settings. */
export interface HTTPHeaderFilter {
  /** Headers to overwrite. */
  set?: HTTPHeader[];
  /** Headers to append (comma-joined to existing values). */
  add?: HTTPHeader[];
  /** Header names to remove. */
  remove?: string[];
}

/** Path modifier of a redirect or rewrite. */
export interface HTTPPathModifier {
  /** `ReplaceFullPath` or `ReplacePrefixMatch`. */
  type: string;
  /** New full path. */
  replaceFullPath?: string;
  /** Replacement of the matched prefix. */
  replacePrefixMatch?: string;
}

/** RequestRedirect settings. */
export interface HTTPRequestRedirectFilter {
  /** `http` or `https`. */
  scheme?: string;
  /** Location host. */
  hostname?: string;
  /** Location path. */
  path?: HTTPPathModifier;
  /** Location port. */
  port?: number;
  /** 301, 302 (default), 303, 307 or 308. */
  statusCode?: number;
}

/** URLRewrite settings. */
export interface HTTPURLRewriteFilter {
  /** New Host header. */
  hostname?: string;
  /** Path rewrite. */
  path?: HTTPPathModifier;
}

/** RequestMirror settings. */
export interface HTTPRequestMirrorFilter {
  /** Where copies go. */
  backendRef: BackendObjectReference;
  /** Percentage of requests mirrored (0-100). */
  percent?: number;
  /** Fraction of requests mirrored. */
  fraction?: { numerator: number; denominator?: number };
}

/** One filter of a rule or backendRef. */
export interface HTTPRouteFilter {
  /** Filter type. */
  type: string;
  /** RequestHeaderModifier settings. */
  requestHeaderModifier?: HTTPHeaderFilter;
  /** ResponseHeaderModifier settings. */
  responseHeaderModifier?: HTTPHeaderFilter;
  /** RequestRedirect settings. */
  requestRedirect?: HTTPRequestRedirectFilter;
  /** URLRewrite settings. */
  urlRewrite?: HTTPURLRewriteFilter;
  /** RequestMirror settings. */
  requestMirror?: HTTPRequestMirrorFilter;
  /** ExtensionRef (not supported by knet). */
  extensionRef?: { group: string; kind: string; name: string };
  /** CORS (not supported by knet). */
  cors?: Record<string, unknown>;
}

/** A weighted backend of a rule. */
export interface HTTPBackendRef extends BackendObjectReference {
  /** Relative weight (0..1000000, 1 by default). */
  weight?: number;
  /** Filters applied only for this backend. */
  filters?: HTTPRouteFilter[];
}

/** One rule of an HTTPRoute. */
export interface HTTPRouteRule {
  /** Optional rule name. */
  name?: string;
  /** Matches (any one suffices). */
  matches?: HTTPRouteMatch[];
  /** Filters. */
  filters?: HTTPRouteFilter[];
  /** Backends. */
  backendRefs?: HTTPBackendRef[];
}

/** HTTPRoute spec. */
export interface HTTPRouteSpec {
  /** Parents (Gateways or listeners). */
  parentRefs?: ParentReference[];
  /** Hostnames (RFC 1123, optional leading `*.`). */
  hostnames?: string[];
  /** Rules. */
  rules?: HTTPRouteRule[];
}

/** gateway.networking.k8s.io/v1 HTTPRoute. */
export interface HTTPRoute {
  /** `gateway.networking.k8s.io/v1`. */
  apiVersion?: string;
  /** `HTTPRoute`. */
  kind: "HTTPRoute";
  /** Object metadata. */
  metadata?: ObjectMeta;
  /** Spec. */
  spec: HTTPRouteSpec;
}

/** gateway.networking.k8s.io/v1beta1 ReferenceGrant: lets objects in other namespaces refer to this one's. */
export interface ReferenceGrant {
  /** `gateway.networking.k8s.io/v1beta1`. */
  apiVersion?: string;
  /** `ReferenceGrant`. */
  kind: "ReferenceGrant";
  /** Object metadata. */
  metadata?: ObjectMeta;
  /** Spec. */
  spec: {
    /** Who may refer: group, kind and namespace. */
    from: { group: string; kind: string; namespace: string }[];
    /** To what in this namespace: group, kind and optionally name. */
    to: { group: string; kind: string; name?: string }[];
  };
}

/** Any Gateway API object knet reads. */
export type GatewayApiObject = GatewayClass | Gateway | HTTPRoute | ReferenceGrant;
