/**
 * kube-proxy's configuration file (`kube-proxy --config FILE`): a
 * `KubeProxyConfiguration` of `kubeproxy.config.k8s.io/v1alpha1`, read as
 * kube-proxy reads it: YAML or JSON, decoded strictly (an unknown field or a
 * value of the wrong type is an error naming the field), defaulted as
 * `pkg/proxy/apis/config/v1alpha1/defaults.go` does, then validated as
 * `pkg/proxy/apis/config/validation/validation.go` does, with its field paths
 * and messages (`KubeProxyConfiguration.KubeProxyIPTablesConfiguration.MasqueradeBit:
 * Invalid value: 32: must be within the range [0, 31]`).
 */
import { readDocuments } from "@knet/k8s";
import { type Addr, type Family, Prefix } from "@knet/netstack";
import { parseCIDRSloppy, parseIPSloppy } from "./addresses.js";
import type { LocalDetector, ProxyConfigInput } from "./config.js";

/** The API group and version kube-proxy reads. */
export const KUBE_PROXY_CONFIGURATION_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1";

/** `detectLocalMode` values (`""`, unset, means ClusterCIDR). */
export type DetectLocalMode = "" | "ClusterCIDR" | "NodeCIDR" | "BridgeInterface" | "InterfaceNamePrefix";

/** A `KubeProxyConfiguration` as kube-proxy holds it after defaulting (durations in ms). */
export interface KubeProxyConfiguration {
  /** `mode` (`""` means iptables on Linux). */
  readonly mode: string;
  /** `hostnameOverride`: the Node's name when set. */
  readonly hostnameOverride: string;
  /** `bindAddress` (default `0.0.0.0`). */
  readonly bindAddress: string;
  /** `clusterCIDR`, split at commas (kube-proxy's `detectLocal.clusterCIDRs`). */
  readonly clusterCIDRs: readonly string[];
  /** `detectLocalMode`. */
  readonly detectLocalMode: DetectLocalMode;
  /** `detectLocal`. */
  readonly detectLocal: { readonly bridgeInterface: string; readonly interfaceNamePrefix: string };
  /** `nodePortAddresses` as written; empty means the mode's default (every address; nftables: the node's IPs). */
  readonly nodePortAddresses: readonly string[];
  /** `iptables` (the ipvs mode uses its masquerade settings too). */
  readonly iptables: {
    readonly masqueradeAll: boolean;
    readonly masqueradeBit: number;
    readonly localhostNodePorts: boolean;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
  };
  /** `ipvs`; timeouts of 0 keep the kernel's values. */
  readonly ipvs: {
    readonly scheduler: string;
    readonly strictARP: boolean;
    readonly excludeCIDRs: readonly string[];
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
    readonly tcpTimeoutMs: number;
    readonly tcpFinTimeoutMs: number;
    readonly udpTimeoutMs: number;
  };
  /** `nftables`. */
  readonly nftables: {
    readonly masqueradeAll: boolean;
    readonly masqueradeBit: number;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
  };
  /** `conntrack` (what kube-proxy sets in the host's sysctls; timeouts of 0 leave them as they are). */
  readonly conntrack: {
    readonly maxPerCore: number;
    readonly min: number;
    readonly tcpEstablishedTimeoutMs: number;
    readonly tcpCloseWaitTimeoutMs: number;
    readonly tcpBeLiberal: boolean;
    readonly udpTimeoutMs: number;
    readonly udpStreamTimeoutMs: number;
  };
}

/** One reason kube-proxy would not start with a configuration file. */
export interface KubeProxyConfigurationProblem {
  /** The v1alpha1 field it is about, as written in the file (`iptables.masqueradeBit`; `""` for the document). */
  readonly field: string;
  /** kube-proxy's message (the validation messages are its `field.Error` text). */
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
}

/** What {@link parseKubeProxyConfiguration} read: the defaulted configuration and every problem. */
export interface KubeProxyConfigurationResult {
  /** The configuration, defaulted; use it only when `problems` is empty. */
  readonly config: KubeProxyConfiguration;
  /** Decoding and validation problems, in kube-proxy's words (empty when kube-proxy would start). */
  readonly problems: readonly KubeProxyConfigurationProblem[];
}

