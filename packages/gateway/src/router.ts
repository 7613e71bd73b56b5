/**
 * The pure router: for one request, the listener, route, rule and match that
 * win under the Gateway API's precedence, the filters applied, the weighted
 * backends or the status code, and why each higher-precedence candidate lost.
 *
 * Precedence (HTTPRoute API, apis/v1/httproute_types.go): listener with the most
 * specific hostname; then route hostname (characters of a matching exact
 * hostname, then of a matching hostname); then per match: Exact path, PathPrefix
 * by number of characters, RegularExpression (implementation-specific: knet
 * ranks it after every PathPrefix, longer patterns first), method, most header
 * matches, most query matches; ties: oldest creationTimestamp, then
 * `namespace/name` alphabetically, then rule order, then match order.
 *
 * Candidates are indexed per listener by effective hostname (exact names in a
 * map, wildcards by suffix), so the cost of a decision depends on the routes of
 * the request's host, not on every route of the listener.
 */
import { applyFilters, type FilterContext, type FilterState, type HeaderMap } from "./filters.js";
import { hostnameMatches, hostnameSpecificity, normalizeHost, type WildcardMode } from "./hostname.js";
import type { CompiledRule, GatewayModel, ListenerState, ObjectKey, ResolvedBackend, RouteState } from "./model.js";
import { pathPrefixMatches } from "./path.js";
import type { HTTPHeaderFilter, HTTPRouteMatch } from "./types.js";

