import type { Namespace, Pod } from "@knet/k8s";
import { Addr } from "@knet/netstack";
import { type CaptureConfig, resolveCaptureConfig } from "./config.js";
import { MeshError } from "./errors.js";
import { parseIstioIptablesArgs } from "./flags.js";
import { spiffeId } from "./spiffe.js";

/**
 * The injector's defaults that decide the `istio-init` container (istiod's Helm
 * values `global.proxy.*`, MeshConfig and ProxyConfig). Defaults:
 * {@link DEFAULT_MESH_DEFAULTS}.
 */
export interface MeshDefaults {
  /** ProxyConfig `interceptionMode` (REDIRECT). */
  readonly interceptionMode: string;
  /** MeshConfig `proxyListenPort` (15001). */
  readonly proxyListenPort: number;
  /** MeshConfig `proxyInboundListenPort` (15006). */
  readonly proxyInboundListenPort: number;
  /** `global.proxy.includeIPRanges` (`*`). */
  readonly includeIPRanges: string;
  /** `global.proxy.excludeIPRanges` (empty). */
  readonly excludeIPRanges: string;
  /** `global.proxy.includeInboundPorts` (`*`). */
  readonly includeInboundPorts: string;
  /** `global.proxy.excludeInboundPorts` (empty). */
  readonly excludeInboundPorts: string;
  /** `global.proxy.includeOutboundPorts` (empty). */
  readonly includeOutboundPorts: string;
  /** `global.proxy.excludeOutboundPorts` (empty). */
  readonly excludeOutboundPorts: string;
  /** `global.proxy.statusPort`, the agent's status port, excluded from inbound capture (15020). */
  readonly statusPort: number;
  /** The proxy's UID, from the namespace (OpenShift ranges) or 1337. */
  readonly proxyUid: number;
  /** ProxyConfig `proxyMetadata`: environment of `istio-init` (e.g. `ISTIO_META_DNS_CAPTURE`). */
  readonly proxyMetadata: Readonly<Record<string, string>>;
  /** `global.nativeNftables`: istio-init writes nftables (false). */
  readonly nativeNftables: boolean;
  /** MeshConfig `trustDomain` (cluster.local). */
  readonly trustDomain: string;
  /** Injection policy when neither the pod nor a selector decides (`enabled`). */
  readonly policy: "enabled" | "disabled";
}

/** istiod's defaults. */
export const DEFAULT_MESH_DEFAULTS: MeshDefaults = Object.freeze({
  interceptionMode: "REDIRECT",
  proxyListenPort: 15001,
  proxyInboundListenPort: 15006,
  includeIPRanges: "*",
  excludeIPRanges: "",
  includeInboundPorts: "*",
  excludeInboundPorts: "",
  includeOutboundPorts: "",
  excludeOutboundPorts: "",
  statusPort: 15020,
  proxyUid: 1337,
  proxyMetadata: Object.freeze({}),
  nativeNftables: false,
  trustDomain: "cluster.local",
  policy: "enabled",
});

/** Namespaces the injector never touches (upstream `IgnoredNamespaces`). */
const IGNORED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]);

/** The injector's view of one pod. */
export interface PodCapture {
  /** Whether a sidecar is injected; when false, `reason` says why and there are no rules. */
  readonly injected: boolean;
  /** Why the pod is or is not injected. */
  readonly reason: string;
  /** The pod's workload identity. */
  readonly spiffeId: string;
  /** The `istio-init` container's arguments after `istio-iptables` (empty when no init container). */
  readonly args: readonly string[];
  /** The `istio-init` container's environment (ProxyConfig `proxyMetadata`). */
  readonly env: Readonly<Record<string, string>>;
  /** The capture configuration those arguments give, host facts filled in (undefined when not captured). */
  readonly config: CaptureConfig | undefined;
  /** istio-init writes nftables (`--native-nftables`). */
  readonly nativeNftables: boolean;
  /** The pod's TCP/unnamed-protocol container ports (upstream `applicationPorts`). */
  readonly applicationPorts: readonly number[];
}

/** Options of {@link captureFromPod}. */
export interface PodCaptureOptions {
  /** The injector's defaults, overriding {@link DEFAULT_MESH_DEFAULTS} field by field. */
  readonly mesh?: Partial<MeshDefaults>;
  /** The pod's namespace object (its `istio-injection` label takes part in selection). */
  readonly namespace?: Namespace;
  /** The nameservers of the pod's /etc/resolv.conf (upstream reads them in the pod). */
  readonly dnsServers?: readonly string[];
  /** Override IPv6 detection (upstream: the pod's first address is IPv6). */
  readonly enableIpv6?: boolean;
}

