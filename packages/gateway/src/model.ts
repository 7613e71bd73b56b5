/**
 * The controller's view: which Gateways knet owns, their listeners with
 * conditions and certificates, which routes attach to which listeners (with the
 * hostnames they share), each route rule compiled with its resolved backends,
 * and the status a conformant controller writes for all of it.
 */
import type { EndpointSlice, LabelSelector, Namespace, Service } from "@knet/k8s";
import { matchSelector, NAMESPACE_NAME_LABEL } from "@knet/k8s";
import { type BackendEndpoint, ServiceIndex } from "./backends.js";
import { condition, Reason } from "./conditions.js";
import { intersectHostname, type WildcardMode } from "./hostname.js";
import { type IngressTranslation, translateIngresses } from "./ingress.js";
import type {
  BackendObjectReference,
  Condition,
  Gateway,
  GatewayClass,
  HTTPRoute,
  HTTPRouteFilter,
  HTTPRouteMatch,
  Ingress,
  IngressClass,
  Listener,
  ParentReference,
  ReferenceGrant,
  RouteGroupKind,
  Secret,
} from "./types.js";
import { GATEWAY_GROUP, KNET_CONTROLLER_NAME } from "./types.js";
import { defaultGatewayObject } from "./validate.js";

/** The objects a gateway model is built from. Missing lists count as empty. */
export interface GatewayInputs {
  /** GatewayClasses (knet serves those whose controllerName is its own). */
  readonly gatewayClasses?: readonly GatewayClass[];
  /** Gateways. */
  readonly gateways?: readonly Gateway[];
  /** HTTPRoutes. */
  readonly httpRoutes?: readonly HTTPRoute[];
  /** ReferenceGrants. */
  readonly referenceGrants?: readonly ReferenceGrant[];
  /** Ingresses (translated to Gateways and HTTPRoutes). */
  readonly ingresses?: readonly Ingress[];
  /** IngressClasses. */
  readonly ingressClasses?: readonly IngressClass[];
  /** Services (backends). */
  readonly services?: readonly Service[];
  /** EndpointSlices (backend endpoints). */
  readonly endpointSlices?: readonly EndpointSlice[];
  /** Namespaces (labels for `allowedRoutes.namespaces.from: Selector`). */
  readonly namespaces?: readonly Namespace[];
  /** Secrets (listener certificates). */
  readonly secrets?: readonly Secret[];
}

/** Options of {@link buildGatewayModel}. */
export interface GatewayModelOptions {
  /** The controllerName knet answers for (default `knet.dev/gateway-controller`). */
  readonly controllerName?: string;
  /**
   * Serve Ingresses that name no class when no IngressClass is marked default
   * (ingress-nginx's `--watch-ingress-without-class`). Default true.
   */
  readonly ingressWithoutClass?: boolean;
}

/** `namespace/name` of an object. */
export interface ObjectKey {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
}

/** A PEM certificate and key a TLS listener serves. */
export interface ListenerCertificate {
  /** `tls.crt` (PEM). */
  readonly cert: string;
  /** `tls.key` (PEM). */
  readonly key: string;
  /** `namespace/name` of the Secret. */
  readonly secret: string;
}

/** One listener as the controller sees it. */
export interface ListenerState {
  /** The Gateway. */
  readonly gateway: ObjectKey;
  /** Listener name. */
  readonly name: string;
  /** Port. */
  readonly port: number;
  /** Protocol (`HTTP`, `HTTPS`, ...). */
  readonly protocol: string;
  /** Hostname, when set. */
  readonly hostname: string | undefined;
  /** How its wildcard matches (Ingress hosts match one label). */
  readonly wildcard: WildcardMode;
  /** Route kinds it accepts. */
  readonly supportedKinds: readonly RouteGroupKind[];
  /** Conditions (Accepted, ResolvedRefs, Programmed, Conflicted). */
  readonly conditions: readonly Condition[];
  /** Routes accepted on this listener. */
  attachedRoutes: number;
  /** Programmed: the data plane serves it. */
  readonly programmed: boolean;
  /** Certificates (HTTPS). */
  readonly certificates: readonly ListenerCertificate[];
  /** Listener index in the Gateway (for ordering). */
  readonly index: number;
  /** `allowedRoutes.namespaces` after defaulting. */
  readonly allowedRoutes: { readonly from: string; readonly selector: LabelSelector | undefined };
}

