/**
 * The resolv.conf kubelet gives a pod (pkg/kubelet/network/dns/dns.go): the
 * dnsPolicy picks a base (cluster DNS, the node's file, or nothing), the pod's
 * dnsConfig is merged in, then the limits are applied (3 nameservers, 32
 * search domains, none over 253 characters, a search line of at most 2048).
 */
import type { Pod } from "@knet/k8s";

/** One `options` entry: `ndots:5` is `{ name: "ndots", value: "5" }`. */
export interface ResolvOption {
  /** Option name. */
  readonly name: string;
  /** Value after the colon, when there is one. */
  readonly value?: string;
}

/** A resolv.conf as data. */
export interface ResolvConf {
  /** `nameserver` lines, in order. */
  readonly nameservers: readonly string[];
  /** The `search` list, in order, without trailing dots (`.` alone stands for the root). */
  readonly searches: readonly string[];
  /** `options`. */
  readonly options: readonly ResolvOption[];
}

/** What kubelet knows that the pod's resolv.conf depends on. */
export interface ClusterDnsConfig {
  /** kubelet `--cluster-domain`. Default `cluster.local`; `""` adds no cluster search domains. */
  readonly clusterDomain?: string;
  /** kubelet `--cluster-dns` (the kube-dns Service IPs). Empty: ClusterFirst falls back to Default. */
  readonly clusterDNS: readonly string[];
  /**
   * The node's resolv.conf (kubelet `--resolv-conf`), as text or data. `""`
   * models `--resolv-conf=""`: nameserver 127.0.0.1 (or ::1 for IPv6 nodes) and `search .`.
   * Default: an empty file.
   */
  readonly hostResolvConf?: string | ResolvConf;
  /** Node IPs, only used with `hostResolvConf: ""`. */
  readonly nodeIPs?: readonly string[];
}

/** What {@link resolvConfFor} produced, and the events kubelet would have recorded. */
export interface PodResolvConf {
  /** The file's content as data. */
  readonly resolvConf: ResolvConf;
  /** The policy actually applied (`ClusterFirst` on a hostNetwork pod is `Default`). */
  readonly effectivePolicy: "ClusterFirst" | "Default" | "None";
  /** Warnings kubelet reports as events (limits exceeded, cluster DNS missing). */
  readonly warnings: readonly string[];
}

