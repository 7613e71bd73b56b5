/**
 * What a pod's stub resolver sends for one name: the candidate names in order
 * (glibc's `__res_context_search`, musl's `name_from_dns_search`), and a walk
 * that stops where each library stops given the answers.
 */
import type { ResolvConf } from "./resolv-conf.js";

/** The C library doing the lookup. */
export type ResolverFlavour = "glibc" | "musl";

/** ndots from the options (default 1, capped at 15 as both libraries do). */
export function ndotsOf(conf: ResolvConf): number {
  let n = 1;
  for (const o of conf.options) {
    if (o.name === "ndots" && o.value !== undefined && /^\d+$/.test(o.value)) n = Math.min(15, Number(o.value));
  }
  return n;
}

/**
 * Why the resolver tries the names {@link expandQuery} lists, in that order,
 * as one sentence for a learner: the name's dots against `ndots`, and so
 * whether the search domains come before the name as written, after it, or
 * not at all.
 */
export function explainSearch(name: string, conf: ResolvConf, flavour: ResolverFlavour = "glibc"): string {
  if (name.endsWith(".")) return `"${name}" ends with a dot: it is asked as written, without the search list`;
  const dots = (name.match(/\./g) ?? []).length;
  const ndots = ndotsOf(conf);
  const has = `"${name}" has ${dots} dot${dots === 1 ? "" : "s"}`;
  const tried = expandQuery(name, conf, flavour);
  if (tried.length === 1) {
    const why = conf.searches.length === 0 ? " and there is no search list" : `, at least ndots:${ndots}`;
    return `${has}${why}, so ${flavour} asks it as written only`;
  }
  const domains = conf.searches.join(" ");
  if (dots >= ndots)
    return `${has}, at least ndots:${ndots}, so it is asked as written first, then with each search domain (${domains})`;
  const last = tried.at(-1) === `${name}.` ? ", then the name as written" : "";
  return `${has}, fewer than ndots:${ndots}, so each search domain (${domains}) is tried first${last}`;
}

/**
 * The absolute names the resolver tries for `name`, in order.
 * - glibc: a trailing dot means just the name; with at least ndots dots the name
 *   goes first; then each search domain (`.` in the list stands for the name
 *   itself); then the name as-is if not tried yet (`no-tld-query` skips that for
 *   dot-less names).
 * - musl: a trailing dot or at least ndots dots means just the name; otherwise
 *   each search domain, then the name. A `search` line of 255 characters or more
 *   is ignored by musl's line buffer, and so are combined names over 254 bytes.
 */
export function expandQuery(name: string, conf: ResolvConf, flavour: ResolverFlavour = "glibc"): string[] {
  if (name === "" || name === ".") return ["."];
  const trailing = name.endsWith(".");
  const bare = trailing ? name.slice(0, -1) : name;
  if (trailing) return [`${bare}.`];
  const dots = (bare.match(/\./g) ?? []).length;
  const ndots = ndotsOf(conf);
  const out: string[] = [];
  if (flavour === "musl") {
    const searchLine = `search ${conf.searches.join(" ")}`;
    if (dots < ndots && searchLine.length < 255) {
      for (const d of conf.searches) {
        const dom = d.replace(/\.$/, "");
        if (dom === "" || dom === ".") continue;
        if (bare.length + 1 + dom.length < 255) out.push(`${bare}.${dom}.`);
      }
    }
    out.push(`${bare}.`);
    return out;
  }
  let triedAsIs = false;
  if (dots >= ndots) {
    out.push(`${bare}.`);
    triedAsIs = true;
  }
  let rootOnList = false;
  for (const d of conf.searches) {
    const dom = d.replace(/^\./, "");
    if (dom === "") {
      rootOnList = true;
      out.push(`${bare}.`);
    } else out.push(`${bare}.${dom.replace(/\.$/, "")}.`);
  }
  const noTld = conf.options.some((o) => o.name === "no-tld-query");
  const searched = conf.searches.length > 0;
  if ((dots > 0 || !searched || !noTld) && !(triedAsIs || rootOnList)) out.push(`${bare}.`);
  return out;
}

/** How one candidate name fared (A and AAAA together). */
export type CandidateOutcome = "answer" | "nodata" | "nxdomain" | "servfail" | "refused";

/** Where a lookup walk ended. */
export interface WalkResult {
  /** Names actually queried, in order (each costs an A and an AAAA query). */
  readonly tried: readonly string[];
  /** The name that answered, if any. */
  readonly answeredBy?: string;
  /** How the walk ended: an answer, or the error the application sees. */
  readonly result: "answer" | "EAI_NONAME" | "EAI_NODATA" | "EAI_AGAIN" | "EAI_FAIL";
}

/**
 * Walk the candidates as the library does: glibc continues past NXDOMAIN, NODATA
 * and SERVFAIL and stops on other errors; musl continues only past NXDOMAIN,
 * stops with EAI_NODATA on an empty NOERROR and with EAI_AGAIN on SERVFAIL.
 */
export function walkSearch(
  name: string,
  conf: ResolvConf,
  flavour: ResolverFlavour,
  outcome: (candidate: string) => CandidateOutcome,
): WalkResult {
  const tried: string[] = [];
  let sawNodata = false;
  for (const c of expandQuery(name, conf, flavour)) {
    tried.push(c);
    const o = outcome(c);
    if (o === "answer") return { tried, answeredBy: c, result: "answer" };
    if (flavour === "musl") {
      if (o === "nodata") return { tried, result: "EAI_NODATA" };
      if (o === "servfail") return { tried, result: "EAI_AGAIN" };
      if (o === "refused") return { tried, result: "EAI_FAIL" };
      continue;
    }
    if (o === "refused") return { tried, result: "EAI_FAIL" };
    if (o === "nodata") sawNodata = true;
  }
  return { tried, result: sawNodata ? "EAI_NODATA" : "EAI_NONAME" };
}