/** One Gateway knet owns. */
export interface GatewayState {
  /** `namespace/name`. */
  readonly key: ObjectKey;
  /** Where it came from: a Gateway object or the Ingress translation. */
  readonly source: "Gateway" | "Ingress";
  /** `metadata.creationTimestamp`, when set. */
  readonly creationTimestamp: string | undefined;
  /** Conditions (Accepted, Programmed). */
  readonly conditions: readonly Condition[];
  /** Listeners in spec order. */
  readonly listeners: readonly ListenerState[];
}

/** A backend of a rule after resolution. */
export interface ResolvedBackend {
  /** Kind (`Service`). */
  readonly kind: string;
  /** Group (`""` for core). */
  readonly group: string;
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** Port (Service port). */
  readonly port: number | undefined;
  /** Weight. */
  readonly weight: number;
  /** Whether the reference resolved (exists, allowed, supported kind). */
  readonly valid: boolean;
  /** Why not, when invalid: reason and message. */
  readonly problem: { readonly reason: string; readonly message: string } | undefined;
  /** Ready endpoints (empty when invalid or none ready). */
  readonly endpoints: readonly BackendEndpoint[];
  /** Filters applied only when this backend is chosen. */
  readonly filters: readonly HTTPRouteFilter[];
}

/** One compiled rule. */
export interface CompiledRule {
  /** Index in `spec.rules`. */
  readonly index: number;
  /** Rule name, when set. */
  readonly name: string | undefined;
  /** Defaulted matches. */
  readonly matches: readonly HTTPRouteMatch[];
  /** Rule filters. */
  readonly filters: readonly HTTPRouteFilter[];
  /** Backends (every backendRef, valid or not). */
  readonly backends: readonly ResolvedBackend[];
  /** Mirror targets (resolved). */
  readonly mirrors: readonly ResolvedBackend[];
  /** Unsupported configuration that drops the rule (undefined = usable). */
  readonly unsupported: string | undefined;
}

/** A route attached to a listener, with the hostnames they share. */
export interface Attachment {
  /** The listener. */
  readonly listener: ListenerState;
  /** Effective hostnames (intersection); `[]` = every host the listener takes. */
  readonly hostnames: readonly string[];
}

/** One route as the controller sees it. */
export interface RouteState {
  /** `HTTPRoute`, or `Ingress` for routes translated from an Ingress. */
  readonly kind: "HTTPRoute" | "Ingress";
  /** The route (Ingress: its name). */
  readonly key: ObjectKey;
  /** The HTTPRoute's name in the translation (same as key.name for HTTPRoutes). */
  readonly routeName: string;
  /** `metadata.creationTimestamp`, when set. */
  readonly creationTimestamp: string | undefined;
  /** How wildcards in its hostnames match. */
  readonly wildcard: WildcardMode;
  /** Compiled rules. */
  readonly rules: readonly CompiledRule[];
  /** Listeners it is attached to (Accepted on). */
  readonly attachments: readonly Attachment[];
  /** Per-parentRef status of parents knet owns. */
  readonly parents: readonly { readonly parentRef: ParentReference; readonly conditions: readonly Condition[] }[];
}

/** Everything {@link buildGatewayModel} derives. */
export interface GatewayModel {
  /** Gateways knet owns (Gateway objects of its classes, then Ingress translations). */
  readonly gateways: readonly GatewayState[];
  /** Routes with a parentRef to a Gateway knet owns. */
  readonly routes: readonly RouteState[];
  /** The Ingress translation (Gateways and HTTPRoutes as ingress2gateway writes them). */
  readonly ingress: IngressTranslation;
}

const HTTP_ROUTE_KIND: RouteGroupKind = { group: GATEWAY_GROUP, kind: "HTTPRoute" };
const SUPPORTED_PROTOCOLS = new Set(["HTTP", "HTTPS"]);
const SUPPORTED_FILTERS = new Set([
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestRedirect",
  "URLRewrite",
  "RequestMirror",
]);

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  return { namespace: o.metadata?.namespace ?? "default", name: o.metadata?.name ?? "" };
}

/** Whether a ReferenceGrant in `toNamespace` lets `fromKind` objects of `fromNamespace` refer to `toKind` `toName`. */
export function referenceAllowed(
  grants: readonly ReferenceGrant[],
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (g) =>
      (g.metadata?.namespace ?? "default") === to.namespace &&
      (g.spec?.from ?? []).some(
        (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
      ) &&
      (g.spec?.to ?? []).some(
        (t) =>
          t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name),
      ),
  );
}

