import { namespaceOf, type Service } from "@knet/k8s";
import type { Addr, Family, Prefix } from "@knet/netstack";
import { parseCIDRSloppy, parseIPSloppy } from "./addresses.js";
import { ProxyModelError } from "./errors.js";

/** Transport protocol of a service port, lower case as kube-proxy writes it in rules. */
export type Protocol = "tcp" | "udp" | "sctp";

/** Identity of a service port: `namespace/name` plus the port's name (`""` when unnamed). */
export interface ServicePortName {
  /** Service namespace. */
  readonly namespace: string;
  /** Service name. */
  readonly name: string;
  /** The port's `name` (`""` when the Service port has no name). */
  readonly port: string;
}

/**
 * One Service port as a proxier of one IP family sees it (kube-proxy's
 * `ServicePort`): addresses of this family only, with the derived policy flags.
 */
export interface ServicePort {
  /** Unique key in a {@link ProxyState}: `spn` + `/` + protocol. */
  readonly key: string;
  /** `namespace/name` of the Service. */
  readonly serviceKey: string;
  /** The service port name parts. */
  readonly name: ServicePortName;
  /** `ns/name:portName`, or `ns/name` for an unnamed port (kube-proxy's `ServicePortName.String()`). */
  readonly spn: string;
  /** Lower-case protocol. */
  readonly protocol: Protocol;
  /** IP family of every address below. */
  readonly family: Family;
  /** The ClusterIP of this family. */
  readonly clusterIP: Addr;
  /** `spec.ports[].port`. */
  readonly port: number;
  /** NodePort, 0 when none. */
  readonly nodePort: number;
  /** `spec.externalIPs` of this family. */
  readonly externalIPs: readonly Addr[];
  /** `status.loadBalancer.ingress[].ip` of this family, excluding `ipMode: Proxy` entries. */
  readonly loadBalancerVIPs: readonly Addr[];
  /** `spec.loadBalancerSourceRanges` of this family (trimmed). */
  readonly loadBalancerSourceRanges: readonly Prefix[];
  /** Health-check NodePort (type LoadBalancer with externalTrafficPolicy Local only), else 0. */
  readonly healthCheckNodePort: number;
  /** ClientIP affinity timeout in seconds; 0 when sessionAffinity is None. */
  readonly sessionAffinitySeconds: number;
  /** Reachable from outside: a NodePort, a LB VIP or an external IP. */
  readonly externallyAccessible: boolean;
  /** externalTrafficPolicy Local on an externally reachable service type. */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  readonly internalPolicyLocal: boolean;
  /** Whether any traffic uses cluster-wide endpoints. */
  readonly usesClusterEndpoints: boolean;
  /** Whether any traffic uses node-local endpoints. */
  readonly usesLocalEndpoints: boolean;
}

/** `ns/name[:portName]`, as kube-proxy prints a ServicePortName. */
export function servicePortNameString(n: ServicePortName): string {
  return n.port === "" ? `${n.namespace}/${n.name}` : `${n.namespace}/${n.name}:${n.port}`;
}

const FAMILY_NAMES: Readonly<Record<string, Family>> = { IPv4: 4, IPv6: 6 };

/** Whether kube-proxy ignores this Service entirely (headless, ExternalName). */
export function isIgnoredService(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return svc.spec?.type === "ExternalName" || ip === undefined || ip === "" || ip === "None";
}

/** One value the model skipped, as kube-proxy logs it, with the object and field it came from. */
export interface ProxySkip {
  /** The object, as `Kind namespace/name`. */
  readonly object: string;
  /** The field path within the object (`spec.externalIPs[1]`). */
  readonly field: string;
  /** What kube-proxy logs, with the value (`Skipping invalid IP "10.0.0.999"`). */
  readonly message: string;
}

/** Where the model reports what it skipped (an address kube-proxy cannot parse); the rest is still used. */
export type ProxyLog = (skip: ProxySkip) => void;

/**
 * Parse as kube-proxy does (`ParseIPSloppy`); an unparsable value is logged
 * (`Skipping invalid IP`, as kube-proxy's MapIPsByIPFamily) and skipped (undefined).
 */
function sloppyAddr(object: string, field: string, text: unknown, log: ProxyLog | undefined): Addr | undefined {
  try {
    return parseIPSloppy(String(text));
  } catch {
    log?.({ object, field, message: `Skipping invalid IP ${JSON.stringify(text)}` });
    return undefined;
  }
}

/** Empty (or blank) list entries, which kube-proxy drops without a log line. */
function blank(text: unknown): boolean {
  return String(text ?? "").trim() === "";
}

function protocolOf(object: string, field: string, p: string | undefined): Protocol {
  const v = (p ?? "TCP").toUpperCase();
  if (v === "TCP" || v === "UDP" || v === "SCTP") return v.toLowerCase() as Protocol;
  throw new ProxyModelError(object, field, `protocol "${p}" is not TCP, UDP or SCTP`);
}

/**
 * The service ports of `svc` for one IP family, as kube-proxy's service change
 * tracker builds them. Returns `[]` for ignored Services and for Services with no
 * ClusterIP of this family. Addresses and CIDRs are read as kube-proxy reads them
 * (`ParseIPSloppy`/`ParseCIDRSloppy`: `172.30.0.041` is 172.30.0.41, `203.0.113.000/025`
 * is 203.0.113.0/25); a value that cannot be read is skipped with a line to `log`
 * (a Service whose ClusterIP cannot be read has no ports, so the rest still renders).
 * @throws {@link ProxyModelError} naming the Service and field for bad input
 *   (unknown IP family, bad protocol or port).
 */