/** A request as the gateway sees it. */
export interface GatewayRequest {
  /** Method (upper case). */
  readonly method: string;
  /** `http` or `https`: picks HTTP or HTTPS listeners. */
  readonly scheme: "http" | "https";
  /** Host header (a port in it is ignored). */
  readonly host: string;
  /** Listener port the request arrived on. */
  readonly port: number;
  /** Path with optional `?query`. */
  readonly path: string;
  /** Headers (any case; arrays are comma-joined). */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** A candidate that lost, and why. */
export interface Rejection {
  /** The route (kind, namespace, name). */
  readonly route: RouteRef;
  /** Rule index. */
  readonly rule: number;
  /** Match index within the rule. */
  readonly match: number;
  /** Why it did not take the request. */
  readonly reason: string;
}

/** A route as decisions name it. */
export interface RouteRef {
  /** `HTTPRoute` or `Ingress`. */
  readonly kind: "HTTPRoute" | "Ingress";
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
}

/** The request after the rule's filters, as the backend would receive it. */
export interface ForwardedRequest {
  /** Method. */
  readonly method: string;
  /** Host header. */
  readonly host: string;
  /** Path with query. */
  readonly path: string;
  /** Headers by lower-case name. */
  readonly headers: HeaderMap;
}

/** What the router decided. */
export interface RouteDecision {
  /** HTTP status the gateway answers with (200 when forwarded). */
  readonly status: number;
  /** The Gateway of the listener that took the request. */
  readonly gateway: ObjectKey | undefined;
  /** Listener name. */
  readonly listener: string | undefined;
  /** The listener itself. */
  readonly listenerState: ListenerState | undefined;
  /** The winning route. */
  readonly route: RouteRef | undefined;
  /** Winning rule index. */
  readonly rule: number | undefined;
  /** Winning rule's name, when set. */
  readonly ruleName: string | undefined;
  /** Winning match index. */
  readonly match: number | undefined;
  /** Backends of the rule (valid ones carry endpoints); empty for redirects. */
  readonly backends: readonly ResolvedBackend[];
  /** `Location` of a redirect. */
  readonly location: string | undefined;
  /** The request after filters. */
  readonly request: ForwardedRequest;
  /** Response header modifiers to apply. */
  readonly responseHeaders: readonly HTTPHeaderFilter[];
  /** What backend filters need about the original request (undefined without a winner). */
  readonly context: FilterContext | undefined;
  /** Mirror targets. */
  readonly mirrors: readonly ResolvedBackend[];
  /** Candidates of higher precedence that did not match, in precedence order. */
  readonly rejected: readonly Rejection[];
  /** Readable explanation, one step a line. */
  readonly explanation: readonly string[];
}

/** Options of {@link Router.route}. */
export interface RouteOptions {
  /** Record why each higher-precedence candidate lost (default true). */
  readonly explain?: boolean;
}

interface ValueMatcher {
  readonly name: string;
  readonly test: (v: string) => boolean;
  readonly text: string;
}

interface Candidate {
  readonly routeState: RouteState;
  readonly ref: RouteRef;
  readonly rule: CompiledRule;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly listener: ListenerState;
  readonly wildcard: WildcardMode;
  readonly pathType: string;
  readonly pathValue: string;
  readonly pathRe: RegExp | undefined;
  readonly method: string | undefined;
  readonly headers: readonly ValueMatcher[];
  readonly query: readonly ValueMatcher[];
  readonly created: number;
  readonly sortName: string;
}

/**
 * Candidates of one hostname group in precedence order (`all`), and the same
 * order split by the first path element a candidate can match: a request only
 * scans the bucket of its own first element (candidates that match any first
 * element, `PathPrefix /` and regular expressions, are in every bucket), so the
 * first match in a bucket is the first match in `all`.
 */
interface CandidateList {
  readonly all: Candidate[];
  readonly byFirst: Map<string, Candidate[]>;
  readonly generic: Candidate[];
}

interface HostTable {
  readonly exact: Map<string, CandidateList>;
  readonly wildcard: Map<string, CandidateList>;
  readonly any: CandidateList;
}

function firstElement(path: string): string {
  const end = path.indexOf("/", 1);
  return end < 0 ? path.slice(1) : path.slice(1, end);
}

/** The first path element every path the candidate matches has, or undefined when it can match any. */
function bucketOf(c: Candidate): string | undefined {
  if (c.pathType === "Exact") return firstElement(c.pathValue);
  if (c.pathType !== "PathPrefix") return undefined;
  const v = c.pathValue.endsWith("/") ? c.pathValue.slice(0, -1) : c.pathValue;
  return v === "" ? undefined : firstElement(v);
}

function newList(): CandidateList {
  return { all: [], byFirst: new Map(), generic: [] };
}

function indexList(list: CandidateList): void {
  list.all.sort(compare);
  for (const c of list.all) {
    const key = bucketOf(c);
    if (key === undefined) {
      list.generic.push(c);
      for (const b of list.byFirst.values()) b.push(c);
      continue;
    }
    let bucket = list.byFirst.get(key);
    if (bucket === undefined) {
      bucket = [...list.generic];
      list.byFirst.set(key, bucket);
    }
    bucket.push(c);
  }
}

interface ListenerSet {
  readonly port: number;
  readonly protocol: string;
  readonly hostname: string | undefined;
  readonly wildcard: WildcardMode;
  readonly listeners: ListenerState[];
  readonly table: HostTable;
}

const PATH_RANK: Readonly<Record<string, number>> = { Exact: 3, PathPrefix: 2, RegularExpression: 1 };

function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function valueMatchers(list: HTTPRouteMatch["headers"], caseInsensitiveName: boolean): ValueMatcher[] {
  const seen = new Set<string>();
  const out: ValueMatcher[] = [];
  for (const m of list ?? []) {
    const name = caseInsensitiveName ? m.name.toLowerCase() : m.name;
    if (seen.has(name)) continue; // only the first entry of an equivalent name counts
    seen.add(name);
    if (m.type === "RegularExpression") {
      const re = fullMatch(m.value);
      out.push({ name, test: (v) => re.test(v), text: `${m.name} ~ ${m.value}` });
    } else {
      out.push({ name, test: (v) => v === m.value, text: `${m.name}: ${m.value}` });
    }
  }
  return out;
}

function compare(a: Candidate, b: Candidate): number {
  return (
    (PATH_RANK[b.pathType] ?? 0) - (PATH_RANK[a.pathType] ?? 0) ||
    b.pathValue.length - a.pathValue.length ||
    (b.method === undefined ? 0 : 1) - (a.method === undefined ? 0 : 1) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    a.created - b.created ||
    (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0) ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

function timestamp(t: string | undefined): number {
  if (t === undefined) return Number.POSITIVE_INFINITY; // not created yet: newer than every existing object
  const n = Date.parse(t);
  return Number.isNaN(n) ? Number.POSITIVE_INFINITY : n;
}

function splitPath(p: string): { path: string; query: string } {
  const q = p.indexOf("?");
  return q < 0 ? { path: p, query: "" } : { path: p.slice(0, q), query: p.slice(q + 1) };
}

function firstQueryValues(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (query === "") return out;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    let name = rawName;
    let value = rawValue;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, " "));
      value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    } catch {
      // keep the raw text when it is not valid percent-encoding
    }
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

function normalizeHeaders(h: GatewayRequest["headers"]): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = typeof v === "string" ? v : v.join(",");
  }
  return out;
}