function decodeSecretValue(secret: Secret, key: string): string | undefined {
  const s = secret.stringData?.[key];
  if (s !== undefined) return s;
  const d = secret.data?.[key];
  return d === undefined ? undefined : Buffer.from(d, "base64").toString("utf8");
}

interface Ctx {
  readonly grants: readonly ReferenceGrant[];
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly nsLabels: (ns: string) => Record<string, string>;
  readonly services: ServiceIndex;
}

function buildListeners(gw: Gateway, key: ObjectKey, wildcard: WildcardMode, ctx: Ctx): ListenerState[] {
  const listeners = gw.spec.listeners ?? [];
  const protocolsByPort = new Map<number, Set<string>>();
  for (const l of listeners) {
    const set = protocolsByPort.get(l.port) ?? new Set<string>();
    set.add(l.protocol === "HTTPS" || l.protocol === "TLS" ? "tls" : l.protocol === "HTTP" ? "http" : l.protocol);
    protocolsByPort.set(l.port, set);
  }
  return listeners.map((l, index) =>
    buildListener(l, index, key, wildcard, (protocolsByPort.get(l.port)?.size ?? 1) > 1, ctx),
  );
}

function buildListener(
  l: Listener,
  index: number,
  gw: ObjectKey,
  wildcard: WildcardMode,
  conflicted: boolean,
  ctx: Ctx,
): ListenerState {
  const conditions: Condition[] = [];
  const supported = SUPPORTED_PROTOCOLS.has(l.protocol);
  conditions.push(
    supported
      ? condition("Accepted", true, Reason.Accepted, "Listener is accepted")
      : condition(
          "Accepted",
          false,
          Reason.UnsupportedProtocol,
          `Protocol ${l.protocol} is not supported by knet: use HTTP or HTTPS`,
        ),
  );
  // Route kinds.
  let refsProblem: { reason: string; message: string } | undefined;
  const kinds = l.allowedRoutes?.kinds;
  let supportedKinds: RouteGroupKind[] = supported ? [HTTP_ROUTE_KIND] : [];
  if (kinds !== undefined && kinds.length > 0) {
    const valid = kinds.filter((k) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === "HTTPRoute");
    supportedKinds = supported ? valid.map(() => HTTP_ROUTE_KIND).slice(0, 1) : [];
    const invalid = kinds.filter((k) => !valid.includes(k));
    if (invalid.length > 0)
      refsProblem = {
        reason: Reason.InvalidRouteKinds,
        message: `Route kinds ${invalid.map((k) => `${k.group ?? GATEWAY_GROUP}/${k.kind}`).join(", ")} are not supported on a ${l.protocol} listener`,
      };
  }
  // Certificates.
  const certificates: ListenerCertificate[] = [];
  if (l.protocol === "HTTPS") {
    for (const ref of l.tls?.certificateRefs ?? []) {
      const ns = ref.namespace ?? gw.namespace;
      const label = `${ref.kind ?? "Secret"} ${ns}/${ref.name}`;
      let problem: { reason: string; message: string } | undefined;
      if ((ref.group ?? "") !== "" || (ref.kind ?? "Secret") !== "Secret") {
        problem = {
          reason: Reason.InvalidCertificateRef,
          message: `${label}: only core Secrets can hold certificates`,
        };
      } else if (
        !referenceAllowed(
          ctx.grants,
          { group: GATEWAY_GROUP, kind: "Gateway", namespace: gw.namespace },
          { group: "", kind: "Secret", namespace: ns, name: ref.name },
        )
      ) {
        problem = {
          reason: Reason.RefNotPermitted,
          message: `${label} is in another namespace and no ReferenceGrant there allows Gateways from ${gw.namespace}`,
        };
      } else {
        const secret = ctx.secrets.get(`${ns}/${ref.name}`);
        const cert = secret === undefined ? undefined : decodeSecretValue(secret, "tls.crt");
        const key = secret === undefined ? undefined : decodeSecretValue(secret, "tls.key");
        if (secret === undefined) problem = { reason: Reason.InvalidCertificateRef, message: `${label} not found` };
        else if (
          cert === undefined ||
          key === undefined ||
          !cert.includes("BEGIN CERTIFICATE") ||
          !key.includes("PRIVATE KEY")
        )
          problem = { reason: Reason.InvalidCertificateRef, message: `${label} has no PEM tls.crt and tls.key` };
        else certificates.push({ cert, key, secret: `${ns}/${ref.name}` });
      }
      if (problem !== undefined && refsProblem === undefined) refsProblem = problem;
    }
  }
  conditions.push(
    refsProblem === undefined
      ? condition("ResolvedRefs", true, Reason.ResolvedRefs, "All references are resolved")
      : condition("ResolvedRefs", false, refsProblem.reason, refsProblem.message),
  );
  const programmed = supported && refsProblem === undefined && !conflicted;
  conditions.push(
    programmed
      ? condition("Programmed", true, Reason.Programmed, "Listener is programmed")
      : condition("Programmed", false, Reason.Invalid, "Listener is not programmed: see its other conditions"),
  );
  conditions.push(
    conflicted
      ? condition(
          "Conflicted",
          true,
          Reason.ProtocolConflict,
          `Another listener on port ${l.port} uses an incompatible protocol`,
        )
      : condition("Conflicted", false, Reason.NoConflicts, "No conflicts"),
  );
  return {
    gateway: gw,
    name: l.name,
    port: l.port,
    protocol: l.protocol,
    hostname: l.hostname,
    wildcard,
    supportedKinds,
    conditions,
    attachedRoutes: 0,
    programmed,
    certificates,
    index,
    allowedRoutes: {
      from: l.allowedRoutes?.namespaces?.from ?? "Same",
      selector: l.allowedRoutes?.namespaces?.selector,
    },
  };
}