export function servicePortsFor(svc: Service, family: Family, log?: ProxyLog): ServicePort[] {
  const ns = namespaceOf(svc);
  const name = svc.metadata?.name ?? "";
  const object = `Service ${ns}/${name}`;
  if (name === "") throw new ProxyModelError(object, "metadata.name", "missing");
  const spec = svc.spec ?? {};
  (spec.ipFamilies ?? []).forEach((f, i) => {
    if (FAMILY_NAMES[f] === undefined)
      throw new ProxyModelError(object, `spec.ipFamilies[${i}]`, `"${f}" is not IPv4 or IPv6`);
  });
  if (
    spec.ipFamilyPolicy !== undefined &&
    !["SingleStack", "PreferDualStack", "RequireDualStack"].includes(spec.ipFamilyPolicy)
  )
    throw new ProxyModelError(
      object,
      "spec.ipFamilyPolicy",
      `"${spec.ipFamilyPolicy}" is not SingleStack, PreferDualStack or RequireDualStack`,
    );
  if (isIgnoredService(svc)) return [];
  const clusterIPTexts = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ""];
  const clusterIPs: Addr[] = [];
  for (let i = 0; i < clusterIPTexts.length; i++) {
    const a = sloppyAddr(object, `spec.clusterIPs[${i}]`, clusterIPTexts[i], log);
    if (a === undefined) return []; // kube-proxy cannot program a service whose ClusterIP it cannot read
    clusterIPs.push(a);
  }
  (spec.ipFamilies ?? []).forEach((f, i) => {
    const ip = clusterIPs[i];
    if (ip && ip.family !== FAMILY_NAMES[f])
      throw new ProxyModelError(object, `spec.ipFamilies[${i}]`, `"${f}" does not match clusterIPs[${i}] ${ip}`);
  });
  const clusterIP = clusterIPs.find((a) => a.family === family);
  if (!clusterIP) return [];
  const externalIPs: Addr[] = [];
  (spec.externalIPs ?? []).forEach((t, i) => {
    if (blank(t)) return;
    const a = sloppyAddr(object, `spec.externalIPs[${i}]`, t, log);
    if (a !== undefined && a.family === family) externalIPs.push(a);
  });
  const ranges: Prefix[] = [];
  (spec.loadBalancerSourceRanges ?? []).forEach((t, i) => {
    try {
      ranges.push(parseCIDRSloppy(String(t)));
    } catch {
      // kube-proxy's MapCIDRsByIPFamily: an empty value is dropped quietly, any other is logged.
      if (!blank(t))
        log?.({
          object,
          field: `spec.loadBalancerSourceRanges[${i}]`,
          message: `Invalid CIDR ignored ${JSON.stringify(t)}`,
        });
    }
  });
  const lbVIPs: Addr[] = [];
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    if (ing.ip === undefined || ing.ip === "" || ing.ipMode === "Proxy") return;
    const a = sloppyAddr(object, `status.loadBalancer.ingress[${i}].ip`, ing.ip, log);
    if (a !== undefined && a.family === family) lbVIPs.push(a);
  });
  const type = spec.type ?? "ClusterIP";
  const externallyAccessibleType =
    type === "LoadBalancer" || type === "NodePort" || (type === "ClusterIP" && (spec.externalIPs ?? []).length > 0);
  const externalPolicyLocal = externallyAccessibleType && spec.externalTrafficPolicy === "Local";
  const internalPolicyLocal = spec.internalTrafficPolicy === "Local";
  const healthCheckNodePort =
    type === "LoadBalancer" && spec.externalTrafficPolicy === "Local" ? (spec.healthCheckNodePort ?? 0) : 0;
  const affinity =
    spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 0;
  const out: ServicePort[] = [];
  (spec.ports ?? []).forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      throw new ProxyModelError(object, `${field}.port`, `${p.port} is not a port number (1-65535)`);
    const nodePort = p.nodePort ?? 0;
    if (!Number.isInteger(nodePort) || nodePort < 0 || nodePort > 65535)
      throw new ProxyModelError(object, `${field}.nodePort`, `${p.nodePort} is not a port number`);
    const protocol = protocolOf(object, `${field}.protocol`, p.protocol);
    const n: ServicePortName = { namespace: ns, name, port: p.name ?? "" };
    const spn = servicePortNameString(n);
    const externallyAccessible = nodePort !== 0 || lbVIPs.length > 0 || externalIPs.length > 0;
    out.push({
      key: `${spn}/${protocol}`,
      serviceKey: `${ns}/${name}`,
      name: n,
      spn,
      protocol,
      family,
      clusterIP,
      port: p.port,
      nodePort,
      externalIPs,
      loadBalancerVIPs: lbVIPs,
      loadBalancerSourceRanges: ranges.filter((r) => r.family === family),
      healthCheckNodePort,
      sessionAffinitySeconds: affinity,
      externallyAccessible,
      externalPolicyLocal,
      internalPolicyLocal,
      usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
      usesLocalEndpoints: internalPolicyLocal || (externalPolicyLocal && externallyAccessible),
    });
  });
  return out;
}

/** Order of service ports in rendered output: by `spn` string, then protocol. */
export function compareServicePorts(a: ServicePort, b: ServicePort): number {
  if (a.spn !== b.spn) return a.spn < b.spn ? -1 : 1;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}
