/**
 * Defaulting and validation of the kinds this package owns, as the API server
 * applies them: for the Gateway API kinds the CRD schemas (types, enums,
 * patterns, bounds, defaults) and their CEL `x-kubernetes-validations` rules;
 * for Ingress and IngressClass the API server's own checks.
 */
import type { ManifestProblem, ObjectRef, ProblemCode } from "@knet/k8s";
import type {
  Gateway,
  GatewayApiObject,
  GatewayClass,
  HTTPRoute,
  HTTPRouteFilter,
  HTTPRouteRule,
  Ingress,
  IngressClass,
  ReferenceGrant,
} from "./types.js";
import { GATEWAY_GROUP } from "./types.js";

/** Every kind this package validates. */
export type GatewayPackageObject = GatewayApiObject | Ingress | IngressClass;

/** The apiVersion each kind of this package is read from. */
export const GATEWAY_KIND_API_VERSIONS = {
  GatewayClass: `${GATEWAY_GROUP}/v1`,
  Gateway: `${GATEWAY_GROUP}/v1`,
  HTTPRoute: `${GATEWAY_GROUP}/v1`,
  ReferenceGrant: `${GATEWAY_GROUP}/v1beta1`,
  Ingress: "networking.k8s.io/v1",
  IngressClass: "networking.k8s.io/v1",
} as const;

/** The versions the Gateway API CRDs serve every kind at (standard channel: v1, and v1beta1 still served). */
export const GATEWAY_API_VERSIONS: readonly string[] = [`${GATEWAY_GROUP}/v1`, `${GATEWAY_GROUP}/v1beta1`];

/** Kinds of this package that live in a namespace. */
export const GATEWAY_NAMESPACED_KINDS: ReadonlySet<string> = new Set([
  "Gateway",
  "HTTPRoute",
  "ReferenceGrant",
  "Ingress",
]);

// Patterns from the CRD schema (shared_types.go).
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PRECISE_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECTION_NAME = PRECISE_HOSTNAME;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONTROLLER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;
const PROTOCOL =
  /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
const FILTER_TYPES = [
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestMirror",
  "RequestRedirect",
  "URLRewrite",
  "ExtensionRef",
  "CORS",
];
const FILTER_FIELDS: Readonly<Record<string, keyof HTTPRouteFilter>> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  ExtensionRef: "extensionRef",
  CORS: "cors",
};
// Ingress host: a DNS-1123 subdomain, optionally with a leading "*." label.
const INGRESS_HOST = HOSTNAME;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

