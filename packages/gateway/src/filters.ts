/**
 * The core and extended HTTPRoute filters: header modifiers, RequestRedirect
 * (Location built as the spec's port and scheme rules say) and URLRewrite
 * (ReplaceFullPath, ReplacePrefixMatch).
 */
import { replacePrefix } from "./path.js";
import type { HTTPHeaderFilter, HTTPPathModifier, HTTPRequestRedirectFilter, HTTPRouteFilter } from "./types.js";

/** Headers by lower-case name; repeated values are comma-joined (RFC 7230 3.2.2). */
export type HeaderMap = Record<string, string>;

/**
 * Apply a RequestHeaderModifier or ResponseHeaderModifier to `headers` (in
 * place): `set` overwrites, `add` appends with a comma, `remove` deletes. Names
 * are case-insensitive.
 */
export function modifyHeaders(headers: HeaderMap, f: HTTPHeaderFilter): void {
  for (const h of f.set ?? []) headers[h.name.toLowerCase()] = h.value;
  for (const h of f.add ?? []) {
    const k = h.name.toLowerCase();
    const old = headers[k];
    headers[k] = old === undefined ? h.value : `${old},${h.value}`;
  }
  for (const name of f.remove ?? []) delete headers[name.toLowerCase()];
}

/** The new path of a redirect or rewrite path modifier, given the matched PathPrefix value. */
export function modifyPath(path: string, m: HTTPPathModifier, matchedPrefix: string | undefined): string {
  if (m.type === "ReplaceFullPath") return m.replaceFullPath ?? path;
  if (m.type === "ReplacePrefixMatch" && matchedPrefix !== undefined)
    return replacePrefix(path, matchedPrefix, m.replacePrefixMatch ?? "");
  return path;
}

/** What a redirect starts from. */
export interface RedirectInput {
  /** Request scheme. */
  readonly scheme: "http" | "https";
  /** Request host (no port). */
  readonly host: string;
  /** Request path (no query). */
  readonly path: string;
  /** Raw query (without `?`), or `""`. */
  readonly query: string;
  /** The listener's port. */
  readonly listenerPort: number;
  /** The PathPrefix value the request matched, for ReplacePrefixMatch. */
  readonly matchedPrefix: string | undefined;
}

/**
 * The `Location` of a RequestRedirect. Port: the filter's, else the well-known
 * port of an explicitly given scheme (http 80, https 443), else the listener's;
 * left out when it is the default port of the resulting scheme. The query is kept.
 */
export function redirectLocation(f: HTTPRequestRedirectFilter, r: RedirectInput): string {
  const scheme = (f.scheme ?? r.scheme) as "http" | "https";
  const host = f.hostname ?? r.host;
  const port = f.port ?? (f.scheme !== undefined ? (f.scheme === "https" ? 443 : 80) : r.listenerPort);
  const path = f.path === undefined ? r.path : modifyPath(r.path, f.path, r.matchedPrefix);
  const defaultPort = (scheme === "http" && port === 80) || (scheme === "https" && port === 443);
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${hostPart}${defaultPort ? "" : `:${port}`}${path}${r.query === "" ? "" : `?${r.query}`}`;
}

/** A request being rewritten by filters, and the response changes they ask for. */
export interface FilterState {
  /** Host header to send. */
  host: string;
  /** Path (no query) to send. */
  path: string;
  /** Headers to send, by lower-case name. */
  headers: HeaderMap;
  /** Response header modifiers to apply, in order. */
  responseHeaders: HTTPHeaderFilter[];
  /** A redirect answer, once a RequestRedirect filter ran. */
  redirect: { status: number; location: string } | undefined;
}

/** Facts about the original request that filters read. */
export interface FilterContext {
  /** Request scheme. */
  readonly scheme: "http" | "https";
  /** Original host (no port). */
  readonly host: string;
  /** Original path (no query). */
  readonly path: string;
  /** Original query (no `?`). */
  readonly query: string;
  /** Listener port. */
  readonly listenerPort: number;
  /** The PathPrefix value matched, for ReplacePrefixMatch. */
  readonly matchedPrefix: string | undefined;
}

/** Run filters in order over `state` (RequestMirror is handled by the caller). */
export function applyFilters(filters: readonly HTTPRouteFilter[], state: FilterState, ctx: FilterContext): void {
  for (const f of filters) {
    if (f.requestHeaderModifier !== undefined) modifyHeaders(state.headers, f.requestHeaderModifier);
    if (f.responseHeaderModifier !== undefined) state.responseHeaders.push(f.responseHeaderModifier);
    if (f.urlRewrite !== undefined) {
      if (f.urlRewrite.hostname !== undefined) state.host = f.urlRewrite.hostname;
      if (f.urlRewrite.path !== undefined) state.path = modifyPath(ctx.path, f.urlRewrite.path, ctx.matchedPrefix);
    }
    if (f.requestRedirect !== undefined)
      state.redirect = {
        status: f.requestRedirect.statusCode ?? 302,
        location: redirectLocation(f.requestRedirect, ctx),
      };
  }
}
