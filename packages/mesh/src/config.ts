import { Addr, AddrError, Prefix } from "@knet/netstack";
import { MeshError } from "./errors.js";

/**
 * istio-iptables' configuration (upstream `tools/common/config.Config`), limited to
 * what decides the rules. List settings stay comma-separated strings, as upstream
 * keeps them, so a value such as `"6000,7000,"` means what it means there (empty
 * items are ignored). Flags and environment variables that set each field are
 * listed in {@link ISTIO_IPTABLES_FLAGS}.
 */
export interface CaptureConfig {
  /** `-p/--envoy-port`: where outbound TCP is redirected (15001). */
  readonly proxyPort: string;
  /** `-z/--inbound-capture-port`: where inbound TCP is redirected (15006). */
  readonly inboundCapturePort: string;
  /** `-e/--inbound-tunnel-port`: the HBONE tunnel port never captured inbound (15008). */
  readonly inboundTunnelPort: string;
  /** `-u/--proxy-uid`: comma list of UIDs whose traffic is not captured (1337). */
  readonly proxyUid: string;
  /** `-g/--proxy-gid`: comma list of GIDs whose traffic is not captured (defaults to the UIDs). */
  readonly proxyGid: string;
  /** `-m`: `REDIRECT` (also when empty) or `TPROXY`. */
  readonly inboundInterceptionMode: string;
  /** `-t`: the packet mark TPROXY mode sets (1337). */
  readonly inboundTProxyMark: string;
  /** `-r`: the routing table TPROXY mode uses for marked packets (133). */
  readonly inboundTProxyRouteTable: string;
  /** `-b`: inbound ports to capture, `*` for all, empty for none. */
  readonly inboundPortsInclude: string;
  /** `-d`: inbound ports not captured when `-b` is `*`. */
  readonly inboundPortsExclude: string;
  /** `ISTIO_OUTBOUND_OWNER_GROUPS`: groups whose outbound traffic is captured (`*`). */
  readonly ownerGroupsInclude: string;
  /** `ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE`: groups not captured when the include list is `*`. */
  readonly ownerGroupsExclude: string;
  /** `-q`: outbound ports always captured. */
  readonly outboundPortsInclude: string;
  /** `-o`: outbound ports never captured. */
  readonly outboundPortsExclude: string;
  /** `-i`: outbound CIDRs captured, `*` for all, empty for none. */
  readonly outboundIpRangesInclude: string;
  /** `-x`: outbound CIDRs never captured. */
  readonly outboundIpRangesExclude: string;
  /** `-k`: virtual interfaces whose inbound traffic is treated as outbound. */
  readonly kubeVirtInterfaces: string;
  /** `-c`: interfaces neither inbound nor outbound traffic of is captured. */
  readonly excludeInterfaces: string;
  /** `--redirect-dns`: capture DNS to the agent on 15053. */
  readonly redirectDns: boolean;
  /** `--capture-all-dns`: capture all port-53 traffic, not just to the DNS servers. */
  readonly captureAllDns: boolean;
  /** `--drop-invalid`: drop conntrack-INVALID packets instead of resetting. */
  readonly dropInvalid: boolean;
  /** Also write IPv6 rules (upstream detects this from the pod's address; knet: `--enable-ipv6`). */
  readonly enableIpv6: boolean;
  /** IPv4 DNS servers (upstream reads /etc/resolv.conf; knet: `--dns-servers`). */
  readonly dnsServersV4: readonly string[];
  /** IPv6 DNS servers (upstream reads /etc/resolv.conf; knet: `--dns-servers`). */
  readonly dnsServersV6: readonly string[];
  /** `ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR`: loopback range meant for the app (127.0.0.1/32). */
  readonly hostIpv4LoopbackCidr: string;
}

/** Upstream's defaults (`config.DefaultConfig` plus what `FillConfigFromEnvironment` fills in). */
export const DEFAULT_CAPTURE_CONFIG: CaptureConfig = Object.freeze({
  proxyPort: "15001",
  inboundCapturePort: "15006",
  inboundTunnelPort: "15008",
  proxyUid: "1337",
  proxyGid: "",
  inboundInterceptionMode: "",
  inboundTProxyMark: "1337",
  inboundTProxyRouteTable: "133",
  inboundPortsInclude: "",
  inboundPortsExclude: "",
  ownerGroupsInclude: "*",
  ownerGroupsExclude: "",
  outboundPortsInclude: "",
  outboundPortsExclude: "",
  outboundIpRangesInclude: "",
  outboundIpRangesExclude: "",
  kubeVirtInterfaces: "",
  excludeInterfaces: "",
  redirectDns: false,
  captureAllDns: false,
  dropInvalid: false,
  enableIpv6: false,
  dnsServersV4: Object.freeze([]) as readonly string[],
  dnsServersV6: Object.freeze([]) as readonly string[],
  hostIpv4LoopbackCidr: "127.0.0.1/32",
});

