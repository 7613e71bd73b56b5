/**
 * Ingress served by the Gateway router, translated the way ingress2gateway's
 * common converter does: per namespace and IngressClass one Gateway named after
 * the class, per host an HTTP listener on port 80 (`<host>-http`, or `http` for
 * no host) plus an HTTPS listener on 443 carrying the TLS Secret of that host;
 * per Ingress and host one HTTPRoute (`<ingress>-<host>`, `all-hosts` for none)
 * with one rule per path (Exact -> Exact, Prefix -> PathPrefix, and
 * ImplementationSpecific -> PathPrefix, knet's documented choice), and a
 * `<ingress>-default-backend` route for `spec.defaultBackend`.
 *
 * Differences from ingress2gateway, on purpose: one route per Ingress (not per
 * namespace/class/host), so a decision names the Ingress that matched; TLS
 * Secrets go only to the listener of the hosts they list. Host wildcards keep
 * Ingress meaning (`*.foo.com` matches exactly one label): the model marks
 * translated listeners and routes so.
 */
import type { Service } from "@knet/k8s";
import type { Gateway, HTTPBackendRef, HTTPRoute, HTTPRouteRule, Ingress, IngressClass, Listener } from "./types.js";
import { GATEWAY_GROUP } from "./types.js";

/** Annotation marking the default IngressClass. */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
/** The deprecated class annotation some Ingresses still use. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
/** Gateway name for Ingresses without a class (served when `ingressWithoutClass`). */
export const CLASSLESS_GATEWAY_NAME = "knet";

/** Result of {@link translateIngresses}. */
export interface IngressTranslation {
  /** One Gateway per namespace and class. */
  readonly gateways: readonly Gateway[];
  /** HTTPRoutes, each with the Ingress it came from. */
  readonly routes: readonly { readonly ingress: { namespace: string; name: string }; readonly route: HTTPRoute }[];
  /** Ingresses not served, and why (another controller's class, ambiguous default). */
  readonly skipped: readonly { readonly ingress: { namespace: string; name: string }; readonly reason: string }[];
}

/** Options of {@link translateIngresses}. */
export interface IngressTranslationOptions {
  /** IngressClass `spec.controller` knet serves. */
  readonly controllerName: string;
  /** Serve Ingresses without any class when no default IngressClass exists. */
  readonly ingressWithoutClass: boolean;
  /** Services, to turn named ports into numbers. */
  readonly services: readonly Service[];
}

/** ingress2gateway's name for a host: non-alphanumerics to `-`, `all-hosts` for none. */
export function nameFromHost(host: string): string {
  if (host === "" || host === "*") return "all-hosts";
  return host.replace(/[^a-zA-Z0-9]+/g, "-").replace(/^[^a-zA-Z0-9]+/, "");
}

/**
 * Which class an Ingress belongs to: `spec.ingressClassName`, else the
 * `kubernetes.io/ingress.class` annotation, else the one IngressClass marked
 * default. Returns the name or why there is none.
 */