function gatewayConditions(listeners: readonly ListenerState[]): Condition[] {
  const invalid = listeners.filter((l) => !l.programmed);
  const all = invalid.length === listeners.length && listeners.length > 0;
  const accepted =
    invalid.length === 0
      ? condition("Accepted", true, Reason.Accepted, "Gateway is accepted")
      : condition(
          "Accepted",
          !all,
          Reason.ListenersNotValid,
          `Listeners not valid: ${invalid.map((l) => l.name).join(", ")}`,
        );
  const programmed = all
    ? condition("Programmed", false, Reason.Invalid, "No listener is programmed")
    : condition("Programmed", true, Reason.Programmed, "Gateway is programmed");
  return [accepted, programmed];
}

function resolveBackend(
  ref: BackendObjectReference & { weight?: number; filters?: HTTPRouteFilter[] },
  routeNs: string,
  ctx: Ctx,
): ResolvedBackend {
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Service";
  const namespace = ref.namespace ?? routeNs;
  const base = {
    kind,
    group,
    namespace,
    name: ref.name,
    port: ref.port,
    weight: ref.weight ?? 1,
    filters: ref.filters ?? [],
  };
  const invalid = (reason: string, message: string): ResolvedBackend => ({
    ...base,
    valid: false,
    problem: { reason, message },
    endpoints: [],
  });
  if (group !== "" || kind !== "Service")
    return invalid(
      Reason.InvalidKind,
      `${group === "" ? "" : `${group}/`}${kind} ${namespace}/${ref.name}: knet supports only core Services as backends`,
    );
  if (
    !referenceAllowed(
      ctx.grants,
      { group: GATEWAY_GROUP, kind: "HTTPRoute", namespace: routeNs },
      { group: "", kind: "Service", namespace, name: ref.name },
    )
  )
    return invalid(
      Reason.RefNotPermitted,
      `Service ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows HTTPRoutes from ${routeNs}`,
    );
  if (ref.port === undefined)
    return invalid(Reason.BackendNotFound, `Service ${namespace}/${ref.name}: port is required`);
  const found = ctx.services.lookup(namespace, ref.name, ref.port);
  if (!found.found) return invalid(Reason.BackendNotFound, found.why);
  return { ...base, valid: true, problem: undefined, endpoints: found.endpoints };
}