/** The agent's DNS listener (`IstioAgentDNSListenerPort`). */
export const AGENT_DNS_PORT = "15053";
/** The mark TPROXY mode puts on the proxy's own packets to the app (`OutboundMark`). */
export const OUTBOUND_MARK = "1338";

/** Upstream's limit on `ISTIO_OUTBOUND_OWNER_GROUPS` entries (one rule holds them all). */
const MAX_OWNER_GROUPS_INCLUDE = 64;

/** Split a comma list as upstream's `config.Split` does: empty items dropped. */
export function splitList(s: string): string[] {
  return s === "" ? [] : s.split(",").filter((x) => x !== "");
}

/** One family's part of an outbound CIDR list (upstream `NetworkRange`). */
export interface NetworkRange {
  /** The list was `*`. */
  readonly isWildcard: boolean;
  /** The CIDRs, formatted as Go's `netip.Prefix.String()` (address kept as given, not masked). */
  readonly cidrs: readonly string[];
  /** Some CIDR's address is a loopback address. */
  readonly hasLoopback: boolean;
}

/** Go's `netip.Addr.IsLoopback`: 127.0.0.0/8, `::1`, and 127/8 mapped into IPv6. */
function isLoopback(a: Addr): boolean {
  const v = a.toBigInt();
  if (a.family === 4) return v >> 24n === 127n;
  return v === 1n || (v >> 32n === 0xffffn && ((v >> 24n) & 0xffn) === 127n);
}

/** Upstream `config.SeparateV4V6`: split a CIDR list (or `*`) by family. */
export function separateV4V6(field: string, list: string): { v4: NetworkRange; v6: NetworkRange } {
  if (list === "*") {
    const all = { isWildcard: true, cidrs: [], hasLoopback: false };
    return { v4: all, v6: all };
  }
  const v4: string[] = [];
  const v6: string[] = [];
  let lo4 = false;
  let lo6 = false;
  for (const item of splitList(list)) {
    let addr: Addr;
    let bits: string;
    try {
      Prefix.parse(item, { mask: true });
      const slash = item.indexOf("/");
      addr = Addr.parse(item.slice(0, slash));
      bits = item.slice(slash + 1);
    } catch (e) {
      if (e instanceof AddrError) {
        throw new MeshError(
          field,
          `${JSON.stringify(item)} is not a CIDR (${e.reason}); write e.g. 10.0.0.0/8 or fd00::/8`,
        );
      }
      throw e;
    }
    if (addr.family === 4) {
      v4.push(`${addr}/${bits}`);
      lo4 ||= isLoopback(addr);
    } else {
      v6.push(`${addr}/${bits}`);
      lo6 ||= isLoopback(addr);
    }
  }
  return {
    v4: { isWildcard: false, cidrs: v4, hasLoopback: lo4 },
    v6: { isWildcard: false, cidrs: v6, hasLoopback: lo6 },
  };
}

/** Upstream `config.InterceptFilter`: capture only `values`, or all except `values`. */
export interface InterceptFilter {
  /** The group names or GIDs. */
  readonly values: readonly string[];
  /** True: capture all groups except `values`; false: only `values`. */
  readonly except: boolean;
}

