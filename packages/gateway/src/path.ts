/**
 * HTTP path semantics shared by HTTPRoute and Ingress: element-wise prefix
 * matching (a trailing `/` in the prefix is ignored; `/foo` covers `/foo`,
 * `/foo/` and `/foo/bar`, never `/foobar`) and the ReplacePrefixMatch rewrite.
 */

/** Whether the path `prefix` covers `path` element by element. */
export function pathPrefixMatches(prefix: string, path: string): boolean {
  const p = trimTrailingSlash(prefix);
  if (p === "") return path.startsWith("/");
  if (!path.startsWith(p)) return false;
  return path.length === p.length || path.charCodeAt(p.length) === 47; // '/'
}

function trimTrailingSlash(s: string): string {
  return s.endsWith("/") ? s.slice(0, -1) : s;
}

/**
 * Replace the matched `prefix` of `path` with `replacement`, as the spec's
 * ReplacePrefixMatch table defines it (`/foo/bar`, `/foo`, `/xyz` -> `/xyz/bar`;
 * `/foo`, `/foo`, `` -> `/`). `path` must be covered by `prefix`.
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  const rest = path.slice(trimTrailingSlash(prefix).length);
  let out = trimTrailingSlash(replacement) + rest;
  if (out === "") out = "/";
  return out.startsWith("/") ? out : `/${out}`;
}