/** The fields of each object of v1alpha1 (strict decoding rejects any other). */
const FIELDS: Readonly<Record<string, readonly string[]>> = {
  "": [
    "apiVersion",
    "kind",
    "featureGates",
    "clientConnection",
    "logging",
    "hostnameOverride",
    "bindAddress",
    "healthzBindAddress",
    "metricsBindAddress",
    "bindAddressHardFail",
    "enableProfiling",
    "showHiddenMetricsForVersion",
    "mode",
    "iptables",
    "ipvs",
    "nftables",
    "winkernel",
    "detectLocalMode",
    "detectLocal",
    "clusterCIDR",
    "nodePortAddresses",
    "oomScoreAdj",
    "conntrack",
    "configSyncPeriod",
    "portRange",
    "windowsRunAsService",
  ],
  iptables: ["masqueradeBit", "masqueradeAll", "localhostNodePorts", "syncPeriod", "minSyncPeriod"],
  ipvs: [
    "syncPeriod",
    "minSyncPeriod",
    "scheduler",
    "excludeCIDRs",
    "strictARP",
    "tcpTimeout",
    "tcpFinTimeout",
    "udpTimeout",
  ],
  nftables: ["masqueradeBit", "masqueradeAll", "syncPeriod", "minSyncPeriod"],
  conntrack: [
    "maxPerCore",
    "min",
    "tcpEstablishedTimeout",
    "tcpCloseWaitTimeout",
    "tcpBeLiberal",
    "udpTimeout",
    "udpStreamTimeout",
  ],
  detectLocal: ["bridgeInterface", "interfaceNamePrefix"],
  clientConnection: ["kubeconfig", "acceptContentTypes", "contentType", "qps", "burst"],
  winkernel: ["networkName", "sourceVip", "enableDSR", "rootHnsEndpointName", "forwardHealthCheckVip"],
};

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** A Go duration (`30s`, `1m30s`, `250ms`, `-1s`, `0`) in ms, as `time.ParseDuration` reads it; `undefined` when it is not one. */
function parseGoDuration(text: string): number | undefined {
  if (/^[-+]?0$/.test(text)) return 0;
  if (!DURATION.test(text)) return undefined;
  let ns = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    ns += Number(part[1]) * (UNIT_NS[part[2] as string] as number);
  return ((text.startsWith("-") ? -1 : 1) * ns) / 1e6;
}

/** A duration in ms as Go's `time.Duration.String()` prints it (`1m0s`, `250ms`, `0s`, `-1s`). */
function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const abs = Math.abs(ms);
  let out: string;
  if (abs < 1000) out = `${Number(abs.toFixed(6))}ms`;
  else {
    const h = Math.floor(abs / 3600e3);
    const m = Math.floor((abs % 3600e3) / 60e3);
    const s = Number(((abs % 60e3) / 1000).toFixed(9));
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return ms < 0 ? `-${out}` : out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Go's name for a JSON value's type, as `encoding/json` reports a mismatch. */
function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v === "object" ? "object" : typeof v;
}

/**
 * Read a kube-proxy configuration file (YAML or JSON) as kube-proxy does:
 * strict decoding (an unknown field or a value of the wrong type is a problem
 * naming the field), kube-proxy's defaults (iptables masqueradeBit 14, syncPeriod
 * 30s, minSyncPeriod 1s, localhostNodePorts true; nftables the same but no
 * localhostNodePorts; ipvs syncPeriod 30s, minSyncPeriod 0s; conntrack maxPerCore
 * 32768, min 131072, tcpEstablishedTimeout 24h, tcpCloseWaitTimeout 1h), then
 * its validation, with its field paths and messages. Pure: never throws, never
 * reads anything but `text`.
 * @param text The file's contents.
 */