/** Upstream `config.ParseInterceptFilter`. */
export function parseInterceptFilter(include: string, exclude: string): InterceptFilter {
  if (include === "*") return { values: splitList(exclude), except: true };
  return { values: splitList(include), except: false };
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkPort(field: string, v: string, allowZero: boolean): void {
  if (!PORT.test(v) || Number(v) > 65535 || (!allowZero && v === "0")) {
    throw new MeshError(field, `${JSON.stringify(v)} is not a port; use a decimal number 1-65535`);
  }
}

function checkPortList(field: string, v: string, allowStar: boolean): void {
  if (allowStar && v === "*") return;
  for (const p of splitList(v)) {
    if (p === "*") throw new MeshError(field, `"*" must be the whole value, not one item of ${JSON.stringify(v)}`);
    checkPort(field, p, true);
  }
}

function checkNames(field: string, v: string, what: string, maxLen = 64): void {
  for (const n of splitList(v)) {
    if (!NAME.test(n) || n.length > maxLen) {
      throw new MeshError(
        field,
        `${JSON.stringify(n)} is not a valid ${what} (letters, digits, _ . -; at most ${maxLen} characters)`,
      );
    }
  }
}

function checkUint32(field: string, v: string): void {
  if (!/^[0-9]+$/.test(v) || Number(v) > 0xffffffff) {
    throw new MeshError(field, `${JSON.stringify(v)} is not a number; use a decimal number 0-4294967295`);
  }
}

function checkDnsServers(field: string, list: readonly string[], family: 4 | 6): void {
  for (const s of list) {
    let a: Addr;
    try {
      a = Addr.parse(s);
    } catch (e) {
      if (e instanceof AddrError) throw new MeshError(field, `${JSON.stringify(s)} is not an IP address (${e.reason})`);
      throw e;
    }
    if (a.family !== family) {
      throw new MeshError(field, `${s} is an IPv${a.family} address; list it under dnsServersV${a.family}`);
    }
  }
}

/** Upstream `ValidateIPv4LoopbackCidr`. */
function checkLoopbackCidr(field: string, cidr: string): void {
  const slash = cidr.indexOf("/");
  let addr: Addr;
  try {
    Prefix.parse(cidr, { mask: true });
    addr = Addr.parse(cidr.slice(0, slash));
  } catch (e) {
    if (e instanceof AddrError) throw new MeshError(field, `failed to parse CIDR ${cidr}: ${e.reason}`);
    throw e;
  }
  if (addr.family !== 4 || !isLoopback(addr)) {
    throw new MeshError(
      field,
      `expected an IPv4 loopback address in CIDR ${cidr}; found ${addr} (use e.g. 127.0.0.1/32)`,
    );
  }
  const bits = Number(cidr.slice(slash + 1));
  if (bits < 8 || bits > 32)
    throw new MeshError(field, `expected CIDR ${cidr} to have a mask in range [8, 32]; found ${bits}`);
}

/**
 * Fill upstream's defaults into a partial configuration (the proxy GID defaults to
 * the proxy UID, as upstream fills it) and validate every value. Upstream passes
 * most values through to iptables unchecked; here a value the kernel or nft would
 * refuse is an error that names the setting.
 * @throws {@link MeshError} naming the setting and how to fix it.
 */
export function resolveCaptureConfig(input: Partial<CaptureConfig> = {}): CaptureConfig {
  const merged: CaptureConfig = { ...DEFAULT_CAPTURE_CONFIG, ...stripUndefined(input) };
  const cfg: CaptureConfig = {
    ...merged,
    proxyGid: merged.proxyGid === "" ? merged.proxyUid : merged.proxyGid,
  };
  checkPort("proxyPort", cfg.proxyPort, false);
  checkPort("inboundCapturePort", cfg.inboundCapturePort, false);
  checkPort("inboundTunnelPort", cfg.inboundTunnelPort, false);
  checkNames("proxyUid", cfg.proxyUid, "user id or name");
  checkNames("proxyGid", cfg.proxyGid, "group id or name");
  if (!["", "REDIRECT", "TPROXY"].includes(cfg.inboundInterceptionMode)) {
    throw new MeshError(
      "inboundInterceptionMode",
      `${JSON.stringify(cfg.inboundInterceptionMode)} is not an interception mode; use REDIRECT or TPROXY`,
    );
  }
  checkUint32("inboundTProxyMark", cfg.inboundTProxyMark);
  checkUint32("inboundTProxyRouteTable", cfg.inboundTProxyRouteTable);
  checkPortList("inboundPortsInclude", cfg.inboundPortsInclude, true);
  checkPortList("inboundPortsExclude", cfg.inboundPortsExclude, false);
  checkPortList("outboundPortsInclude", cfg.outboundPortsInclude, false);
  checkPortList("outboundPortsExclude", cfg.outboundPortsExclude, false);
  if (cfg.ownerGroupsInclude !== "*") checkNames("ownerGroupsInclude", cfg.ownerGroupsInclude, "group id or name");
  checkNames("ownerGroupsExclude", cfg.ownerGroupsExclude, "group id or name");
  const filter = parseInterceptFilter(cfg.ownerGroupsInclude, cfg.ownerGroupsExclude);
  if (!filter.except && filter.values.length > MAX_OWNER_GROUPS_INCLUDE) {
    throw new MeshError(
      "ownerGroupsInclude",
      `number of owner groups whose outgoing traffic should be redirected to Envoy cannot exceed ${MAX_OWNER_GROUPS_INCLUDE}, got ${filter.values.length}`,
    );
  }
  separateV4V6("outboundIpRangesInclude", cfg.outboundIpRangesInclude);
  if (cfg.outboundIpRangesExclude === "*") {
    throw new MeshError(
      "outboundIpRangesExclude",
      `"*" would exclude everything; list CIDRs, or leave -i empty to capture nothing`,
    );
  }
  separateV4V6("outboundIpRangesExclude", cfg.outboundIpRangesExclude);
  checkNames("kubeVirtInterfaces", cfg.kubeVirtInterfaces, "interface name", 15);
  checkNames("excludeInterfaces", cfg.excludeInterfaces, "interface name", 15);
  checkDnsServers("dnsServersV4", cfg.dnsServersV4, 4);
  checkDnsServers("dnsServersV6", cfg.dnsServersV6, 6);
  checkLoopbackCidr("hostIpv4LoopbackCidr", cfg.hostIpv4LoopbackCidr);
  return cfg;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** True when TPROXY inbound interception is configured. */
export function isTproxy(cfg: CaptureConfig): boolean {
  return cfg.inboundInterceptionMode === "TPROXY";
}

/**
 * Upstream turns DNS redirection off (with a warning) when it is on but neither
 * all DNS is captured nor any DNS server is known.
 */
export function effectiveRedirectDns(cfg: CaptureConfig): boolean {
  return cfg.redirectDns && (cfg.captureAllDns || cfg.dnsServersV4.length > 0 || cfg.dnsServersV6.length > 0);
}