class Collector {
  readonly problems: ManifestProblem[] = [];
  constructor(private readonly object: ObjectRef) {}
  add(code: ProblemCode, field: string, message: string): void {
    this.problems.push({ code, field, message, object: this.object });
  }
  required(field: string, what = "Required value"): void {
    this.add("required", field, what);
  }
  pattern(field: string, value: string | undefined, re: RegExp, max: number, what: string): void {
    if (value === undefined) return;
    if (value.length === 0 || value.length > max)
      this.add("invalid", field, `Invalid value: "${value}": must be 1 to ${max} characters`);
    else if (!re.test(value)) this.add("invalid", field, `Invalid value: "${value}": ${what}`);
  }
  range(field: string, value: number | undefined, min: number, max: number): void {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < min || value > max)
      this.add("invalid", field, `Invalid value: ${value}: must be an integer from ${min} to ${max}`);
  }
  maxItems(field: string, list: readonly unknown[] | undefined, max: number, min = 0): void {
    if (list === undefined) return;
    if (list.length > max) this.add("invalid", field, `Too many: ${list.length}: must have at most ${max} items`);
    if (list.length < min) this.add("invalid", field, `Invalid value: must have at least ${min} item(s)`);
  }
  enumValue(field: string, value: string | number | undefined, allowed: readonly (string | number)[]): void {
    if (value === undefined) return;
    if (!allowed.includes(value))
      this.add(
        "invalid",
        field,
        `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      );
  }
  cel(field: string, ok: boolean, message: string): void {
    if (!ok) this.add("invalid", field, `Invalid value: ${message}`);
  }
}

function refOf(o: GatewayPackageObject): ObjectRef {
  const r: { kind: string; name?: string; namespace?: string } = { kind: o.kind };
  if (o.metadata?.name !== undefined) r.name = o.metadata.name;
  if (o.metadata?.namespace !== undefined) r.namespace = o.metadata.namespace;
  return r;
}

const clone = <T>(v: T): T => structuredClone(v);

/**
 * Apply the CRD defaults (Gateway API kinds) or API-server defaults (Ingress):
 * `allowedRoutes.namespaces.from: Same`, `tls.mode: Terminate`, parentRef group/kind,
 * a rule list of one `PathPrefix /` match, path type `PathPrefix`, header and query
 * match type `Exact`, backendRef group `""`/kind `Service`/weight 1, redirect status 302.
 * Returns a new object; the input is not modified.
 */
export function defaultGatewayObject<T extends GatewayPackageObject>(input: T): T {
  const o = clone(input);
  o.apiVersion ??= GATEWAY_KIND_API_VERSIONS[o.kind];
  switch (o.kind) {
    case "Gateway":
      for (const l of o.spec?.listeners ?? []) {
        l.allowedRoutes ??= {};
        l.allowedRoutes.namespaces ??= {};
        l.allowedRoutes.namespaces.from ??= "Same";
        for (const k of l.allowedRoutes.kinds ?? []) k.group ??= GATEWAY_GROUP;
        if (l.tls !== undefined) {
          l.tls.mode ??= "Terminate";
          for (const c of l.tls.certificateRefs ?? []) {
            c.group ??= "";
            c.kind ??= "Secret";
          }
        }
      }
      break;
    case "HTTPRoute": {
      o.spec ??= {};
      const spec = o.spec;
      for (const p of spec.parentRefs ?? []) {
        p.group ??= GATEWAY_GROUP;
        p.kind ??= "Gateway";
      }
      if (spec.rules === undefined || spec.rules.length === 0) spec.rules = [{}];
      for (const rule of spec.rules) {
        if (rule.matches === undefined || rule.matches.length === 0)
          rule.matches = [{ path: { type: "PathPrefix", value: "/" } }];
        for (const m of rule.matches) {
          m.path ??= {};
          m.path.type ??= "PathPrefix";
          m.path.value ??= "/";
          for (const h of m.headers ?? []) h.type ??= "Exact";
          for (const q of m.queryParams ?? []) q.type ??= "Exact";
        }
        defaultFilters(rule.filters);
        for (const b of rule.backendRefs ?? []) {
          b.group ??= "";
          b.kind ??= "Service";
          b.weight ??= 1;
          defaultFilters(b.filters);
        }
      }
      break;
    }
    default:
      break;
  }
  return o;
}

function defaultFilters(filters: HTTPRouteFilter[] | undefined): void {
  for (const f of filters ?? []) {
    if (f.requestRedirect !== undefined) f.requestRedirect.statusCode ??= 302;
    if (f.requestMirror !== undefined) {
      f.requestMirror.backendRef.group ??= "";
      f.requestMirror.backendRef.kind ??= "Service";
    }
  }
}

/**
 * Validate one (defaulted) object of this package as the API server would
 * (CRD schema + CEL for Gateway API kinds, API-server validation for Ingress
 * and IngressClass). Returns every problem with its field path; `[]` when valid.
 */
export function validateGatewayObject(obj: GatewayPackageObject): ManifestProblem[] {
  const c = new Collector(refOf(obj));
  const name = obj.metadata?.name;
  if (name === undefined || name === "") c.required("metadata.name", "name or generateName is required");
  const ns = obj.metadata?.namespace;
  if (!GATEWAY_NAMESPACED_KINDS.has(obj.kind) && ns !== undefined && ns !== "")
    c.add("forbidden", "metadata.namespace", "not allowed on this type (it is cluster-scoped)");
  switch (obj.kind) {
    case "GatewayClass":
      validateGatewayClass(obj, c);
      break;
    case "Gateway":
      validateGateway(obj, c);
      break;
    case "HTTPRoute":
      validateHTTPRoute(obj, c);
      break;
    case "ReferenceGrant":
      validateReferenceGrant(obj, c);
      break;
    case "Ingress":
      validateIngress(obj, c);
      break;
    case "IngressClass":
      validateIngressClass(obj, c);
      break;
  }
  return c.problems;
}

function validateGatewayClass(gc: GatewayClass, c: Collector): void {
  const cn = gc.spec?.controllerName;
  if (cn === undefined || cn === "") c.required("spec.controllerName");
  else c.pattern("spec.controllerName", cn, CONTROLLER, 253, "must be DOMAIN/PATH (e.g. knet.dev/gateway-controller)");
  if (gc.spec?.description !== undefined && gc.spec.description.length > 64)
    c.add("invalid", "spec.description", "Too long: must have at most 64 characters");
}

function validateGateway(gw: Gateway, c: Collector): void {
  const spec = gw.spec;
  if (spec?.gatewayClassName === undefined || spec.gatewayClassName === "") c.required("spec.gatewayClassName");
  else c.pattern("spec.gatewayClassName", spec.gatewayClassName, /^.+$/, 253, "");
  const listeners = spec?.listeners;
  if (listeners === undefined || listeners.length === 0) {
    c.required("spec.listeners", "Required value: a Gateway needs at least one listener");
    return;
  }
  c.maxItems("spec.listeners", listeners, 64);
  listeners.forEach((l, i) => {
    const f = `spec.listeners[${i}]`;
    if (l.name === undefined || l.name === "") c.required(`${f}.name`);
    else c.pattern(`${f}.name`, l.name, SECTION_NAME, 253, "must be a lower-case RFC 1123 subdomain");
    c.pattern(
      `${f}.hostname`,
      l.hostname,
      HOSTNAME,
      253,
      "must be a lower-case RFC 1123 hostname, optionally with a leading '*.' label",
    );
    if (l.port === undefined) c.required(`${f}.port`);
    else c.range(`${f}.port`, l.port, 1, 65535);
    if (l.protocol === undefined || l.protocol === "") c.required(`${f}.protocol`);
    else
      c.pattern(
        `${f}.protocol`,
        l.protocol,
        PROTOCOL,
        255,
        "must be a core protocol (HTTP, HTTPS, TLS, TCP, UDP) or DOMAIN/NAME",
      );
    const from = l.allowedRoutes?.namespaces?.from;
    c.enumValue(`${f}.allowedRoutes.namespaces.from`, from, ["All", "Selector", "Same"]);
    c.maxItems(`${f}.allowedRoutes.kinds`, l.allowedRoutes?.kinds, 8);
    l.allowedRoutes?.kinds?.forEach((k, j) => {
      c.pattern(`${f}.allowedRoutes.kinds[${j}].kind`, k.kind, KIND, 63, "must be a CamelCase kind");
      c.pattern(
        `${f}.allowedRoutes.kinds[${j}].group`,
        k.group,
        GROUP,
        253,
        "must be an API group (DNS subdomain) or empty",
      );
    });
    if (l.tls !== undefined) {
      c.enumValue(`${f}.tls.mode`, l.tls.mode, ["Terminate", "Passthrough"]);
      const refs = l.tls.certificateRefs ?? [];
      c.maxItems(`${f}.tls.certificateRefs`, refs, 64);
      c.cel(
        `${f}.tls`,
        l.tls.mode !== "Terminate" || refs.length > 0 || Object.keys(l.tls.options ?? {}).length > 0,
        "certificateRefs or options must be specified when mode is Terminate",
      );
      refs.forEach((r, j) => {
        if (r.name === undefined || r.name === "") c.required(`${f}.tls.certificateRefs[${j}].name`);
        c.pattern(`${f}.tls.certificateRefs[${j}].namespace`, r.namespace, NAMESPACE, 63, "must be a DNS-1123 label");
      });
    }
  });
  // CEL rules on spec.listeners (gateway_types.go).
  c.cel(
    "spec.listeners",
    listeners.every((l) => !["HTTP", "TCP", "UDP"].includes(l.protocol) || l.tls === undefined),
    "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
  );
  c.cel(
    "spec.listeners",
    listeners.every(
      (l) =>
        !(l.protocol === "HTTPS" && l.tls !== undefined) ||
        l.tls.mode === undefined ||
        l.tls.mode === "" ||
        l.tls.mode === "Terminate",
    ),
    "tls mode must be Terminate for protocol HTTPS",
  );
  c.cel(
    "spec.listeners",
    listeners.every((l) => l.protocol !== "TLS" || (l.tls?.mode !== undefined && l.tls.mode !== "")),
    "tls mode must be set for protocol TLS",
  );
  c.cel(
    "spec.listeners",
    listeners.every((l) => !["TCP", "UDP"].includes(l.protocol) || l.hostname === undefined || l.hostname === ""),
    "hostname must not be specified for protocols ['TCP', 'UDP']",
  );
  c.cel(
    "spec.listeners",
    listeners.every((l1) => listeners.filter((l2) => l1.name === l2.name).length === 1),
    "Listener name must be unique within the Gateway",
  );
  c.cel(
    "spec.listeners",
    listeners.every(
      (l1) =>
        listeners.filter((l2) => l1.port === l2.port && l1.protocol === l2.protocol && l1.hostname === l2.hostname)
          .length === 1,
    ),
    "Combination of port, protocol and hostname must be unique for each listener",
  );
}

function validateHTTPRoute(r: HTTPRoute, c: Collector): void {
  const spec = r.spec ?? {};
  const parents = spec.parentRefs ?? [];
  c.maxItems("spec.parentRefs", parents, 32);
  parents.forEach((p, i) => {
    const f = `spec.parentRefs[${i}]`;
    if (p.name === undefined || p.name === "") c.required(`${f}.name`);
    c.pattern(`${f}.namespace`, p.namespace, NAMESPACE, 63, "must be a DNS-1123 label");
    c.pattern(`${f}.sectionName`, p.sectionName, SECTION_NAME, 253, "must be a lower-case RFC 1123 subdomain");
    c.pattern(`${f}.kind`, p.kind, KIND, 63, "must be a CamelCase kind");
    c.pattern(`${f}.group`, p.group, GROUP, 253, "must be an API group or empty");
    c.range(`${f}.port`, p.port, 1, 65535);
  });
  const sameParent = (a: (typeof parents)[number], b: (typeof parents)[number]): boolean =>
    a.group === b.group && a.kind === b.kind && a.name === b.name && (a.namespace ?? "") === (b.namespace ?? "");
  c.cel(
    "spec.parentRefs",
    parents.every((p1) =>
      parents.every((p2) => !sameParent(p1, p2) || p1 === p2 || (p1.sectionName ?? "") !== "" || p1.port !== undefined),
    ),
    "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent",
  );
  c.cel(
    "spec.parentRefs",
    parents.every(
      (p1) =>
        parents.filter(
          (p2) => sameParent(p1, p2) && (p1.sectionName ?? "") === (p2.sectionName ?? "") && p1.port === p2.port,
        ).length === 1,
    ),
    "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent",
  );
  const hostnames = spec.hostnames ?? [];
  c.maxItems("spec.hostnames", hostnames, 16);
  hostnames.forEach((h, i) => {
    c.pattern(
      `spec.hostnames[${i}]`,
      h,
      HOSTNAME,
      253,
      "must be a lower-case RFC 1123 hostname (no IPs), optionally with a leading '*.' label",
    );
  });
  const rules = spec.rules ?? [];
  c.maxItems("spec.rules", rules, 16, 1);
  const totalMatches = rules.reduce((n, rule) => n + (rule.matches?.length ?? 0), 0);
  c.cel(
    "spec.rules",
    totalMatches <= 128,
    "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128",
  );
  rules.forEach((rule, i) => {
    validateRule(rule, `spec.rules[${i}]`, c);
  });
}

function validateRule(rule: HTTPRouteRule, f: string, c: Collector): void {
  const matches = rule.matches ?? [];
  c.maxItems(`${f}.matches`, matches, 64);
  matches.forEach((m, j) => {
    const mf = `${f}.matches[${j}]`;
    const t = m.path?.type;
    const v = m.path?.value;
    c.enumValue(`${mf}.path.type`, t, ["Exact", "PathPrefix", "RegularExpression"]);
    if (v !== undefined && v.length > 1024)
      c.add("invalid", `${mf}.path.value`, "Too long: must have at most 1024 characters");
    if ((t === "Exact" || t === "PathPrefix") && v !== undefined) {
      const p = `${mf}.path`;
      c.cel(
        p,
        v.startsWith("/"),
        "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
      );
      for (const bad of ["//", "/./", "/../", "%2f", "%2F", "#"])
        c.cel(p, !v.includes(bad), `must not contain '${bad}' when type one of ['Exact', 'PathPrefix']`);
      c.cel(p, !v.endsWith("/.."), "must not end with '/..' when type one of ['Exact', 'PathPrefix']");
      c.cel(p, !v.endsWith("/."), "must not end with '/.' when type one of ['Exact', 'PathPrefix']");
      c.cel(
        p,
        PATH_CHARS.test(v),
        "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
      );
    }
    if (t === "RegularExpression" && v !== undefined) {
      try {
        new RegExp(v);
      } catch (e) {
        c.add(
          "invalid",
          `${mf}.path.value`,
          `Invalid value: "${v}": not a regular expression knet can compile (${(e as Error).message})`,
        );
      }
    }
    c.enumValue(`${mf}.method`, m.method, METHODS);
    for (const [list, key, max] of [
      [m.headers, "headers", 4096],
      [m.queryParams, "queryParams", 1024],
    ] as const) {
      c.maxItems(`${mf}.${key}`, list, 16);
      list?.forEach((h, k) => {
        const hf = `${mf}.${key}[${k}]`;
        if (h.name === undefined || h.name === "") c.required(`${hf}.name`);
        else c.pattern(`${hf}.name`, h.name, HEADER_NAME, 256, "must be an HTTP token (RFC 7230)");
        if (h.value === undefined) c.required(`${hf}.value`);
        else if (h.value.length < 1 || h.value.length > max)
          c.add("invalid", `${hf}.value`, `Invalid value: must be 1 to ${max} characters`);
        c.enumValue(`${hf}.type`, h.type, ["Exact", "RegularExpression"]);
      });
    }
  });
  validateFilters(rule.filters, `${f}.filters`, c);
  const backends = rule.backendRefs ?? [];
  c.maxItems(`${f}.backendRefs`, backends, 16);
  backends.forEach((b, j) => {
    const bf = `${f}.backendRefs[${j}]`;
    if (b.name === undefined || b.name === "") c.required(`${bf}.name`);
    c.pattern(`${bf}.namespace`, b.namespace, NAMESPACE, 63, "must be a DNS-1123 label");
    c.range(`${bf}.port`, b.port, 1, 65535);
    c.range(`${bf}.weight`, b.weight, 0, 1_000_000);
    c.cel(
      bf,
      !((b.group ?? "") === "" && (b.kind ?? "Service") === "Service") || b.port !== undefined,
      "Must have port for Service reference",
    );
    validateFilters(b.filters, `${bf}.filters`, c);
  });
  const filters = rule.filters ?? [];
  c.cel(
    f,
    backends.length === 0 || filters.every((x) => x.requestRedirect === undefined),
    "RequestRedirect filter must not be used together with backendRefs",
  );
  const singlePrefix = matches.length === 1 && matches[0]?.path !== undefined && matches[0].path.type === "PathPrefix";
  const usesPrefix = (list: HTTPRouteFilter[] | undefined, key: "requestRedirect" | "urlRewrite"): boolean =>
    (list ?? []).filter(
      (x) => x[key]?.path?.type === "ReplacePrefixMatch" && x[key]?.path?.replacePrefixMatch !== undefined,
    ).length === 1;
  c.cel(
    f,
    !usesPrefix(filters, "requestRedirect") || singlePrefix,
    "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
  );
  c.cel(
    f,
    !usesPrefix(filters, "urlRewrite") || singlePrefix,
    "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
  );
  c.cel(
    f,
    backends.filter((b) => usesPrefix(b.filters, "requestRedirect")).length !== 1 || singlePrefix,
    "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
  );
  c.cel(
    f,
    backends.filter((b) => usesPrefix(b.filters, "urlRewrite")).length !== 1 || singlePrefix,
    "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
  );
}

function validateFilters(filters: HTTPRouteFilter[] | undefined, f: string, c: Collector): void {
  if (filters === undefined) return;
  c.maxItems(f, filters, 16);
  filters.forEach((x, i) => {
    const ff = `${f}[${i}]`;
    c.enumValue(`${ff}.type`, x.type, FILTER_TYPES);
    for (const [type, key] of Object.entries(FILTER_FIELDS)) {
      const lower = key;
      c.cel(
        ff,
        !(x[key] !== undefined && x.type !== type),
        `filter.${lower} must be nil if the filter.type is not ${type}`,
      );
      c.cel(
        ff,
        !(x[key] === undefined && x.type === type),
        `filter.${lower} must be specified for ${type} filter.type`,
      );
    }
    for (const key of ["requestHeaderModifier", "responseHeaderModifier"] as const) {
      const hf = x[key];
      if (hf === undefined) continue;
      c.maxItems(`${ff}.${key}.set`, hf.set, 16);
      c.maxItems(`${ff}.${key}.add`, hf.add, 16);
      c.maxItems(`${ff}.${key}.remove`, hf.remove, 16);
      for (const part of ["set", "add"] as const) {
        const seen = new Set<string>();
        hf[part]?.forEach((h, k) => {
          c.pattern(`${ff}.${key}.${part}[${k}].name`, h.name, HEADER_NAME, 256, "must be an HTTP token (RFC 7230)");
          if (h.value === undefined || h.value.length < 1 || h.value.length > 4096)
            c.add("invalid", `${ff}.${key}.${part}[${k}].value`, "Invalid value: must be 1 to 4096 characters");
          if (seen.has(h.name))
            c.add("duplicate", `${ff}.${key}.${part}[${k}]`, `Duplicate value: {"name":"${h.name}"}`);
          seen.add(h.name);
        });
      }
    }
    const redirect = x.requestRedirect;
    if (redirect !== undefined) {
      c.enumValue(`${ff}.requestRedirect.scheme`, redirect.scheme, ["http", "https"]);
      c.pattern(
        `${ff}.requestRedirect.hostname`,
        redirect.hostname,
        PRECISE_HOSTNAME,
        253,
        "must be a lower-case RFC 1123 hostname without wildcard",
      );
      c.range(`${ff}.requestRedirect.port`, redirect.port, 1, 65535);
      c.enumValue(`${ff}.requestRedirect.statusCode`, redirect.statusCode, [301, 302, 303, 307, 308]);
    }
    const rewrite = x.urlRewrite;
    if (rewrite !== undefined)
      c.pattern(
        `${ff}.urlRewrite.hostname`,
        rewrite.hostname,
        PRECISE_HOSTNAME,
        253,
        "must be a lower-case RFC 1123 hostname without wildcard",
      );
    for (const key of ["requestRedirect", "urlRewrite"] as const) {
      const pm = x[key]?.path;
      if (pm === undefined) continue;
      const pf = `${ff}.${key}.path`;
      c.enumValue(`${pf}.type`, pm.type, ["ReplaceFullPath", "ReplacePrefixMatch"]);
      c.cel(
        pf,
        pm.type !== "ReplaceFullPath" || pm.replaceFullPath !== undefined,
        "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
      );
      c.cel(
        pf,
        pm.replaceFullPath === undefined || pm.type === "ReplaceFullPath",
        "type must be 'ReplaceFullPath' when replaceFullPath is set",
      );
      c.cel(
        pf,
        pm.type !== "ReplacePrefixMatch" || pm.replacePrefixMatch !== undefined,
        "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'",
      );
      c.cel(
        pf,
        pm.replacePrefixMatch === undefined || pm.type === "ReplacePrefixMatch",
        "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
      );
    }
    const mirror = x.requestMirror;
    if (mirror !== undefined) {
      if (mirror.backendRef?.name === undefined) c.required(`${ff}.requestMirror.backendRef.name`);
      c.range(`${ff}.requestMirror.percent`, mirror.percent, 0, 100);
      c.cel(
        `${ff}.requestMirror`,
        !(mirror.percent !== undefined && mirror.fraction !== undefined),
        "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
      );
      if (mirror.fraction !== undefined)
        c.cel(
          `${ff}.requestMirror.fraction`,
          mirror.fraction.numerator <= (mirror.fraction.denominator ?? 100),
          "numerator must be less than or equal to denominator",
        );
    }
  });
  const count = (t: string): number => filters.filter((x) => x.type === t).length;
  c.cel(
    f,
    !(count("RequestRedirect") > 0 && count("URLRewrite") > 0),
    "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
  );
  for (const t of ["CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"])
    c.cel(f, count(t) <= 1, `${t} filter cannot be repeated`);
}

function validateReferenceGrant(g: ReferenceGrant, c: Collector): void {
  const from = g.spec?.from ?? [];
  const to = g.spec?.to ?? [];
  c.maxItems("spec.from", from, 16, 1);
  c.maxItems("spec.to", to, 16, 1);
  from.forEach((x, i) => {
    if (x.group === undefined) c.required(`spec.from[${i}].group`);
    if (x.kind === undefined || x.kind === "") c.required(`spec.from[${i}].kind`);
    else c.pattern(`spec.from[${i}].kind`, x.kind, KIND, 63, "must be a CamelCase kind");
    if (x.namespace === undefined || x.namespace === "") c.required(`spec.from[${i}].namespace`);
    else c.pattern(`spec.from[${i}].namespace`, x.namespace, NAMESPACE, 63, "must be a DNS-1123 label");
  });
  to.forEach((x, i) => {
    if (x.group === undefined) c.required(`spec.to[${i}].group`);
    if (x.kind === undefined || x.kind === "") c.required(`spec.to[${i}].kind`);
    else c.pattern(`spec.to[${i}].kind`, x.kind, KIND, 63, "must be a CamelCase kind");
  });
}

function ingressPathErrors(path: string, pathType: string | undefined): string | undefined {
  if (pathType === "Exact" || pathType === "Prefix") {
    if (!path.startsWith("/")) return "must be an absolute path";
    for (const bad of ["//", "/./", "/../", "%2f", "%2F"]) if (path.includes(bad)) return `must not contain '${bad}'`;
    for (const bad of ["/..", "/."]) if (path.endsWith(bad)) return `must not end with '${bad}'`;
  } else if (path !== "" && !path.startsWith("/")) {
    return "must be an absolute path";
  }
  return undefined;
}

function validateIngressBackend(
  b: NonNullable<NonNullable<Ingress["spec"]>["defaultBackend"]>,
  f: string,
  c: Collector,
): void {
  const hasService = b.service !== undefined;
  const hasResource = b.resource !== undefined;
  if (hasService === hasResource) {
    c.add(
      "invalid",
      f,
      hasService
        ? "cannot set both service and resource backends"
        : "Required value: one of service or resource must be specified",
    );
    return;
  }
  if (b.service !== undefined) {
    const sf = `${f}.service`;
    if (b.service.name === undefined || b.service.name === "") c.required(`${sf}.name`);
    else c.pattern(`${sf}.name`, b.service.name, DNS1035, 63, "must be a DNS-1035 label");
    const port = b.service.port;
    const hasName = port?.name !== undefined && port.name !== "";
    const hasNumber = port?.number !== undefined && port.number !== 0;
    if (hasName === hasNumber)
      c.add(
        "invalid",
        `${sf}.port`,
        hasName ? "cannot set both port name & port number" : "Required value: port name or number is required",
      );
    else if (hasNumber) c.range(`${sf}.port.number`, port?.number, 1, 65535);
  }
}

function validateIngress(ing: Ingress, c: Collector): void {
  const spec = ing.spec ?? {};
  if (spec.defaultBackend === undefined && (spec.rules === undefined || spec.rules.length === 0))
    c.add("invalid", "spec", "Invalid value: either `defaultBackend` or `rules` must be specified");
  if (spec.defaultBackend !== undefined) validateIngressBackend(spec.defaultBackend, "spec.defaultBackend", c);
  if (spec.ingressClassName !== undefined)
    c.pattern("spec.ingressClassName", spec.ingressClassName, PRECISE_HOSTNAME, 253, "must be a DNS-1123 subdomain");
  (spec.tls ?? []).forEach((t, i) => {
    (t.hosts ?? []).forEach((h, j) => {
      c.pattern(
        `spec.tls[${i}].hosts[${j}]`,
        h,
        INGRESS_HOST,
        253,
        "must be a DNS-1123 subdomain, optionally with a leading '*.' label",
      );
    });
  });
  (spec.rules ?? []).forEach((r, i) => {
    const f = `spec.rules[${i}]`;
    if (r.host !== undefined && r.host !== "") {
      if (/^[0-9.]+$/.test(r.host) || r.host.includes(":"))
        c.add("invalid", `${f}.host`, `Invalid value: "${r.host}": must be a DNS name, not an IP address`);
      else
        c.pattern(
          `${f}.host`,
          r.host,
          INGRESS_HOST,
          253,
          "must be a DNS-1123 subdomain, optionally with a leading '*.' label",
        );
    }
    if (r.http === undefined) return;
    if (r.http.paths === undefined || r.http.paths.length === 0) {
      c.required(`${f}.http.paths`);
      return;
    }
    r.http.paths.forEach((p, j) => {
      const pf = `${f}.http.paths[${j}]`;
      if (p.pathType === undefined) c.required(`${pf}.pathType`, "Required value: pathType must be specified");
      else c.enumValue(`${pf}.pathType`, p.pathType, ["Exact", "Prefix", "ImplementationSpecific"]);
      const why = ingressPathErrors(p.path ?? "", p.pathType);
      if (why !== undefined) c.add("invalid", `${pf}.path`, `Invalid value: "${p.path ?? ""}": ${why}`);
      if (p.backend === undefined) c.required(`${pf}.backend`);
      else validateIngressBackend(p.backend, `${pf}.backend`, c);
    });
  });
}

function validateIngressClass(ic: IngressClass, c: Collector): void {
  const ctl = ic.spec?.controller;
  if (ctl === undefined || ctl === "") c.required("spec.controller");
  else if (ctl.length > 250) c.add("invalid", "spec.controller", "Too long: must have at most 250 characters");
  else c.pattern("spec.controller", ctl, CONTROLLER, 250, 'must be a domain-prefixed path (such as "acme.io/foo")');
}