/** A pod whose DNS settings cannot be turned into a resolv.conf. */
export class ResolvConfError extends Error {
  override readonly name = "ResolvConfError";
  /** The field that is wrong, e.g. `spec.dnsPolicy`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Kubelet's limits (ExpandedDNSConfig, GA in 1.28). */
export const RESOLV_LIMITS = { nameservers: 3, searchPaths: 32, searchChars: 2048, domainChars: 253 } as const;

function parseOption(text: string): ResolvOption {
  const i = text.indexOf(":");
  return i < 0 ? { name: text } : { name: text.slice(0, i), value: text.slice(i + 1) };
}

/** Parse resolv.conf text as kubelet does: nameservers accumulate, the last `search` and the last `options` line win. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  let options: ResolvOption[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === "nameserver") nameservers.push(...fields.slice(0, 1));
    else if (key === "search") searches = fields.map((s) => (s === "." ? s : s.replace(/\.$/, "")));
    else if (key === "options") options = fields.map(parseOption);
  }
  return { nameservers, searches, options };
}

/** resolv.conf text: `search`, `nameserver` lines, `options`. */
export function formatResolvConf(conf: ResolvConf): string {
  let out = "";
  if (conf.searches.length > 0) out += `search ${conf.searches.join(" ")}\n`;
  for (const ns of conf.nameservers) out += `nameserver ${ns}\n`;
  if (conf.options.length > 0)
    out += `options ${conf.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(" ")}\n`;
  return out;
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function mergeOptions(base: readonly ResolvOption[], extra: readonly ResolvOption[]): ResolvOption[] {
  const byName = new Map<string, ResolvOption>();
  for (const o of [...base, ...extra]) byName.set(o.name, o);
  return [...byName.values()];
}

/** Apply kubelet's search-list limits; returns the list and whether anything was cut. */
export function fitSearchLimits(searches: readonly string[]): { searches: string[]; exceeded: boolean } {
  let exceeded = false;
  let list = [...searches];
  if (list.length > RESOLV_LIMITS.searchPaths) {
    list = list.slice(0, RESOLV_LIMITS.searchPaths);
    exceeded = true;
  }
  const kept = list.filter((s) => s.length <= RESOLV_LIMITS.domainChars);
  if (kept.length !== list.length) exceeded = true;
  list = kept;
  let len = list.join(" ").length;
  while (len > RESOLV_LIMITS.searchChars && list.length > 0) {
    const last = list.pop() as string;
    len -= last.length + 1;
    exceeded = true;
  }
  return { searches: list, exceeded };
}

/** The resolv.conf kubelet writes for `pod`. @throws {@link ResolvConfError} for an unknown policy or `None` without nameservers. */
export function resolvConfFor(pod: Pod, cluster: ClusterDnsConfig): PodResolvConf {
  const warnings: string[] = [];
  const spec = pod.spec;
  const policy = spec?.dnsPolicy ?? "ClusterFirst";
  const hostNetwork = spec?.hostNetwork === true;
  let kind: "cluster" | "host" | "none";
  switch (policy) {
    case "None":
      kind = "none";
      break;
    case "ClusterFirstWithHostNet":
      kind = "cluster";
      break;
    case "ClusterFirst":
      kind = hostNetwork ? "host" : "cluster";
      break;
    case "Default":
      kind = "host";
      break;
    default:
      throw new ResolvConfError(
        "spec.dnsPolicy",
        `unknown policy "${policy}" (ClusterFirst, ClusterFirstWithHostNet, Default or None)`,
      );
  }
  if (kind === "cluster" && cluster.clusterDNS.length === 0) {
    warnings.push(
      `MissingClusterDNS: kubelet has no cluster DNS; pod "${pod.metadata?.name ?? ""}" falls back to the Default policy`,
    );
    kind = "host";
  }
  const hostText = cluster.hostResolvConf ?? "";
  const host: ResolvConf = typeof hostText === "string" ? parseResolvConf(hostText) : hostText;
  let conf: ResolvConf;
  if (kind === "none") conf = { nameservers: [], searches: [], options: [] };
  else if (kind === "cluster") {
    const domain = cluster.clusterDomain ?? "cluster.local";
    const ns = pod.metadata?.namespace || "default";
    const searches =
      domain === "" ? [...host.searches] : unique([`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...host.searches]);
    conf = { nameservers: [...cluster.clusterDNS], searches, options: [{ name: "ndots", value: "5" }] };
  } else if (cluster.hostResolvConf === "") {
    const v6 = (cluster.nodeIPs ?? []).map((ip) => (ip.includes(":") ? "::1" : "127.0.0.1"));
    conf = { nameservers: v6.length > 0 ? v6 : ["127.0.0.1"], searches: ["."], options: host.options };
  } else conf = host;
  const extra = spec?.dnsConfig;
  if (extra !== undefined) {
    conf = {
      nameservers: unique([...conf.nameservers, ...(extra.nameservers ?? [])]),
      searches: unique([...conf.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(
        conf.options,
        (extra.options ?? []).map((o) =>
          o.value === undefined ? { name: o.name ?? "" } : { name: o.name ?? "", value: o.value },
        ),
      ),
    };
  }
  if (kind === "none" && conf.nameservers.length === 0) {
    throw new ResolvConfError(
      "spec.dnsConfig.nameservers",
      "dnsPolicy None needs at least one nameserver in dnsConfig",
    );
  }
  if (conf.nameservers.length > RESOLV_LIMITS.nameservers) {
    warnings.push(
      `DNSConfigForming: nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${conf.nameservers.slice(0, 3).join(" ")}`,
    );
    conf = { ...conf, nameservers: conf.nameservers.slice(0, RESOLV_LIMITS.nameservers) };
  }
  const fit = fitSearchLimits(conf.searches);
  if (fit.exceeded) {
    warnings.push(
      `DNSConfigForming: Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${fit.searches.join(" ")}`,
    );
    conf = { ...conf, searches: fit.searches };
  }
  return {
    resolvConf: conf,
    effectivePolicy: kind === "cluster" ? "ClusterFirst" : kind === "host" ? "Default" : "None",
    warnings,
  };
}
