/**
 * The `k8s.v1.cni.cncf.io/networks` pod annotation (Network Plumbing WG
 * de-facto standard v1.2, section 4.1.2), read the way Multus's
 * `parsePodNetworkAnnotation` reads it: a comma list of `[namespace/]name[@ifname]`,
 * or (when the text holds `[`, `{` or `"`) a JSON list of network selection elements.
 */
import { Addr } from "@knet/netstack";

/** The pod annotation that selects additional networks. */
export const NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";

/** A port mapping requested for one attachment (`portMappings[]`). */
export interface PortMapEntry {
  /** `hostPort`. */
  readonly hostPort: number;
  /** `containerPort`. */
  readonly containerPort: number;
  /** `protocol` (`""` when absent). */
  readonly protocol: string;
  /** `hostIP` (`""` when absent). */
  readonly hostIP: string;
}

/** Bandwidth requested for one attachment (`bandwidth`). */
export interface BandwidthEntry {
  /** `ingressRate`. */
  readonly ingressRate: number;
  /** `ingressBurst`. */
  readonly ingressBurst: number;
  /** `egressRate`. */
  readonly egressRate: number;
  /** `egressBurst`. */
  readonly egressBurst: number;
}

/**
 * One selected network, as Multus holds it after parsing. Optional fields are
 * absent when the annotation did not set them (or set them to `""`/`null`).
 */
export interface NetworkSelectionElement {
  /** `name`: the NetworkAttachmentDefinition's name. */
  readonly name: string;
  /** `namespace`: defaults to the pod's namespace. */
  readonly namespace: string;
  /** `ips`: requested addresses (IPs or CIDRs). */
  readonly ips?: readonly string[];
  /** `mac`: requested MAC address. */
  readonly mac?: string;
  /** `infiniband-guid`: requested InfiniBand GUID. */
  readonly infinibandGuid?: string;
  /** `interface` (or the pre-3.2 `interfaceRequest`): requested interface name in the pod. */
  readonly interface?: string;
  /** `portMappings`. */
  readonly portMappings?: readonly PortMapEntry[];
  /** `bandwidth`. */
  readonly bandwidth?: BandwidthEntry;
  /** `deviceID`. */
  readonly deviceID?: string;
  /** `cni-args`: extra `args.cni` keys for the delegate. */
  readonly cniArgs?: Readonly<Record<string, unknown>>;
  /** `default-route`: gateways; the pod's default route goes through this attachment. */
  readonly defaultRoute?: readonly string[];
}

