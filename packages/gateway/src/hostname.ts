/**
 * Host names as the Gateway API and Ingress compare them. A pattern `*.example.com`
 * is a suffix match: in the Gateway API it covers any number of extra labels
 * (`a.example.com`, `a.b.example.com`), in Ingress exactly one. Comparison is
 * case-insensitive; a port in the Host header is ignored.
 */

/** How a `*.` wildcard matches: any number of labels (Gateway API) or exactly one (Ingress). */
export type WildcardMode = "suffix" | "one-label";

/** Lower-case a Host header value and strip its port (`Example.COM:8080` -> `example.com`, `[::1]:80` -> `::1`). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(":");
  if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** Whether `pattern` (an exact name or `*.suffix`) covers the normalized `host`. */
export function hostnameMatches(pattern: string, host: string, mode: WildcardMode = "suffix"): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  if (host.length <= suffix.length || !host.endsWith(suffix)) return false;
  return mode === "suffix" || !host.slice(0, host.length - suffix.length).includes(".");
}

/**
 * The hostname a listener and a route hostname have in common, or undefined:
 * the more specific of the two when one covers the other (`*.example.com` and
 * `foo.example.com` -> `foo.example.com`; `*.example.com` and `*.foo.example.com`
 * -> `*.foo.example.com`). An unset listener hostname admits every route hostname.
 */
export function intersectHostname(listener: string | undefined, route: string): string | undefined {
  if (listener === undefined) return route;
  if (listener === route) return route;
  const lw = listener.startsWith("*.");
  const rw = route.startsWith("*.");
  if (!rw) return hostnameMatches(listener, route) ? route : undefined;
  if (!lw) return hostnameMatches(route, listener) ? listener : undefined;
  // Both wildcards: the longer suffix wins if it lies inside the shorter.
  const ls = listener.slice(1);
  const rs = route.slice(1);
  if (rs.endsWith(ls)) return route;
  if (ls.endsWith(rs)) return listener;
  return undefined;
}

/**
 * How specific a hostname is, for precedence: exact names beat wildcards, longer
 * beats shorter (the spec's "characters in a matching non-wildcard hostname, then
 * characters in a matching hostname"); no hostname at all ranks last.
 */
export function hostnameSpecificity(hostname: string | undefined): [exactChars: number, chars: number] {
  if (hostname === undefined) return [0, 0];
  return hostname.startsWith("*.") ? [0, hostname.length] : [hostname.length, hostname.length];
}