/** Why a candidate does not take the request, or undefined when it does. */
function mismatch(
  c: Candidate,
  method: string,
  path: string,
  headers: HeaderMap,
  query: () => Map<string, string>,
): string | undefined {
  switch (c.pathType) {
    case "Exact":
      if (path !== c.pathValue) return `path Exact ${c.pathValue} does not equal ${path}`;
      break;
    case "PathPrefix":
      if (!pathPrefixMatches(c.pathValue, path))
        return `path PathPrefix ${c.pathValue} does not cover ${path} element-wise`;
      break;
    default:
      if (c.pathRe === undefined || !c.pathRe.test(path))
        return `path RegularExpression ${c.pathValue} does not match ${path}`;
  }
  if (c.method !== undefined && c.method !== method) return `method ${c.method} is not ${method}`;
  for (const h of c.headers) {
    const v = headers[h.name];
    if (v === undefined) return `header ${h.text} is absent`;
    if (!h.test(v)) return `header ${h.text} does not match value ${JSON.stringify(v)}`;
  }
  if (c.query.length > 0) {
    const q = query();
    for (const m of c.query) {
      const v = q.get(m.name);
      if (v === undefined) return `query parameter ${m.text} is absent`;
      if (!m.test(v)) return `query parameter ${m.text} does not match value ${JSON.stringify(v)}`;
    }
  }
  return undefined;
}

function listenerSpecificity(s: ListenerSet): [number, number] {
  return hostnameSpecificity(s.hostname);
}

function describe(c: Candidate): string {
  return `${c.ref.kind} ${c.ref.namespace}/${c.ref.name} rule ${c.ruleIndex} match ${c.matchIndex}`;
}

/**
 * Routes requests over a {@link GatewayModel}: built once (indexes every
 * attached route by listener and hostname), then {@link Router.route} is pure.
 */
export class Router {
  private readonly sets: ListenerSet[] = [];
  /** The model the router was built from. */
  readonly model: GatewayModel;

  /**
   * Index the model's programmed listeners. With `gateway`, only that Gateway's
   * listeners take requests; otherwise every Gateway knet owns shares one
   * address, and listeners of equal port, protocol and hostname pool their routes.
   */
  constructor(model: GatewayModel, options: { readonly gateway?: ObjectKey } = {}) {
    this.model = model;
    const byKey = new Map<string, ListenerSet>();
    for (const gw of model.gateways) {
      if (
        options.gateway !== undefined &&
        (gw.key.namespace !== options.gateway.namespace || gw.key.name !== options.gateway.name)
      )
        continue;
      for (const l of gw.listeners) {
        if (!l.programmed) continue;
        const k = `${l.port}|${l.protocol}|${l.hostname ?? ""}|${l.wildcard}`;
        let set = byKey.get(k);
        if (set === undefined) {
          set = {
            port: l.port,
            protocol: l.protocol,
            hostname: l.hostname,
            wildcard: l.wildcard,
            listeners: [],
            table: { exact: new Map(), wildcard: new Map(), any: newList() },
          };
          byKey.set(k, set);
          this.sets.push(set);
        }
        set.listeners.push(l);
      }
    }
    const setOf = new Map<ListenerState, ListenerSet>();
    for (const s of this.sets) for (const l of s.listeners) setOf.set(l, s);
    for (const r of model.routes) {
      const ref: RouteRef = { kind: r.kind, namespace: r.key.namespace, name: r.key.name };
      const created = timestamp(r.creationTimestamp);
      const sortName = `${r.key.namespace}/${r.routeName}`;
      for (const a of r.attachments) {
        const set = setOf.get(a.listener);
        if (set === undefined) continue;
        const candidates: Candidate[] = [];
        for (const rule of r.rules) {
          if (rule.unsupported !== undefined) continue;
          rule.matches.forEach((m, matchIndex) => {
            const pathType = m.path?.type ?? "PathPrefix";
            const pathValue = m.path?.value ?? "/";
            candidates.push({
              routeState: r,
              ref,
              rule,
              ruleIndex: rule.index,
              matchIndex,
              listener: a.listener,
              wildcard: r.wildcard,
              pathType,
              pathValue,
              pathRe: pathType === "RegularExpression" ? fullMatch(pathValue) : undefined,
              method: m.method,
              headers: valueMatchers(m.headers, true),
              query: valueMatchers(m.queryParams, false),
              created,
              sortName,
            });
          });
        }
        const hosts = a.hostnames.length === 0 ? [undefined] : a.hostnames;
        for (const h of hosts) {
          let list: CandidateList;
          if (h === undefined) list = set.table.any;
          else if (h.startsWith("*.")) {
            const k = h.slice(1);
            list = set.table.wildcard.get(k) ?? newList();
            set.table.wildcard.set(k, list);
          } else {
            list = set.table.exact.get(h) ?? newList();
            set.table.exact.set(h, list);
          }
          for (const c of candidates) list.all.push(c);
        }
      }
    }
    for (const s of this.sets) {
      indexList(s.table.any);
      for (const l of s.table.exact.values()) indexList(l);
      for (const l of s.table.wildcard.values()) indexList(l);
    }
  }