function compileRules(route: HTTPRoute, ctx: Ctx): CompiledRule[] {
  const ns = keyOf(route).namespace;
  return (route.spec.rules ?? []).map((rule, index) => {
    const filters = rule.filters ?? [];
    const all = [...filters, ...(rule.backendRefs ?? []).flatMap((b) => b.filters ?? [])];
    const bad = all.find((f) => !SUPPORTED_FILTERS.has(f.type));
    const unsupported = bad === undefined ? undefined : `filter type ${bad.type} is not supported by knet`;
    return {
      index,
      name: rule.name,
      matches: rule.matches ?? [],
      filters,
      backends: (rule.backendRefs ?? []).map((b) => resolveBackend(b, ns, ctx)),
      mirrors: filters.flatMap((f) =>
        f.requestMirror === undefined ? [] : [resolveBackend({ ...f.requestMirror.backendRef, weight: 1 }, ns, ctx)],
      ),
      unsupported,
    };
  });
}

function routeResolvedRefs(rules: readonly CompiledRule[]): Condition {
  for (const r of rules)
    for (const b of [...r.backends, ...r.mirrors])
      if (b.problem !== undefined) return condition("ResolvedRefs", false, b.problem.reason, b.problem.message);
  return condition("ResolvedRefs", true, Reason.ResolvedRefs, "All references are resolved");
}

interface OwnedGateway {
  readonly state: GatewayState;
}

