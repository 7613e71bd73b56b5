import { type EndpointSlice, LABEL_SERVICE_NAME, namespaceOf } from "@knet/k8s";
import type { Addr, Family } from "@knet/netstack";
import { parseIPSloppy } from "./addresses.js";
import { ProxyModelError } from "./errors.js";
import { joinHostPort } from "./naming.js";
import type { Protocol, ProxyLog } from "./service-port.js";

/** One endpoint of one service port, as kube-proxy's endpoint slice cache builds it. */
export interface Endpoint {
  /** The address as text (canonical form). */
  readonly ip: string;
  /** The address. */
  readonly addr: Addr;
  /** The target port. */
  readonly port: number;
  /** `ip:port` (`[ip]:port` for IPv6), Go's `net.JoinHostPort`; endpoints sort by this string. */
  readonly endpoint: string;
  /** The endpoint's `nodeName` is this node. */
  readonly isLocal: boolean;
  /** `conditions.ready` (unset = true). */
  readonly ready: boolean;
  /** `conditions.serving` (unset = true). */
  readonly serving: boolean;
  /** `conditions.terminating` (unset = false). */
  readonly terminating: boolean;
  /** `hints.forZones[].name`, or undefined when the endpoint has no zone hints. */
  readonly zoneHints: readonly string[] | undefined;
  /** `hints.forNodes[].name`, or undefined when the endpoint has no node hints. */
  readonly nodeHints: readonly string[] | undefined;
  /** `nodeName`, when set. */
  readonly nodeName: string | undefined;
}

/** One port of a slice, with the endpoints it applies to (internal shape of {@link sliceEndpoints}). */
export interface SliceEndpoints {
  /** `namespace/name` of the owning Service (from the service-name label). */
  readonly serviceKey: string;
  /** Port name (`""` when unnamed). */
  readonly portName: string;
  /** Protocol. */
  readonly protocol: Protocol;
  /** Endpoints of this port (this family only). */
  readonly endpoints: readonly Endpoint[];
}

interface HintsWithNodes {
  forZones?: { name: string }[];
  forNodes?: { name: string }[];
}

/**
 * Read one EndpointSlice for a proxier of `family`: per slice port, the endpoints
 * (only `addresses[0]`, only this family), with conditions and hints. Returns `[]`
 * for slices without the service-name label, FQDN slices and other families.
 * Addresses are read as kube-proxy reads them (`ParseIPSloppy`: `10.0.0.010` is
 * 10.0.0.10, written canonically); an endpoint whose address cannot be read, or is
 * not of the slice's `addressType`, is skipped with a line to `log`.
 * @throws {@link ProxyModelError} naming the slice and field for a bad addressType or port.
 */
export function sliceEndpoints(
  slice: EndpointSlice,
  family: Family,
  nodeName: string,
  log?: ProxyLog,
): SliceEndpoints[] {
  const ns = namespaceOf(slice);
  const object = `EndpointSlice ${ns}/${slice.metadata?.name ?? "(unnamed)"}`;
  const svcName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
  const addressType = slice.addressType;
  if (addressType !== "IPv4" && addressType !== "IPv6" && addressType !== "FQDN")
    throw new ProxyModelError(object, "addressType", `"${addressType}" is not IPv4, IPv6 or FQDN`);
  const sliceFamily: Family | undefined = addressType === "IPv4" ? 4 : addressType === "IPv6" ? 6 : undefined;
  const parsed: { ep: (typeof slice.endpoints)[number]; addr: Addr }[] = [];
  (slice.endpoints ?? []).forEach((ep, i) => {
    const text = ep.addresses?.[0];
    if (text === undefined) return;
    if (sliceFamily === undefined) return;
    // As kube-proxy: read leniently (ParseIPSloppy), skip what cannot be read with a log line.
    let addr: Addr;
    try {
      addr = parseIPSloppy(String(text));
    } catch {
      log?.({ object, field: `endpoints[${i}].addresses[0]`, message: `Skipping invalid IP ${JSON.stringify(text)}` });
      return;
    }
    if (addr.family !== sliceFamily) {
      log?.({
        object,
        field: `endpoints[${i}].addresses[0]`,
        message: `Skipping ${JSON.stringify(text)}: not an ${addressType} address`,
      });
      return;
    }
    parsed.push({ ep, addr });
  });
  (slice.ports ?? []).forEach((p, i) => {
    if (p.port !== undefined && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535))
      throw new ProxyModelError(object, `ports[${i}].port`, `${p.port} is not a port number (1-65535)`);
    const proto = (p.protocol ?? "TCP").toUpperCase();
    if (proto !== "TCP" && proto !== "UDP" && proto !== "SCTP")
      throw new ProxyModelError(object, `ports[${i}].protocol`, `"${p.protocol}" is not TCP, UDP or SCTP`);
  });
  if (svcName === undefined || sliceFamily !== family) return [];
  const out: SliceEndpoints[] = [];
  for (const p of slice.ports ?? []) {
    if (p.port === undefined || p.port === 0) continue;
    const port = p.port;
    const endpoints = parsed.map(({ ep, addr }): Endpoint => {
      const c = ep.conditions ?? {};
      const hints = ep.hints as HintsWithNodes | undefined;
      const ip = addr.toString();
      return {
        ip,
        addr,
        port,
        endpoint: joinHostPort(ip, port),
        isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        ready: c.ready ?? true,
        serving: c.serving ?? true,
        terminating: c.terminating ?? false,
        zoneHints: hints?.forZones && hints.forZones.length > 0 ? hints.forZones.map((z) => z.name) : undefined,
        nodeHints: hints?.forNodes && hints.forNodes.length > 0 ? hints.forNodes.map((z) => z.name) : undefined,
        nodeName: ep.nodeName,
      };
    });
    out.push({
      serviceKey: `${ns}/${svcName}`,
      portName: p.name ?? "",
      protocol: (p.protocol ?? "TCP").toLowerCase() as Protocol,
      endpoints,
    });
  }
  return out;
}

/**
 * Merge the endpoints of several slices for one port: de-duplicate by `ip:port`
 * (a local duplicate wins) and sort by the `ip:port` string, as kube-proxy does.
 */
export function mergeEndpoints(lists: readonly (readonly Endpoint[])[]): Endpoint[] {
  if (lists.length === 1) {
    const only = lists[0] as readonly Endpoint[];
    let sorted = true;
    for (let i = 1; i < only.length; i++) {
      if ((only[i - 1] as Endpoint).endpoint >= (only[i] as Endpoint).endpoint) {
        sorted = false;
        break;
      }
    }
    if (sorted) return [...only];
  }
  const byKey = new Map<string, Endpoint>();
  for (const list of lists) {
    for (const ep of list) {
      const prev = byKey.get(ep.endpoint);
      if (prev === undefined || (!prev.isLocal && ep.isLocal)) byKey.set(ep.endpoint, ep);
    }
  }
  return [...byKey.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}