/** A `networks` annotation Multus would refuse; `message` is Multus's own error text. */
export class NetworkAnnotationError extends Error {
  override readonly name = "NetworkAnnotationError";
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IFNAMSIZ = 16;

/** `[namespace/]name[@ifname]`, split and checked as Multus's parsePodNetworkObjectName does. */
function parseObjectName(item: string): { namespace: string; name: string; ifname: string } {
  const where = "parsePodNetworkObjectName";
  const slash = item.split("/");
  let namespace = "";
  let rest: string;
  if (slash.length === 2) {
    namespace = (slash[0] as string).trim();
    rest = slash[1] as string;
  } else if (slash.length === 1) rest = item;
  else throw new NetworkAnnotationError(`${where}: Invalid network object (failed at '/')`);
  const at = rest.split("@");
  const name = (at[0] as string).trim();
  let ifname = "";
  if (at.length === 2) ifname = (at[1] as string).trim();
  else if (at.length !== 1) throw new NetworkAnnotationError(`${where}: Invalid network object (failed at '@')`);
  for (const part of [namespace, name])
    if (part !== "" && !DNS1123_LABEL.test(part))
      throw new NetworkAnnotationError(
        `${where}: Failed to parse: one or more items did not match comma-delimited format (must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), mismatch @ '${part}'`,
      );
  if (ifname !== "" && (ifname.length > IFNAMSIZ - 1 || /[ \t\n\v\f\r/]/.test(ifname)))
    throw new NetworkAnnotationError(
      `${where}: Failed to parse interface name: must be less than 15 chars and not contain '/' or spaces. interface name '${ifname}'`,
    );
  return { namespace, name, ifname };
}

/** JSON type names as Go's encoding/json reports them. */
function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

function typeError(v: unknown, field: string, goType: string): NetworkAnnotationError {
  return new NetworkAnnotationError(
    `parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: json: cannot unmarshal ${jsonKind(v)} into Go struct field ${field} of type ${goType}`,
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Go's encoding/json: exact key first, otherwise a case-insensitive match; `null` reads as absent. */
function field(o: Record<string, unknown>, key: string): unknown {
  if (key in o) return o[key] ?? undefined;
  const lower = key.toLowerCase();
  let found: unknown;
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) found = o[k];
  return found ?? undefined;
}

function str(o: Record<string, unknown>, key: string, owner: string): string {
  const v = field(o, key);
  if (v === undefined) return "";
  if (typeof v !== "string") throw typeError(v, `${owner}.${key}`, "string");
  return v;
}

function int(o: Record<string, unknown>, key: string, owner: string): number {
  const v = field(o, key);
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(v, `${owner}.${key}`, "int");
  return v;
}

function strList(o: Record<string, unknown>, key: string, owner: string, goType: string): string[] | undefined {
  const v = field(o, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw typeError(v, `${owner}.${key}`, goType);
  return v.map((x) => {
    if (typeof x !== "string") throw typeError(x, `${owner}.${key}`, "string");
    return x;
  });
}

const ELEMENT = "NetworkSelectionElement";

function decodeElement(raw: unknown): Omit<NetworkSelectionElement, "namespace"> & { namespace: string } {
  if (!isRecord(raw))
    throw new NetworkAnnotationError(
      `parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: each element must be an object with a "name", not ${jsonKind(raw)}`,
    );
  const out: { -readonly [K in keyof NetworkSelectionElement]: NetworkSelectionElement[K] } = {
    name: str(raw, "name", ELEMENT),
    namespace: str(raw, "namespace", ELEMENT),
  };
  const ips = strList(raw, "ips", ELEMENT, "[]string");
  if (ips !== undefined && ips.length > 0) out.ips = ips;
  const mac = str(raw, "mac", ELEMENT);
  if (mac !== "") out.mac = mac;
  const guid = str(raw, "infiniband-guid", ELEMENT);
  if (guid !== "") out.infinibandGuid = guid;
  const iface = str(raw, "interface", ELEMENT);
  const deprecated = str(raw, "interfaceRequest", ELEMENT);
  if (iface !== "" || deprecated !== "") out.interface = iface !== "" ? iface : deprecated;
  const pm = field(raw, "portMappings");
  if (pm !== undefined) {
    if (!Array.isArray(pm)) throw typeError(pm, `${ELEMENT}.portMappings`, "[]*types.PortMapEntry");
    out.portMappings = pm.map((p) => {
      if (!isRecord(p)) throw typeError(p, `${ELEMENT}.portMappings`, "types.PortMapEntry");
      const owner = `${ELEMENT}.portMappings`;
      return {
        hostPort: int(p, "hostPort", owner),
        containerPort: int(p, "containerPort", owner),
        protocol: str(p, "protocol", owner),
        hostIP: str(p, "hostIP", owner),
      };
    });
  }
  const bw = field(raw, "bandwidth");
  if (bw !== undefined) {
    if (!isRecord(bw)) throw typeError(bw, `${ELEMENT}.bandwidth`, "types.BandwidthEntry");
    const owner = `${ELEMENT}.bandwidth`;
    out.bandwidth = {
      ingressRate: int(bw, "ingressRate", owner),
      ingressBurst: int(bw, "ingressBurst", owner),
      egressRate: int(bw, "egressRate", owner),
      egressBurst: int(bw, "egressBurst", owner),
    };
  }
  const deviceID = str(raw, "deviceID", ELEMENT);
  if (deviceID !== "") out.deviceID = deviceID;
  const cniArgs = field(raw, "cni-args");
  if (cniArgs !== undefined) {
    if (!isRecord(cniArgs)) throw typeError(cniArgs, `${ELEMENT}.cni-args`, "map[string]interface {}");
    out.cniArgs = cniArgs;
  }
  const routes = strList(raw, "default-route", ELEMENT, "[]net.IP");
  if (routes !== undefined) {
    for (const gw of routes)
      if (!isGoIP(gw))
        throw new NetworkAnnotationError(
          `parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: invalid IP address: ${gw}`,
        );
    out.defaultRoute = routes.map((gw) => Addr.parse(gw).toString());
  }
  return out;
}

/** Go's net.ParseIP: a dotted IPv4 or an IPv6 address, no zone. */
function isGoIP(text: string): boolean {
  return Addr.isValid(text);
}

/** Go's net.ParseCIDR: `ip/len` with len in range for the family. */
function isGoCIDR(text: string): boolean {
  const slash = text.indexOf("/");
  const ip = text.slice(0, slash);
  const len = text.slice(slash + 1);
  if (!isGoIP(ip) || !/^[0-9]{1,3}$/.test(len)) return false;
  return Number(len) <= (ip.includes(":") ? 128 : 32);
}

/**
 * Go's net.ParseMAC: 6, 8 or 20 octets, as `xx:xx...`, `xx-xx...` or `xxxx.xxxx...`.
 * Also the check Multus applies to an InfiniBand GUID.
 */
export function isGoMac(text: string): boolean {
  const n = text.length;
  if (n < 14) return false;
  const sizes = [6, 8, 20];
  if (text[2] === ":" || text[2] === "-") {
    if ((n + 1) % 3 !== 0 || !sizes.includes((n + 1) / 3)) return false;
    const sep = text[2];
    for (let i = 0; i < n; i += 3) {
      if (!/^[0-9a-fA-F]{2}$/.test(text.slice(i, i + 2))) return false;
      if (i + 2 < n && text[i + 2] !== sep) return false;
    }
    return true;
  }
  if (text[4] === ".") {
    if ((n + 1) % 5 !== 0 || !sizes.includes((2 * (n + 1)) / 5)) return false;
    for (let i = 0; i < n; i += 5) {
      if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) return false;
      if (i + 4 < n && text[i + 4] !== ".") return false;
    }
    return true;
  }
  return false;
}

/** Go's `%q` for the plain strings these messages quote. */
const quote = (s: string): string => JSON.stringify(s);

/**
 * Parse a `k8s.v1.cni.cncf.io/networks` annotation value as Multus does.
 * Elements without a namespace get `defaultNamespace` (the pod's). The result
 * keeps the annotation's order, which is the order delegates run in.
 * @throws {@link NetworkAnnotationError} with Multus's message when Multus would refuse it.
 */
export function parseNetworkSelectionAnnotation(
  annotation: string,
  defaultNamespace: string,
): NetworkSelectionElement[] {
  const where = "parsePodNetworkAnnotation";
  if (annotation === "") throw new NetworkAnnotationError(`${where}: pod annotation does not have "network" as key`);
  let elements: { -readonly [K in keyof NetworkSelectionElement]: NetworkSelectionElement[K] }[];
  if (/[[{"]/.test(annotation)) {
    let doc: unknown;
    try {
      doc = JSON.parse(annotation);
    } catch (e) {
      throw new NetworkAnnotationError(
        `${where}: failed to parse pod Network Attachment Selection Annotation JSON format: ${(e as Error).message}`,
      );
    }
    if (doc === null) return [];
    if (!Array.isArray(doc))
      throw new NetworkAnnotationError(
        `${where}: failed to parse pod Network Attachment Selection Annotation JSON format: json: cannot unmarshal ${jsonKind(doc)} into Go value of type []*types.NetworkSelectionElement`,
      );
    elements = doc.map(decodeElement);
  } else {
    elements = annotation.split(",").map((item) => {
      let parsed: ReturnType<typeof parseObjectName>;
      try {
        parsed = parseObjectName(item.trim());
      } catch (e) {
        throw new NetworkAnnotationError(`${where}: ${(e as Error).message}`);
      }
      const el: { -readonly [K in keyof NetworkSelectionElement]: NetworkSelectionElement[K] } = {
        name: parsed.name,
        namespace: parsed.namespace,
      };
      if (parsed.ifname !== "") el.interface = parsed.ifname;
      return el;
    });
  }
  for (const el of elements) {
    if (el.namespace === "") el.namespace = defaultNamespace;
    if (el.mac !== undefined && !isGoMac(el.mac))
      throw new NetworkAnnotationError(`${where}: failed to mac: address ${el.mac}: invalid MAC address`);
    if (el.infinibandGuid !== undefined && !isGoMac(el.infinibandGuid))
      throw new NetworkAnnotationError(
        `${where}: failed to validate infiniband GUID: address ${el.infinibandGuid}: invalid MAC address`,
      );
    for (const ip of el.ips ?? []) {
      if (ip.includes("/")) {
        if (!isGoCIDR(ip))
          throw new NetworkAnnotationError(`failed to parse CIDR ${quote(ip)}: invalid CIDR address: ${ip}`);
      } else if (!isGoIP(ip)) throw new NetworkAnnotationError(`failed to parse IP address ${quote(ip)}`);
    }
  }
  return elements;
}

/**
 * The interface name each selected network gets in the pod, as Multus's
 * `getIfname` picks it: the requested `interface`, otherwise `net<index>` where the
 * index is the delegate's position after the cluster default network(s)
 * (`firstIndex`, 1 with one default network), so requested names still use up
 * their position: `a, b@foo, c` gives `net1, foo, net3`.
 */
export function attachmentInterfaceNames(
  elements: readonly Pick<NetworkSelectionElement, "interface">[],
  firstIndex = 1,
): string[] {
  return elements.map((el, i) => el.interface ?? `net${firstIndex + i}`);
}