  /** Decide where `req` goes. Pure: the same request gets the same decision. */
  route(req: GatewayRequest, options: RouteOptions = {}): RouteDecision {
    const explain = options.explain !== false;
    const host = normalizeHost(req.host);
    const { path, query } = splitPath(req.path);
    const headers = normalizeHeaders(req.headers);
    const method = req.method.toUpperCase();
    const explanation: string[] = [];
    const rejected: Rejection[] = [];
    const protocol = req.scheme === "https" ? "HTTPS" : "HTTP";
    const base = { method, host: req.host, path: req.path, headers };
    const none = (status: number, why: string, listener?: ListenerSet): RouteDecision => {
      explanation.push(why);
      const l = listener?.listeners[0];
      return {
        status,
        gateway: l?.gateway,
        listener: l?.name,
        listenerState: l,
        route: undefined,
        rule: undefined,
        ruleName: undefined,
        match: undefined,
        backends: [],
        location: undefined,
        request: base,
        responseHeaders: [],
        context: undefined,
        mirrors: [],
        rejected,
        explanation,
      };
    };

    // 1. Listener: port and protocol, then the most specific matching hostname.
    let best: ListenerSet | undefined;
    for (const s of this.sets) {
      if (s.port !== req.port || s.protocol !== protocol) continue;
      if (s.hostname !== undefined && !hostnameMatches(s.hostname, host, s.wildcard)) continue;
      if (best === undefined) best = s;
      else {
        const [a1, a2] = listenerSpecificity(s);
        const [b1, b2] = listenerSpecificity(best);
        if (a1 > b1 || (a1 === b1 && a2 > b2)) best = s;
      }
    }
    if (best === undefined)
      return none(404, `no programmed ${protocol} listener on port ${req.port} accepts host ${host}`);
    if (explain) {
      const names = best.listeners.map((l) => `${l.gateway.namespace}/${l.gateway.name}/${l.name}`).join(", ");
      explanation.push(
        `listener ${names} (port ${best.port} ${best.protocol}, hostname ${best.hostname ?? "(any)"}) takes host ${host}`,
      );
    }

    // 2. Candidates by hostname group, most specific first; first match wins.
    const groups: { list: CandidateList; label: string; firstSuffix: boolean }[] = [];
    const exact = best.table.exact.get(host);
    if (exact !== undefined) groups.push({ list: exact, label: host, firstSuffix: false });
    let dot = host.indexOf(".");
    let firstSuffix = true;
    while (dot >= 0) {
      const suffix = host.slice(dot);
      const list = best.table.wildcard.get(suffix);
      if (list !== undefined) groups.push({ list, label: `*${suffix}`, firstSuffix });
      firstSuffix = false;
      dot = host.indexOf(".", dot + 1);
    }
    groups.push({ list: best.table.any, label: "(any host)", firstSuffix: false });

    let queryCache: Map<string, string> | undefined;
    const q = (): Map<string, string> => {
      queryCache ??= firstQueryValues(query);
      return queryCache;
    };
    let winner: Candidate | undefined;
    // Explaining scans every candidate of a group (all lost ones are listed); routing only its path bucket.
    const first = path.startsWith("/") ? firstElement(path) : undefined;
    outer: for (const g of groups) {
      const list = explain || first === undefined ? g.list.all : (g.list.byFirst.get(first) ?? g.list.generic);
      for (const c of list) {
        if (g.label.startsWith("*") && c.wildcard === "one-label" && !g.firstSuffix) {
          if (explain)
            rejected.push({
              route: c.ref,
              rule: c.ruleIndex,
              match: c.matchIndex,
              reason: `Ingress host ${g.label} matches exactly one label, ${host} has more`,
            });
          continue;
        }
        const why = mismatch(c, method, path, headers, q);
        if (why === undefined) {
          winner = c;
          break outer;
        }
        if (explain)
          rejected.push({
            route: c.ref,
            rule: c.ruleIndex,
            match: c.matchIndex,
            reason: `hostname ${g.label}: ${why}`,
          });
      }
    }
    if (explain)
      for (const r of rejected)
        explanation.push(
          `  lost: ${r.route.kind} ${r.route.namespace}/${r.route.name} rule ${r.rule} match ${r.match}: ${r.reason}`,
        );
    if (winner === undefined) return none(404, `no route rule on this listener matches ${method} ${host}${path}`, best);
    if (explain)
      explanation.push(
        `won: ${describe(winner)} (${winner.pathType} ${winner.pathValue}${winner.method === undefined ? "" : `, method ${winner.method}`}${winner.headers.length > 0 ? `, ${winner.headers.length} header match(es)` : ""}${winner.query.length > 0 ? `, ${winner.query.length} query match(es)` : ""})`,
      );

    // 3. Filters: the rule's, then those of its backend when only one can be chosen.
    const rule = winner.rule;
    const listener = winner.listener;
    const ctx = {
      scheme: req.scheme,
      host,
      path,
      query,
      listenerPort: listener.port,
      matchedPrefix: winner.pathType === "PathPrefix" ? winner.pathValue : undefined,
    };
    const state: FilterState = {
      host: req.host,
      path,
      headers: { ...headers },
      responseHeaders: [],
      redirect: undefined,
    };
    applyFilters(rule.filters, state, ctx);
    const weighted = rule.backends.filter((b) => b.weight > 0);
    if (state.redirect === undefined && weighted.length === 1) applyFilters(weighted[0]?.filters ?? [], state, ctx);
    let status = 200;
    const redirect = state.redirect;
    if (redirect !== undefined) {
      status = redirect.status;
      if (explain) explanation.push(`RequestRedirect: ${status} Location ${redirect.location}`);
    } else {
      const valid = weighted.filter((b) => b.valid);
      if (valid.length === 0) {
        status = 500;
        if (explain)
          explanation.push(
            rule.backends.length === 0
              ? "rule has no backendRefs: 500"
              : `no valid backend with weight > 0: 500 (${rule.backends.map((b) => `${b.namespace}/${b.name}: ${b.problem?.message ?? `weight ${b.weight}`}`).join("; ")})`,
          );
      } else if (explain) {
        const total = rule.backends.reduce((n, b) => n + b.weight, 0);
        explanation.push(
          `backends: ${rule.backends.map((b) => `${b.kind} ${b.namespace}/${b.name}:${b.port ?? "-"} weight ${b.weight}/${total}${b.valid ? ` (${b.endpoints.length} ready endpoint(s))` : ` INVALID: ${b.problem?.message} -> 500 for its share`}`).join(", ")}`,
        );
      }
    }
    const outHeaders = state.headers;
    if (state.host !== req.host || outHeaders.host !== undefined) outHeaders.host = state.host;
    const forwardedPath = `${state.path}${query === "" ? "" : `?${query}`}`;
    return {
      status,
      gateway: listener.gateway,
      listener: listener.name,
      listenerState: listener,
      route: winner.ref,
      rule: winner.ruleIndex,
      ruleName: rule.name,
      match: winner.matchIndex,
      backends: redirect !== undefined ? [] : rule.backends,
      location: redirect?.location,
      request: { method, host: state.host, path: forwardedPath, headers: outHeaders },
      responseHeaders: state.responseHeaders,
      context: ctx,
      mirrors: rule.mirrors.filter((m) => m.valid),
      rejected,
      explanation,
    };
  }
}
