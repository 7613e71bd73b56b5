/**
 * The `k8s.v1.cni.cncf.io/network-status` pod annotation (de-facto standard
 * v1.2, section 4.1.2.1): one entry per pod interface each delegate attached,
 * built from its CNI result the way network-attachment-definition-client's
 * `CreateNetworkStatuses` does (Multus calls it per delegate) and written as
 * `SetNetworkStatus` writes it.
 */
import type { DNS, Result100 } from "@knet/cni-spec";
import { Addr } from "@knet/netstack";

/** The pod annotation Multus writes after ADD. */
export const NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status";

/**
 * Device information of an attachment (`device-info`), with the annotation's own
 * field names; empty strings are left out when written.
 */
export interface DeviceInfo {
  /** `pci`, `vhost-user`, `memif` or `vdpa`. */
  readonly type?: string;
  /** Device-info spec version (`1.1.0`). */
  readonly version?: string;
  /** PCI device details. */
  readonly pci?: Readonly<
    Partial<Record<"pci-address" | "vhost-net" | "rdma-device" | "pf-pci-address" | "representor-device", string>>
  >;
  /** vDPA device details. */
  readonly vdpa?: Readonly<
    Partial<
      Record<"parent-device" | "driver" | "path" | "pci-address" | "pf-pci-address" | "representor-device", string>
    >
  >;
  /** vhost-user socket details. */
  readonly "vhost-user"?: Readonly<Partial<Record<"mode" | "path", string>>>;
  /** memif socket details. */
  readonly memif?: Readonly<Partial<Record<"role" | "path" | "mode", string>>>;
}

/** One entry of the network-status annotation. */
export interface NetworkStatus {
  /** The network's name (`namespace/name` for attachments, the default network's name otherwise). */
  readonly name: string;
  /** Interface name in the pod (`""` when the result named none in the sandbox). */
  readonly interface: string;
  /** Addresses, without prefix length. */
  readonly ips: readonly string[];
  /** MAC address (`""` when unknown). */
  readonly mac: string;
  /** MTU (0 when unknown). */
  readonly mtu: number;
  /** Whether this interface carries the pod's default network. */
  readonly default: boolean;
  /** DNS settings from the result. */
  readonly dns: DNS;
  /** Device information, when the delegate reported any. */
  readonly deviceInfo?: DeviceInfo;
  /** Gateways of the result's default routes (`<nil>` for a default route without one, as Go prints it). */
  readonly gateway: readonly string[];
}

const ipOf = (cidr: string): string => Addr.parse(cidr.split("/")[0] as string).toString();

/** A route counts as default when its destination address is all zeros, as `isDefaultRoute` decides. */
function isDefaultRoute(dst: string): boolean {
  const slash = dst.indexOf("/");
  const addr = Addr.parse(slash < 0 ? dst : dst.slice(0, slash));
  return addr.toBigInt() === 0n;
}

function defaultGateways(result: Result100): string[] {
  return (result.routes ?? [])
    .filter((r) => isDefaultRoute(r.dst))
    .map((r) => (r.gw === undefined ? "<nil>" : Addr.parse(r.gw).toString()));
}

function withDevice(s: Omit<NetworkStatus, "deviceInfo">, dev: DeviceInfo | undefined): NetworkStatus {
  return dev === undefined ? s : { ...s, deviceInfo: dev };
}

/** The single-interface case (`CreateNetworkStatus`): the last sandbox interface, every IP. */
function singleStatus(result: Result100, name: string, isDefault: boolean, dev: DeviceInfo | undefined): NetworkStatus {
  let iface = { name: "", mac: "", mtu: 0 };
  for (const i of result.interfaces ?? [])
    if ((i.sandbox ?? "") !== "") iface = { name: i.name, mac: i.mac ?? "", mtu: i.mtu ?? 0 };
  return withDevice(
    {
      name,
      interface: iface.name,
      ips: (result.ips ?? []).map((ip) => ipOf(ip.address)),
      mac: iface.mac,
      mtu: iface.mtu,
      default: isDefault,
      dns: result.dns ?? {},
      gateway: defaultGateways(result),
    },
    dev,
  );
}