export function parseKubeProxyConfiguration(text: string): KubeProxyConfigurationResult {
  const docs = readDocuments(text);
  const problems: KubeProxyConfigurationProblem[] = [];
  const nonEmpty = docs.filter((d) => d.problems !== undefined || (d.value !== null && d.value !== undefined));
  for (const d of nonEmpty)
    for (const p of d.problems ?? [])
      problems.push({ field: "", message: p.message, ...(p.line !== undefined ? { line: p.line } : {}) });
  if (problems.length > 0) return { config: decode({}, []), problems };
  const first = nonEmpty[0];
  if (first === undefined) {
    problems.push({ field: "", message: "the file is empty: want one KubeProxyConfiguration document" });
    return { config: decode({}, []), problems };
  }
  if (nonEmpty.length > 1)
    problems.push({
      field: "",
      line: nonEmpty[1]?.line ?? first.line,
      message: `the file holds ${nonEmpty.length} documents: kube-proxy reads one KubeProxyConfiguration`,
    });
  const config = decode(first.value, problems);
  if (problems.length > 0) return { config, problems };
  return { config, problems: validate(config) };
}

/** Strict decoding and defaulting of one document; decoding problems are added to `problems`. */
function decode(doc: unknown, problems: KubeProxyConfigurationProblem[]): KubeProxyConfiguration {
  // The field path names where each problem is; only syntax errors carry a line.
  const problem = (field: string, message: string): void => {
    problems.push({ field, message });
  };
  const root = isRecord(doc) ? doc : {};
  if (!isRecord(doc)) problem("", `the document is ${jsonType(doc)}: want a KubeProxyConfiguration object`);
  else if (root.apiVersion !== KUBE_PROXY_CONFIGURATION_API_VERSION || root.kind !== "KubeProxyConfiguration")
    problem(
      root.kind !== "KubeProxyConfiguration" ? "kind" : "apiVersion",
      `no kind "${String(root.kind ?? "")}" is registered for version "${String(root.apiVersion ?? "")}": want apiVersion: ${KUBE_PROXY_CONFIGURATION_API_VERSION} and kind: KubeProxyConfiguration`,
    );
  const unknown = (obj: Record<string, unknown>, section: string): void => {
    for (const k of Object.keys(obj))
      if (!(FIELDS[section] ?? []).includes(k)) {
        const field = section === "" ? k : `${section}.${k}`;
        problem(field, `strict decoding error: unknown field "${field}"`);
      }
  };
  unknown(root, "");
  const section = (name: string): Record<string, unknown> => {
    const v = root[name];
    if (v === undefined || v === null) return {};
    if (!isRecord(v)) {
      problem(name, `cannot decode ${jsonType(v)} into field ${name}: want an object`);
      return {};
    }
    if (FIELDS[name] !== undefined) unknown(v, name);
    return v;
  };
  const iptables = section("iptables");
  const ipvs = section("ipvs");
  const nftables = section("nftables");
  const conntrack = section("conntrack");
  const detectLocal = section("detectLocal");
  section("clientConnection");
  section("winkernel");
  section("logging");
  const gates = section("featureGates");
  for (const [k, v] of Object.entries(gates))
    if (typeof v !== "boolean")
      problem(`featureGates.${k}`, `cannot decode ${jsonType(v)} into field featureGates.${k}: want true or false`);

  const typed = <T>(
    obj: Record<string, unknown>,
    prefix: string,
    key: string,
    want: string,
    ok: (v: unknown) => v is T,
  ): T | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (ok(v)) return v;
    problem(
      `${prefix}${key}`,
      `cannot decode ${jsonType(v)} ${JSON.stringify(v)} into field ${prefix}${key}: want ${want}`,
    );
    return undefined;
  };
  const str = (o: Record<string, unknown>, p: string, k: string) =>
    typed(o, p, k, "a string", (v): v is string => typeof v === "string");
  const bool = (o: Record<string, unknown>, p: string, k: string) =>
    typed(o, p, k, "true or false", (v): v is boolean => typeof v === "boolean");
  const int32 = (o: Record<string, unknown>, p: string, k: string) =>
    typed(
      o,
      p,
      k,
      "an integer (int32)",
      (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31,
    );
  const strs = (o: Record<string, unknown>, p: string, k: string) =>
    typed(
      o,
      p,
      k,
      "a list of strings",
      (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string"),
    );
  const dur = (o: Record<string, unknown>, p: string, k: string): number | undefined => {
    const t = typed(o, p, k, 'a duration such as "30s"', (v): v is string => typeof v === "string");
    if (t === undefined) return undefined;
    const ms = parseGoDuration(t);
    if (ms === undefined) problem(`${p}${k}`, `${p}${k}: time: invalid duration ${JSON.stringify(t)}`);
    return ms;
  };
  // A zero duration is unset for the sync periods (defaults.go tests `Duration == 0`);
  // a conntrack pointer field keeps an explicit 0.
  const orDefault = (ms: number | undefined, d: number): number => (ms === undefined || ms === 0 ? d : ms);
  const clusterCIDR = str(root, "", "clusterCIDR") ?? "";
  return {
    mode: str(root, "", "mode") ?? "",
    hostnameOverride: str(root, "", "hostnameOverride") ?? "",
    bindAddress: str(root, "", "bindAddress") || "0.0.0.0",
    clusterCIDRs: clusterCIDR === "" ? [] : clusterCIDR.split(","),
    detectLocalMode: (str(root, "", "detectLocalMode") ?? "") as DetectLocalMode,
    detectLocal: {
      bridgeInterface: str(detectLocal, "detectLocal.", "bridgeInterface") ?? "",
      interfaceNamePrefix: str(detectLocal, "detectLocal.", "interfaceNamePrefix") ?? "",
    },
    nodePortAddresses: strs(root, "", "nodePortAddresses") ?? [],
    iptables: {
      masqueradeAll: bool(iptables, "iptables.", "masqueradeAll") ?? false,
      masqueradeBit: int32(iptables, "iptables.", "masqueradeBit") ?? 14,
      localhostNodePorts: bool(iptables, "iptables.", "localhostNodePorts") ?? true,
      syncPeriodMs: orDefault(dur(iptables, "iptables.", "syncPeriod"), 30_000),
      minSyncPeriodMs: orDefault(dur(iptables, "iptables.", "minSyncPeriod"), 1_000),
    },
    ipvs: {
      scheduler: str(ipvs, "ipvs.", "scheduler") ?? "",
      strictARP: bool(ipvs, "ipvs.", "strictARP") ?? false,
      excludeCIDRs: strs(ipvs, "ipvs.", "excludeCIDRs") ?? [],
      syncPeriodMs: orDefault(dur(ipvs, "ipvs.", "syncPeriod"), 30_000),
      minSyncPeriodMs: dur(ipvs, "ipvs.", "minSyncPeriod") ?? 0,
      tcpTimeoutMs: dur(ipvs, "ipvs.", "tcpTimeout") ?? 0,
      tcpFinTimeoutMs: dur(ipvs, "ipvs.", "tcpFinTimeout") ?? 0,
      udpTimeoutMs: dur(ipvs, "ipvs.", "udpTimeout") ?? 0,
    },
    nftables: {
      masqueradeAll: bool(nftables, "nftables.", "masqueradeAll") ?? false,
      masqueradeBit: int32(nftables, "nftables.", "masqueradeBit") ?? 14,
      syncPeriodMs: orDefault(dur(nftables, "nftables.", "syncPeriod"), 30_000),
      minSyncPeriodMs: orDefault(dur(nftables, "nftables.", "minSyncPeriod"), 1_000),
    },
    conntrack: {
      maxPerCore: int32(conntrack, "conntrack.", "maxPerCore") ?? 32 * 1024,
      min: int32(conntrack, "conntrack.", "min") ?? 128 * 1024,
      tcpEstablishedTimeoutMs: dur(conntrack, "conntrack.", "tcpEstablishedTimeout") ?? 24 * 3600e3,
      tcpCloseWaitTimeoutMs: dur(conntrack, "conntrack.", "tcpCloseWaitTimeout") ?? 3600e3,
      tcpBeLiberal: bool(conntrack, "conntrack.", "tcpBeLiberal") ?? false,
      udpTimeoutMs: dur(conntrack, "conntrack.", "udpTimeout") ?? 0,
      udpStreamTimeoutMs: dur(conntrack, "conntrack.", "udpStreamTimeout") ?? 0,
    },
  };
}

/** The sync periods of the mode kube-proxy runs (v1alpha1 keeps them per mode; `""` is iptables). */
function syncPeriodsOf(c: KubeProxyConfiguration): { readonly syncPeriodMs: number; readonly minSyncPeriodMs: number } {
  return c.mode === "ipvs" ? c.ipvs : c.mode === "nftables" ? c.nftables : c.iptables;
}

function cidrOk(text: string): boolean {
  try {
    parseCIDRSloppy(text);
    return true;
  } catch {
    return false;
  }
}

const P = "KubeProxyConfiguration";
const DUAL_STACK =
  "must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]";

/** kube-proxy's `Validate()` of the internal configuration, each problem tagged with the v1alpha1 field it comes from. */
function validate(c: KubeProxyConfiguration): KubeProxyConfigurationProblem[] {
  const out: KubeProxyConfigurationProblem[] = [];
  const invalid = (field: string, path: string, value: string, detail: string): void => {
    out.push({ field, message: `${P}.${path}: Invalid value: ${value}: ${detail}` });
  };
  const q = (v: string): string => JSON.stringify(v);
  const d = formatGoDuration;
  const bitRange = "must be within the range [0, 31]";
  const nonNegative = "must be greater than or equal to 0";
  if (c.iptables.masqueradeBit < 0 || c.iptables.masqueradeBit > 31)
    invalid(
      "iptables.masqueradeBit",
      "KubeProxyIPTablesConfiguration.MasqueradeBit",
      String(c.iptables.masqueradeBit),
      bitRange,
    );
  if (c.mode === "ipvs") {
    const path = "KubeProxyIPVSConfiguration";
    for (const [k, field, v] of [
      ["TCPTimeout", "tcpTimeout", c.ipvs.tcpTimeoutMs],
      ["TCPFinTimeout", "tcpFinTimeout", c.ipvs.tcpFinTimeoutMs],
      ["UDPTimeout", "udpTimeout", c.ipvs.udpTimeoutMs],
    ] as const)
      if (v < 0) invalid(`ipvs.${field}`, `${path}.${k}`, d(v), nonNegative);
    c.ipvs.excludeCIDRs.forEach((x, i) => {
      if (!cidrOk(x)) invalid(`ipvs.excludeCIDRs[${i}]`, `${path}.ExcludeCidrs[${i}]`, q(x), "must be a valid CIDR");
    });
  }
  if (c.mode === "nftables" && (c.nftables.masqueradeBit < 0 || c.nftables.masqueradeBit > 31))
    invalid(
      "nftables.masqueradeBit",
      "KubeProxyNFTablesConfiguration.MasqueradeBit",
      String(c.nftables.masqueradeBit),
      bitRange,
    );
  const ct = "KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration";
  if (c.conntrack.maxPerCore < 0)
    invalid("conntrack.maxPerCore", `${ct}.MaxPerCore`, String(c.conntrack.maxPerCore), nonNegative);
  if (c.conntrack.min < 0) invalid("conntrack.min", `${ct}.Min`, String(c.conntrack.min), nonNegative);
  for (const [k, field, v] of [
    ["TCPEstablishedTimeout", "tcpEstablishedTimeout", c.conntrack.tcpEstablishedTimeoutMs],
    ["TCPCloseWaitTimeout", "tcpCloseWaitTimeout", c.conntrack.tcpCloseWaitTimeoutMs],
    ["UDPTimeout", "udpTimeout", c.conntrack.udpTimeoutMs],
    ["UDPStreamTimeout", "udpStreamTimeout", c.conntrack.udpStreamTimeoutMs],
  ] as const)
    if (v < 0) invalid(`conntrack.${field}`, `${ct}.${k}`, d(v), nonNegative);
  if (!["", "iptables", "ipvs", "nftables"].includes(c.mode))
    invalid(
      "mode",
      "Mode.ProxyMode",
      q(c.mode),
      "must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])",
    );
  const section = c.mode === "ipvs" ? "ipvs" : c.mode === "nftables" ? "nftables" : "iptables";
  const { syncPeriodMs, minSyncPeriodMs } = syncPeriodsOf(c);
  if (syncPeriodMs <= 0) invalid(`${section}.syncPeriod`, "SyncPeriod", d(syncPeriodMs), "must be greater than 0");
  if (minSyncPeriodMs < 0) invalid(`${section}.minSyncPeriod`, "MinSyncPeriod", d(minSyncPeriodMs), nonNegative);
  if (minSyncPeriodMs > syncPeriodMs)
    invalid(
      `${section}.syncPeriod`,
      "SyncPeriod",
      d(minSyncPeriodMs),
      `must be greater than or equal to ${P}.MinSyncPeriod`,
    );
  let bindOk = true;
  try {
    parseIPSloppy(c.bindAddress);
  } catch {
    bindOk = false;
  }
  if (!bindOk)
    invalid("bindAddress", "BindAddress", q(c.bindAddress), "not a valid textual representation of an IP address");
  const npa = c.nodePortAddresses;
  for (let i = 0; i < npa.length; i++) {
    const a = npa[i] as string;
    if (a === "primary") {
      if (i !== 0 || npa.length !== 1)
        invalid(`nodePortAddresses[${i}]`, `NodePortAddresses[${i}]`, q(a), "can't use both 'primary' and CIDRs");
      break;
    }
    if (!cidrOk(a)) invalid(`nodePortAddresses[${i}]`, `NodePortAddresses[${i}]`, q(a), "must be a valid CIDR");
  }
  const modes = ["ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", ""];
  if (!modes.includes(c.detectLocalMode))
    out.push({
      field: "detectLocalMode",
      message: `${P}.DetectLocalMode: Unsupported value: ${q(c.detectLocalMode)}: supported values: ${modes.map(q).join(", ")}`,
    });
  if (c.detectLocalMode === "BridgeInterface" && c.detectLocal.bridgeInterface === "")
    invalid("detectLocal.bridgeInterface", "DetectLocalConfiguration.InterfaceName", q(""), "must not be empty");
  if (c.detectLocalMode === "InterfaceNamePrefix" && c.detectLocal.interfaceNamePrefix === "")
    invalid("detectLocal.interfaceNamePrefix", "DetectLocalConfiguration.InterfacePrefix", q(""), "must not be empty");
  // kube-proxy validates the cluster CIDRs for ClusterCIDR mode; knet also uses them when
  // the mode is unset (ClusterCIDR is the documented default), so it checks them then too.
  const cidrs = c.clusterCIDRs;
  if ((c.detectLocalMode === "ClusterCIDR" || c.detectLocalMode === "") && cidrs.length > 0) {
    const path = "DetectLocalConfiguration.ClusterCIDRs";
    const list = `[]string{${cidrs.map(q).join(", ")}}`;
    if (cidrs.length > 2) invalid("clusterCIDR", path, list, DUAL_STACK);
    else {
      cidrs.forEach((x, i) => {
        if (!cidrOk(x))
          invalid(
            "clusterCIDR",
            `${path}[${i}]`,
            q(x),
            "must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)",
          );
      });
      if (cidrs.length === 2 && cidrs.every(cidrOk)) {
        const [a, b] = cidrs.map((x) => parseCIDRSloppy(x).family);
        if (a === b) invalid("clusterCIDR", path, list, DUAL_STACK);
      }
    }
  }
  return out;
}

/** What {@link kubeProxyProxyConfigInput} needs to know about the node besides the file. */
export interface KubeProxyNode {
  /** The proxier's IP family. */
  readonly family: Family;
  /** This node's IPs (`nodePortAddresses: [primary]` means these). */
  readonly nodeIPs: readonly Addr[];
  /** The Node's `spec.podCIDRs` (for `detectLocalMode: NodeCIDR`). */
  readonly podCIDRs?: readonly string[];
}

/**
 * The {@link ProxyConfigInput} fields a configuration sets for `mode` (the file's
 * `mode` unless a flag overrode it): the mode's masquerade settings (iptables and
 * ipvs read `iptables`, nftables reads `nftables`), `localhostNodePorts`,
 * `clusterCIDR`, the local-traffic detector, `nodePortAddresses` (`primary`
 * becomes the node's IPs) and the mode's sync periods. Add the node's name, IPs
 * and labels, and any flags, on top.
 */
export function kubeProxyProxyConfigInput(
  config: KubeProxyConfiguration,
  mode: string,
  node: KubeProxyNode,
): ProxyConfigInput {
  const masq = mode === "nftables" ? config.nftables : config.iptables;
  const periods = syncPeriodsOf({ ...config, mode });
  const ofFamily = (texts: readonly string[]): Prefix[] =>
    texts.map((t) => parseCIDRSloppy(t)).filter((p) => p.family === node.family);
  const npa = config.nodePortAddresses;
  const nodePortAddresses =
    npa[0] === "primary"
      ? node.nodeIPs
          .filter((a) => a.family === node.family)
          .map((a) => Prefix.parse(`${a}/${a.family === 4 ? 32 : 128}`))
      : ofFamily(npa);
  let localDetector: LocalDetector | undefined;
  const det = config.detectLocalMode;
  if (det === "BridgeInterface") localDetector = { mode: det, interfaceName: config.detectLocal.bridgeInterface };
  else if (det === "InterfaceNamePrefix") localDetector = { mode: det, prefix: config.detectLocal.interfaceNamePrefix };
  else if (det === "NodeCIDR") {
    // The Node's podCIDRs are the API server's to check; one that cannot be read is not used.
    const cidr = (node.podCIDRs ?? [])
      .flatMap((t) => {
        try {
          return [parseCIDRSloppy(t)];
        } catch {
          return [];
        }
      })
      .find((p) => p.family === node.family);
    localDetector = cidr ? { mode: "NodeCIDR", cidr } : { mode: "None" };
  } else {
    const cidr = ofFamily(config.clusterCIDRs)[0];
    localDetector = cidr ? { mode: "ClusterCIDR", cidr } : { mode: "None" };
  }
  return {
    clusterCIDR: ofFamily(config.clusterCIDRs),
    masqueradeAll: masq.masqueradeAll,
    masqueradeBit: masq.masqueradeBit,
    localDetector,
    localhostNodePorts: config.iptables.localhostNodePorts,
    nodePortAddresses,
    syncPeriodMs: periods.syncPeriodMs,
    minSyncPeriodMs: periods.minSyncPeriodMs,
  };
}

/** Mode-specific engine options a configuration sets (see {@link kubeProxyEngineOptions}). */
export interface KubeProxyEngineOptions {
  /** ipvs: `ipvs.scheduler` (absent when blank: the engine's default, rr). */
  readonly scheduler?: string;
  /** ipvs: the timeouts set (in seconds, as `ipvsadm --set`); absent ones keep the kernel's. */
  readonly timeouts?: { readonly tcp?: number; readonly tcpfin?: number; readonly udp?: number };
  /** iptables: `conntrack.tcpBeLiberal` (no INVALID-drop rule). */
  readonly conntrackTCPLiberal?: boolean;
}

/**
 * The engine options a configuration sets for `mode`: the ipvs scheduler and
 * timeouts (zero ones keep the kernel's values), and for iptables whether
 * conntrack is TCP-liberal (kube-proxy sets `nf_conntrack_tcp_be_liberal` and
 * then writes no INVALID-drop rule).
 */
export function kubeProxyEngineOptions(config: KubeProxyConfiguration, mode: string): KubeProxyEngineOptions {
  if (mode === "ipvs") {
    const s = (ms: number): number => Math.trunc(ms / 1000);
    const t = config.ipvs;
    const timeouts = {
      ...(t.tcpTimeoutMs > 0 ? { tcp: s(t.tcpTimeoutMs) } : {}),
      ...(t.tcpFinTimeoutMs > 0 ? { tcpfin: s(t.tcpFinTimeoutMs) } : {}),
      ...(t.udpTimeoutMs > 0 ? { udp: s(t.udpTimeoutMs) } : {}),
    };
    return {
      ...(t.scheduler !== "" ? { scheduler: t.scheduler } : {}),
      ...(Object.keys(timeouts).length > 0 ? { timeouts } : {}),
    };
  }
  if (mode === "iptables" && config.conntrack.tcpBeLiberal) return { conntrackTCPLiberal: true };
  return {};
}