function attach(
  route: HTTPRoute,
  kind: "HTTPRoute" | "Ingress",
  key: ObjectKey,
  wildcard: WildcardMode,
  owned: ReadonlyMap<string, OwnedGateway>,
  ctx: Ctx,
): RouteState {
  const routeKey = keyOf(route);
  const rules = compileRules(route, ctx);
  const usableRules = rules.filter((r) => r.unsupported === undefined);
  const resolved = routeResolvedRefs(rules);
  const attachments: Attachment[] = [];
  const parents: { parentRef: ParentReference; conditions: Condition[] }[] = [];
  const nsLabels = ctx.nsLabels(routeKey.namespace);
  for (const p of route.spec.parentRefs ?? []) {
    if ((p.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (p.kind ?? "Gateway") !== "Gateway") continue;
    const gwKey = `${p.namespace ?? routeKey.namespace}/${p.name}`;
    const gw = owned.get(gwKey);
    if (gw === undefined) continue; // not ours: another controller writes this parent's status
    const parentRef: ParentReference = {
      group: GATEWAY_GROUP,
      kind: "Gateway",
      namespace: p.namespace ?? routeKey.namespace,
      name: p.name,
    };
    if (p.sectionName !== undefined) parentRef.sectionName = p.sectionName;
    if (p.port !== undefined) parentRef.port = p.port;
    const selected = gw.state.listeners.filter(
      (l) => (p.sectionName === undefined || l.name === p.sectionName) && (p.port === undefined || l.port === p.port),
    );
    const allowed = selected.filter((l) => {
      if (!l.supportedKinds.some((k) => k.kind === "HTTPRoute")) return false;
      const from = l.allowedRoutes;
      if (from.from === "Same") return routeKey.namespace === l.gateway.namespace;
      if (from.from === "All") return true;
      if (from.from === "Selector") return from.selector !== undefined && matchSelector(from.selector, nsLabels);
      return false;
    });
    const matched: Attachment[] = [];
    for (const l of allowed) {
      const routeHosts = route.spec.hostnames ?? [];
      if (routeHosts.length === 0) {
        matched.push({ listener: l, hostnames: l.hostname === undefined ? [] : [l.hostname] });
        continue;
      }
      const shared = [
        ...new Set(routeHosts.map((h) => intersectHostname(l.hostname, h)).filter((h): h is string => h !== undefined)),
      ];
      if (shared.length > 0) matched.push({ listener: l, hostnames: shared });
    }
    let accepted: Condition;
    if (selected.length === 0)
      accepted = condition(
        "Accepted",
        false,
        Reason.NoMatchingParent,
        `Gateway ${gwKey} has no listener${p.sectionName === undefined ? "" : ` named ${p.sectionName}`}${p.port === undefined ? "" : ` on port ${p.port}`}`,
      );
    else if (allowed.length === 0)
      accepted = condition(
        "Accepted",
        false,
        Reason.NotAllowedByListeners,
        `No listener of Gateway ${gwKey} allows HTTPRoutes from namespace ${routeKey.namespace}`,
      );
    else if (matched.length === 0)
      accepted = condition(
        "Accepted",
        false,
        Reason.NoMatchingListenerHostname,
        `No hostname of the route intersects a listener hostname of Gateway ${gwKey}`,
      );
    else if (usableRules.length === 0)
      accepted = condition(
        "Accepted",
        false,
        Reason.UnsupportedValue,
        `Every rule is unsupported: ${rules[0]?.unsupported ?? "no rules"}`,
      );
    else accepted = condition("Accepted", true, Reason.Accepted, "Route is accepted");
    const conditions = [accepted, resolved];
    const partial = rules.filter((r) => r.unsupported !== undefined);
    if (accepted.status === "True" && partial.length > 0)
      conditions.push(
        condition(
          "PartiallyInvalid",
          true,
          Reason.UnsupportedValue,
          `Dropped Rule(s) ${partial.map((r) => `${r.index} (${r.unsupported})`).join(", ")}`,
        ),
      );
    parents.push({ parentRef, conditions });
    if (accepted.status === "True")
      for (const m of matched) if (!attachments.some((a) => a.listener === m.listener)) attachments.push(m);
  }
  return {
    kind,
    key,
    routeName: routeKey.name,
    creationTimestamp: route.metadata?.creationTimestamp,
    wildcard,
    rules,
    attachments,
    parents,
  };
}

/**
 * Build the controller's view from objects: owned Gateways (class with
 * knet's controllerName; Ingresses through the ingress2gateway translation),
 * listener and Gateway conditions, route attachment with per-parent conditions,
 * compiled rules with resolved backends, and `attachedRoutes` per listener.
 * Objects are defaulted (CRD defaults) here; validate them first with
 * {@link validateGatewayObject} to reject what the API server would.
 */
export function buildGatewayModel(inputs: GatewayInputs, options: GatewayModelOptions = {}): GatewayModel {
  const controller = options.controllerName ?? KNET_CONTROLLER_NAME;
  const nsObjects = new Map((inputs.namespaces ?? []).map((n) => [n.metadata?.name ?? "", n.metadata?.labels ?? {}]));
  const ctx: Ctx = {
    grants: inputs.referenceGrants ?? [],
    secrets: new Map(
      (inputs.secrets ?? []).map((s) => [`${s.metadata?.namespace ?? "default"}/${s.metadata?.name ?? ""}`, s]),
    ),
    nsLabels: (ns) => ({ ...(nsObjects.get(ns) ?? {}), [NAMESPACE_NAME_LABEL]: ns }),
    services: new ServiceIndex(inputs.services ?? [], inputs.endpointSlices ?? []),
  };
  const classes = new Set(
    (inputs.gatewayClasses ?? [])
      .filter((c) => c.spec?.controllerName === controller)
      .map((c) => c.metadata?.name ?? ""),
  );
  const ingress = translateIngresses(inputs.ingresses ?? [], inputs.ingressClasses ?? [], {
    controllerName: controller,
    ingressWithoutClass: options.ingressWithoutClass ?? true,
    services: inputs.services ?? [],
  });

  const owned = new Map<string, OwnedGateway>();
  const gateways: GatewayState[] = [];
  const addGateway = (raw: Gateway, source: "Gateway" | "Ingress"): void => {
    const gw = defaultGatewayObject(raw);
    const key = keyOf(gw);
    const wildcard: WildcardMode = source === "Ingress" ? "one-label" : "suffix";
    const listeners = buildListeners(gw, key, wildcard, ctx);
    const state: GatewayState = {
      key,
      source,
      creationTimestamp: gw.metadata?.creationTimestamp,
      conditions: gatewayConditions(listeners),
      listeners,
    };
    gateways.push(state);
    owned.set(`${key.namespace}/${key.name}`, { state });
  };
  for (const gw of inputs.gateways ?? []) if (classes.has(gw.spec?.gatewayClassName ?? "")) addGateway(gw, "Gateway");
  for (const gw of ingress.gateways) addGateway(gw, "Ingress");

  const routes: RouteState[] = [];
  for (const raw of inputs.httpRoutes ?? []) {
    const r = defaultGatewayObject(raw);
    const state = attach(r, "HTTPRoute", keyOf(r), "suffix", owned, ctx);
    if (state.parents.length > 0) routes.push(state);
  }
  for (const t of ingress.routes) {
    const r = defaultGatewayObject(t.route);
    const state = attach(r, "Ingress", t.ingress, "one-label", owned, ctx);
    routes.push(state);
  }
  for (const r of routes) for (const a of r.attachments) a.listener.attachedRoutes++;
  return { gateways, routes, ingress };
}