/** The injection annotations and labels (`sidecar.istio.io/*`, `traffic.sidecar.istio.io/*`). */
export const ANNOTATIONS = {
  inject: "sidecar.istio.io/inject",
  interceptionMode: "sidecar.istio.io/interceptionMode",
  statusPort: "status.sidecar.istio.io/port",
  includeOutboundIPRanges: "traffic.sidecar.istio.io/includeOutboundIPRanges",
  excludeOutboundIPRanges: "traffic.sidecar.istio.io/excludeOutboundIPRanges",
  includeInboundPorts: "traffic.sidecar.istio.io/includeInboundPorts",
  excludeInboundPorts: "traffic.sidecar.istio.io/excludeInboundPorts",
  includeOutboundPorts: "traffic.sidecar.istio.io/includeOutboundPorts",
  excludeOutboundPorts: "traffic.sidecar.istio.io/excludeOutboundPorts",
  kubevirtInterfaces: "traffic.sidecar.istio.io/kubevirtInterfaces",
  rerouteVirtualInterfaces: "istio.io/reroute-virtual-interfaces",
  excludeInterfaces: "traffic.sidecar.istio.io/excludeInterfaces",
  agentLogLevel: "sidecar.istio.io/agentLogLevel",
} as const;

/** Which annotation each istio-iptables flag of the template comes from, to name it in errors. */
const FLAG_SOURCE: Readonly<Record<string, string>> = {
  inboundInterceptionMode: ANNOTATIONS.interceptionMode,
  outboundIpRangesInclude: ANNOTATIONS.includeOutboundIPRanges,
  outboundIpRangesExclude: ANNOTATIONS.excludeOutboundIPRanges,
  inboundPortsInclude: ANNOTATIONS.includeInboundPorts,
  inboundPortsExclude: `${ANNOTATIONS.excludeInboundPorts} (or ${ANNOTATIONS.statusPort})`,
  outboundPortsInclude: ANNOTATIONS.includeOutboundPorts,
  outboundPortsExclude: ANNOTATIONS.excludeOutboundPorts,
  kubeVirtInterfaces: `${ANNOTATIONS.rerouteVirtualInterfaces} or ${ANNOTATIONS.kubevirtInterfaces}`,
  excludeInterfaces: ANNOTATIONS.excludeInterfaces,
};

/** Upstream template function `excludeInboundPort`: add the status port unless already there. */
function excludeInboundPort(statusPort: string, excluded: string): string {
  const port = statusPort.trim();
  if (port === "" || port === "0") return excluded;
  const out: string[] = [];
  for (const p of excluded.split(",")) {
    if (p === port) return excluded;
    const t = p.trim();
    if (t !== "") out.push(t);
  }
  out.push(port);
  return out.join(",");
}

/** Upstream `injectRequired` plus the default webhook's namespace/object selectors. */
function injectionDecision(
  pod: Pod,
  mesh: MeshDefaults,
  ns: Namespace | undefined,
): { inject: boolean; reason: string } {
  const namespace = pod.metadata?.namespace ?? "default";
  const label = pod.metadata?.labels?.[ANNOTATIONS.inject];
  const nsLabel = ns?.metadata?.labels?.["istio-injection"];
  if (pod.spec?.hostNetwork === true) return { inject: false, reason: "hostNetwork pods are never injected" };
  if (IGNORED_NAMESPACES.has(namespace)) return { inject: false, reason: `namespace ${namespace} is never injected` };
  // istiod's default webhooks: namespace label istio-injection=enabled, or pod label sidecar.istio.io/inject=true
  // in a namespace not labelled istio-injection=disabled.
  const selected = nsLabel === "enabled" ? label !== "false" : label === "true" && nsLabel !== "disabled";
  if (!selected) {
    return {
      inject: false,
      reason:
        ns === undefined && label === undefined
          ? `no webhook selects it: label the namespace istio-injection=enabled or the pod ${ANNOTATIONS.inject}=true`
          : `no webhook selects it (namespace istio-injection=${nsLabel ?? "<unset>"}, pod label ${ANNOTATIONS.inject}=${label ?? "<unset>"})`,
    };
  }
  const selector = label ?? pod.metadata?.annotations?.[ANNOTATIONS.inject] ?? "";
  if (selector === "true") return { inject: true, reason: `${ANNOTATIONS.inject}=true` };
  if (selector === "false") return { inject: false, reason: `${ANNOTATIONS.inject}=false` };
  return mesh.policy === "enabled"
    ? { inject: true, reason: "namespace istio-injection=enabled, injection policy enabled" }
    : { inject: false, reason: "injection policy disabled and the pod does not ask for injection" };
}

/**
 * What the sidecar injector decides for `pod`: whether it is injected, the
 * `istio-iptables` arguments of its `istio-init` container (as istiod's injection
 * template writes them from the `sidecar.istio.io/*` and `traffic.sidecar.istio.io/*`
 * annotations and the mesh defaults), the capture configuration those give, and
 * the pod's SPIFFE identity.
 * @throws {@link MeshError} naming the annotation whose value cannot be used.
 */