/**
 * The network-status entries of one delegate's ADD result (CNI 1.x; convert older
 * results with `convertResult` first). With one interface in the result: one
 * entry holding every IP. With several: one entry per interface inside the
 * sandbox; each IP goes to the interface its `interface` index names, or to the
 * last sandbox interface when it names none; for the default network the first
 * sandbox interface whose IP has a gateway is `default` (else the first sandbox
 * interface).
 * @param networkName - the delegate's name (`namespace/name` for an attachment).
 * @param defaultNetwork - whether the delegate is the cluster default network.
 */
export function createNetworkStatuses(
  result: Result100,
  networkName: string,
  defaultNetwork: boolean,
  deviceInfo?: DeviceInfo,
): NetworkStatus[] {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 1) return [singleStatus(result, networkName, defaultNetwork, deviceInfo)];
  const gateway = defaultGateways(result);
  const dns = result.dns ?? {};
  let gwIndex = -1;
  if (defaultNetwork)
    for (const ip of result.ips ?? [])
      if (ip.gateway !== undefined && ip.interface !== undefined) {
        gwIndex = ip.interface;
        break;
      }
  const statuses: { status: NetworkStatus; ips: string[] }[] = [];
  const byResultIndex = new Map<number, number>();
  let setDefault = false;
  interfaces.forEach((iface, i) => {
    if ((iface.sandbox ?? "") === "") return;
    let isDefault = false;
    if (defaultNetwork && i === gwIndex && !setDefault) isDefault = setDefault = true;
    if (defaultNetwork && gwIndex === -1 && !setDefault) isDefault = setDefault = true;
    const ips: string[] = [];
    byResultIndex.set(i, statuses.length);
    statuses.push({
      ips,
      status: withDevice(
        {
          name: networkName,
          interface: iface.name,
          ips,
          mac: iface.mac ?? "",
          mtu: iface.mtu ?? 0,
          default: isDefault,
          dns,
          gateway,
        },
        deviceInfo,
      ),
    });
  });
  const last = statuses[statuses.length - 1];
  for (const ip of result.ips ?? []) {
    const target = ip.interface === undefined ? last : statuses[byResultIndex.get(ip.interface) ?? -1];
    target?.ips.push(ipOf(ip.address));
  }
  return statuses.map((s) => s.status);
}

/** Drop empty strings, empty lists and absent values, as Go's `omitempty` does. */
function compact(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    if (v === undefined || v === "" || v === 0 || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

function deviceJson(d: DeviceInfo): Record<string, unknown> {
  const sub = (o: Readonly<Record<string, string | undefined>> | undefined, keys: string[]) =>
    o === undefined ? undefined : compact(keys.map((k) => [k, o[k]]));
  return compact([
    ["type", d.type],
    ["version", d.version],
    ["pci", sub(d.pci, ["pci-address", "vhost-net", "rdma-device", "pf-pci-address", "representor-device"])],
    ["vdpa", sub(d.vdpa, ["parent-device", "driver", "path", "pci-address", "pf-pci-address", "representor-device"])],
    ["vhost-user", sub(d["vhost-user"], ["mode", "path"])],
    ["memif", sub(d.memif, ["role", "path", "mode"])],
  ]);
}

/** One status as the JSON object Multus writes (Go field order, `omitempty`; `name` and `dns` always present). */
function statusJson(s: NetworkStatus): Record<string, unknown> {
  return {
    name: s.name,
    ...compact([
      ["interface", s.interface],
      ["ips", s.ips],
      ["mac", s.mac],
      ["mtu", s.mtu],
      ["default", s.default],
      [
        "dns",
        compact([
          ["nameservers", s.dns.nameservers],
          ["domain", s.dns.domain],
          ["search", s.dns.search],
          ["options", s.dns.options],
        ]),
      ],
      ["device-info", s.deviceInfo === undefined ? undefined : deviceJson(s.deviceInfo)],
      ["gateway", s.gateway],
    ]),
  };
}

/** Go's encoding/json escapes these in strings; so must we, byte for byte. */
const goEscape = (json: string): string =>
  json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * The annotation value Multus writes: each status indented by four spaces
 * (`json.MarshalIndent`), joined by `,` inside `[` `]`.
 */
export function formatNetworkStatusAnnotation(statuses: readonly NetworkStatus[]): string {
  return `[${statuses.map((s) => goEscape(JSON.stringify(statusJson(s), null, 4))).join(",")}]`;
}