export function ingressClassOf(ing: Ingress, classes: readonly IngressClass[]): { name: string } | { none: string } {
  const explicit = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  if (explicit !== undefined && explicit !== "") return { name: explicit };
  const defaults = classes.filter((c) => c.metadata?.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true");
  if (defaults.length === 1) return { name: defaults[0]?.metadata?.name ?? "" };
  if (defaults.length > 1)
    return {
      none: `${defaults.length} IngressClasses are marked default: the API server refuses class-less Ingresses then`,
    };
  return { none: "no ingressClassName and no default IngressClass" };
}

function backendRef(
  ns: string,
  b: NonNullable<NonNullable<Ingress["spec"]>["defaultBackend"]>,
  services: readonly Service[],
): HTTPBackendRef {
  if (b.service !== undefined) {
    const ref: HTTPBackendRef = { name: b.service.name };
    let port = b.service.port?.number;
    const portName = b.service.port?.name;
    if (port === undefined && portName !== undefined) {
      const svc = services.find(
        (s) => (s.metadata?.namespace ?? "default") === ns && s.metadata?.name === b.service?.name,
      );
      port = svc?.spec?.ports?.find((p) => p.name === portName)?.port;
    }
    if (port !== undefined) ref.port = port;
    return ref;
  }
  const r = b.resource;
  return { group: r?.apiGroup ?? "", kind: r?.kind ?? "", name: r?.name ?? "" };
}

/**
 * Translate the Ingresses knet serves (class with knet's controller, or no
 * class when allowed) into Gateways and HTTPRoutes.
 */
export function translateIngresses(
  ingresses: readonly Ingress[],
  classes: readonly IngressClass[],
  options: IngressTranslationOptions,
): IngressTranslation {
  const gateways = new Map<string, Gateway>();
  const routes: { ingress: { namespace: string; name: string }; route: HTTPRoute }[] = [];
  const skipped: { ingress: { namespace: string; name: string }; reason: string }[] = [];
  const ours = new Set(
    classes.filter((c) => c.spec?.controller === options.controllerName).map((c) => c.metadata?.name ?? ""),
  );
  const listenerOf = (gw: Gateway, l: Listener): void => {
    if (!gw.spec.listeners.some((x) => x.name === l.name)) gw.spec.listeners.push(l);
  };
  for (const ing of ingresses) {
    const ns = ing.metadata?.namespace ?? "default";
    const name = ing.metadata?.name ?? "";
    const key = { namespace: ns, name };
    const cls = ingressClassOf(ing, classes);
    let className: string;
    if ("name" in cls) {
      if (!ours.has(cls.name)) {
        skipped.push({ ingress: key, reason: `IngressClass ${cls.name} is not served by ${options.controllerName}` });
        continue;
      }
      className = cls.name;
    } else if (options.ingressWithoutClass && !cls.none.includes("marked default")) {
      className = CLASSLESS_GATEWAY_NAME;
    } else {
      skipped.push({ ingress: key, reason: cls.none });
      continue;
    }
    const gwKey = `${ns}/${className}`;
    let gw = gateways.get(gwKey);
    if (gw === undefined) {
      gw = {
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: "Gateway",
        metadata: { namespace: ns, name: className },
        spec: { gatewayClassName: className, listeners: [] },
      };
      gateways.set(gwKey, gw);
    }
    const created = ing.metadata?.creationTimestamp;
    const meta = (routeName: string): NonNullable<HTTPRoute["metadata"]> =>
      created === undefined
        ? { namespace: ns, name: routeName }
        : { namespace: ns, name: routeName, creationTimestamp: created };
    // Rule groups by host, paths merged by pathType/path in first-seen order.
    const byHost = new Map<string, Map<string, HTTPRouteRule>>();
    for (const rule of ing.spec?.rules ?? []) {
      const host = rule.host ?? "";
      const rules = byHost.get(host) ?? new Map<string, HTTPRouteRule>();
      byHost.set(host, rules);
      for (const p of rule.http?.paths ?? []) {
        const type = p.pathType === "Exact" ? "Exact" : "PathPrefix";
        const value = p.path === undefined || p.path === "" ? "/" : p.path;
        const k = `${p.pathType}/${value}`;
        const r = rules.get(k) ?? { matches: [{ path: { type, value } }], backendRefs: [] };
        r.backendRefs?.push(backendRef(ns, p.backend, options.services));
        rules.set(k, r);
      }
    }
    for (const [host, rules] of byHost) {
      const tls = (ing.spec?.tls ?? []).filter((t) => (t.hosts ?? []).length === 0 || (t.hosts ?? []).includes(host));
      const tlsHosts = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
      const listenerHost = host !== "" ? host : tlsHosts.length === 1 ? tlsHosts[0] : undefined;
      const prefix = listenerHost === undefined ? "" : `${nameFromHost(listenerHost)}-`;
      const http: Listener = { name: `${prefix}http`, port: 80, protocol: "HTTP" };
      if (listenerHost !== undefined) http.hostname = listenerHost;
      listenerOf(gw, http);
      if (tls.length > 0) {
        const https: Listener = {
          name: `${prefix}https`,
          port: 443,
          protocol: "HTTPS",
          tls: { certificateRefs: tls.map((t) => ({ name: t.secretName ?? "" })) },
        };
        if (listenerHost !== undefined) https.hostname = listenerHost;
        listenerOf(gw, https);
      }
      const route: HTTPRoute = {
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: "HTTPRoute",
        metadata: meta(`${name}-${nameFromHost(host)}`),
        spec: { parentRefs: [{ name: className }], rules: [...rules.values()] },
      };
      if (host !== "") route.spec.hostnames = [host];
      routes.push({ ingress: key, route });
    }
    const db = ing.spec?.defaultBackend;
    if (db !== undefined) {
      listenerOf(gw, { name: "http", port: 80, protocol: "HTTP" });
      routes.push({
        ingress: key,
        route: {
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: "HTTPRoute",
          metadata: meta(`${name}-default-backend`),
          spec: { parentRefs: [{ name: className }], rules: [{ backendRefs: [backendRef(ns, db, options.services)] }] },
        },
      });
    }
  }
  return { gateways: [...gateways.values()], routes, skipped };
}