export function captureFromPod(pod: Pod, options: PodCaptureOptions = {}): PodCapture {
  const mesh: MeshDefaults = { ...DEFAULT_MESH_DEFAULTS, ...options.mesh };
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const anno = (name: string, def: string | number): string => annotations[name] ?? String(def);
  const isset = (name: string): boolean => name in annotations;
  const applicationPorts = (pod.spec?.containers ?? [])
    .filter((c) => c.name !== "istio-proxy")
    .flatMap((c) =>
      (c.ports ?? []).filter((p) => p.protocol !== "UDP" && p.protocol !== "SCTP").map((p) => p.containerPort),
    );
  const id = spiffeId(meta.namespace ?? "default", pod.spec?.serviceAccountName ?? "default", mesh.trustDomain);
  const decision = injectionDecision(pod, mesh, options.namespace);
  const none = { spiffeId: id, args: [], env: {}, config: undefined, nativeNftables: false, applicationPorts };
  if (!decision.inject) return { injected: false, reason: decision.reason, ...none };

  const mode = anno(ANNOTATIONS.interceptionMode, mesh.interceptionMode);
  if (mode === "NONE") {
    return {
      injected: true,
      reason: `${decision.reason}; ${ANNOTATIONS.interceptionMode}=NONE: no istio-init`,
      ...none,
    };
  }
  const tproxy = mode === "TPROXY";
  const excluded = excludeInboundPort(
    anno(ANNOTATIONS.statusPort, mesh.statusPort),
    anno(ANNOTATIONS.excludeInboundPorts, mesh.excludeInboundPorts),
  );
  const args = [
    "-p",
    String(mesh.proxyListenPort),
    "-z",
    String(mesh.proxyInboundListenPort),
    "-u",
    tproxy ? "1337" : String(mesh.proxyUid),
    "-m",
    mode,
    "-i",
    anno(ANNOTATIONS.includeOutboundIPRanges, mesh.includeIPRanges),
    "-x",
    anno(ANNOTATIONS.excludeOutboundIPRanges, mesh.excludeIPRanges),
    "-b",
    anno(ANNOTATIONS.includeInboundPorts, mesh.includeInboundPorts),
    "-d",
    excluded === "" ? "15090,15021" : `15090,15021,${excluded}`,
  ];
  if (isset(ANNOTATIONS.includeOutboundPorts) || mesh.includeOutboundPorts !== "") {
    args.push("-q", anno(ANNOTATIONS.includeOutboundPorts, mesh.includeOutboundPorts));
  }
  if (isset(ANNOTATIONS.excludeOutboundPorts) || mesh.excludeOutboundPorts !== "") {
    args.push("-o", anno(ANNOTATIONS.excludeOutboundPorts, mesh.excludeOutboundPorts));
  }
  if (isset(ANNOTATIONS.rerouteVirtualInterfaces)) {
    args.push("-k", annotations[ANNOTATIONS.rerouteVirtualInterfaces] ?? "");
  } else if (isset(ANNOTATIONS.kubevirtInterfaces)) {
    args.push("-k", annotations[ANNOTATIONS.kubevirtInterfaces] ?? "");
  }
  if (isset(ANNOTATIONS.excludeInterfaces)) args.push("-c", annotations[ANNOTATIONS.excludeInterfaces] ?? "");
  args.push(`--log_output_level=${anno(ANNOTATIONS.agentLogLevel, "default:info")}`);
  if (mesh.nativeNftables) args.push("--native-nftables");

  const env = { ...mesh.proxyMetadata };
  const parsed = parseIstioIptablesArgs(args, env);
  const firstIp = pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP;
  const enableIpv6 =
    options.enableIpv6 ?? (firstIp !== undefined && Addr.isValid(firstIp) && Addr.parse(firstIp).family === 6);
  const dns = parseIstioIptablesArgs(["--dns-servers", (options.dnsServers ?? []).join(",")]).config;
  let config: CaptureConfig;
  try {
    config = resolveCaptureConfig({ ...parsed.config, ...dns, enableIpv6 });
  } catch (e) {
    if (e instanceof MeshError && FLAG_SOURCE[e.field] !== undefined) {
      throw new MeshError(
        `${meta.namespace ?? "default"}/${meta.name ?? "?"} ${FLAG_SOURCE[e.field]}`,
        e.message.slice(e.field.length + 2),
      );
    }
    throw e;
  }
  return {
    injected: true,
    reason: decision.reason,
    spiffeId: id,
    args,
    env,
    config,
    nativeNftables: parsed.nativeNftables,
    applicationPorts,
  };
}
