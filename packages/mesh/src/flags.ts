import { Addr, AddrError } from "@knet/netstack";
import type { CaptureConfig } from "./config.js";
import { MeshError } from "./errors.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One istio-iptables flag: its names, the environment variables that set it, and the field it fills. */
export interface IstioFlag {
  /** Long name, without `--`. */
  readonly name: string;
  /** One-letter shorthand, if any. */
  readonly short?: string;
  /** Environment variables read as the flag's default (upstream `flag.BindEnv` / `AdditionalEnv`), in order of precedence. */
  readonly env: readonly string[];
  /** The {@link CaptureConfig} field it sets. */
  readonly field: keyof CaptureConfig;
  /** A switch (`--x`, `--x=false`) rather than a value. */
  readonly bool?: boolean;
  /** One line of help. */
  readonly help: string;
}

/**
 * The flags of `istio-iptables` that decide the rules (upstream `pkg/cmd/root.go`),
 * with their shorthands and environment variables, plus the two knet adds for what
 * upstream detects on the host: `--enable-ipv6` (upstream: the pod has an IPv6
 * address) and `--dns-servers` (upstream: /etc/resolv.conf).
 */
export const ISTIO_IPTABLES_FLAGS: readonly IstioFlag[] = [
  { name: "envoy-port", short: "p", env: [], field: "proxyPort", help: "port outbound TCP is redirected to (15001)" },
  {
    name: "inbound-capture-port",
    short: "z",
    env: ["INBOUND_CAPTURE_PORT"],
    field: "inboundCapturePort",
    help: "port inbound TCP is redirected to (15006)",
  },
  {
    name: "inbound-tunnel-port",
    short: "e",
    env: ["INBOUND_TUNNEL_PORT"],
    field: "inboundTunnelPort",
    help: "istio tunnel port, never captured inbound (15008)",
  },
  {
    name: "proxy-uid",
    short: "u",
    env: ["PROXY_UID"],
    field: "proxyUid",
    help: "UIDs whose traffic is not redirected (1337)",
  },
  {
    name: "proxy-gid",
    short: "g",
    env: ["PROXY_GID"],
    field: "proxyGid",
    help: "GIDs whose traffic is not redirected (as -u)",
  },
  {
    name: "istio-inbound-interception-mode",
    short: "m",
    env: ["ISTIO_INBOUND_INTERCEPTION_MODE"],
    field: "inboundInterceptionMode",
    help: "REDIRECT or TPROXY",
  },
  {
    name: "istio-inbound-ports",
    short: "b",
    env: ["ISTIO_INBOUND_PORTS"],
    field: "inboundPortsInclude",
    help: "inbound ports to capture, * for all, empty for none",
  },
  {
    name: "istio-local-exclude-ports",
    short: "d",
    env: ["ISTIO_LOCAL_EXCLUDE_PORTS"],
    field: "inboundPortsExclude",
    help: "inbound ports not captured when -b is *",
  },
  {
    name: "istio-exclude-interfaces",
    short: "c",
    env: ["ISTIO_EXCLUDE_INTERFACES"],
    field: "excludeInterfaces",
    help: "interfaces never captured",
  },
  {
    name: "istio-service-cidr",
    short: "i",
    env: ["ISTIO_SERVICE_CIDR"],
    field: "outboundIpRangesInclude",
    help: "outbound CIDRs to capture, * for all",
  },
  {
    name: "istio-service-exclude-cidr",
    short: "x",
    env: ["ISTIO_SERVICE_EXCLUDE_CIDR"],
    field: "outboundIpRangesExclude",
    help: "outbound CIDRs never captured",
  },
  {
    name: "istio-outbound-ports",
    short: "q",
    env: ["ISTIO_OUTBOUND_PORTS"],
    field: "outboundPortsInclude",
    help: "outbound ports always captured",
  },
  {
    name: "istio-local-outbound-ports-exclude",
    short: "o",
    env: ["ISTIO_LOCAL_OUTBOUND_PORTS_EXCLUDE"],
    field: "outboundPortsExclude",
    help: "outbound ports never captured",
  },
  {
    name: "kube-virt-interfaces",
    short: "k",
    env: ["KUBE_VIRT_INTERFACES"],
    field: "kubeVirtInterfaces",
    help: "virtual interfaces whose inbound traffic is treated as outbound",
  },
  {
    name: "istio-inbound-tproxy-mark",
    short: "t",
    env: ["ISTIO_INBOUND_TPROXY_MARK"],
    field: "inboundTProxyMark",
    help: "TPROXY packet mark (1337)",
  },
  {
    name: "istio-inbound-tproxy-route-table",
    short: "r",
    env: ["ISTIO_INBOUND_TPROXY_ROUTE_TABLE"],
    field: "inboundTProxyRouteTable",
    help: "TPROXY route table (133)",
  },
  {
    name: "redirect-dns",
    env: ["REDIRECT_DNS", "ISTIO_META_DNS_CAPTURE"],
    field: "redirectDns",
    bool: true,
    help: "capture DNS to the agent on 15053",
  },
  {
    name: "capture-all-dns",
    env: ["CAPTURE_ALL_DNS"],
    field: "captureAllDns",
    bool: true,
    help: "capture all port-53 traffic, not only to the DNS servers",
  },
  {
    name: "drop-invalid",
    env: ["DROP_INVALID", "INVALID_DROP"],
    field: "dropInvalid",
    bool: true,
    help: "drop conntrack-INVALID packets",
  },
  {
    name: "enable-ipv6",
    env: [],
    field: "enableIpv6",
    bool: true,
    help: "also write IPv6 rules (upstream: detected from the pod's address)",
  },
  {
    name: "dns-servers",
    env: [],
    field: "dnsServersV4",
    help: "DNS servers, comma separated (upstream: /etc/resolv.conf)",
  },
];

/** Environment-only settings (upstream: no flag), read as upstream reads them. */
export const ISTIO_IPTABLES_ENV: Readonly<Record<string, keyof CaptureConfig>> = {
  ISTIO_OUTBOUND_OWNER_GROUPS: "ownerGroupsInclude",
  ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: "ownerGroupsExclude",
  ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: "hostIpv4LoopbackCidr",
};

/**
 * Upstream flags that change how istio-iptables runs, not which rules it writes
 * (knet always prints a fresh run's rules and changes nothing): accepted and ignored.
 */
const OPERATIONAL = new Set([
  "dry-run",
  "iptables-probe-port",
  "probe-timeout",
  "run-validation",
  "network-namespace",
  "cni-mode",
  "reconcile",
  "force-apply",
  "force-iptables-binary",
  "dual-stack",
  "log_output_level",
  "log_as_json",
]);
const OPERATIONAL_BOOL = new Set([
  "dry-run",
  "run-validation",
  "cni-mode",
  "reconcile",
  "force-apply",
  "dual-stack",
  "log_as_json",
]);

/** Upstream flags whose output knet does not produce: refused with the reason. */
const REFUSED: Readonly<Record<string, string>> = {
  "cleanup-only": "knet prints the rules a run writes; a cleanup-only run writes none",
  "skip-rule-apply": "knet prints the rules a run writes; with --skip-rule-apply upstream writes none",
};

/** Go's `strconv.ParseBool`. */
function parseBool(field: string, v: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw new MeshError(field, `${JSON.stringify(v)} is not a boolean; use true or false`);
}

/** Split a DNS server list by family, formatting each address as Go's `netip.Addr.String()`. */
function splitDnsServers(field: string, list: string): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const s of list.split(/[,\s]+/).filter((x) => x !== "")) {
    let a: Addr;
    try {
      a = Addr.parse(s);
    } catch (e) {
      if (e instanceof AddrError) throw new MeshError(field, `${JSON.stringify(s)} is not an IP address (${e.reason})`);
      throw e;
    }
    (a.family === 4 ? v4 : v6).push(a.toString());
  }
  return { v4, v6 };
}

/** The result of {@link parseIstioIptablesArgs}. */
export interface ParsedCaptureArgs {
  /** The configuration the flags and environment give (undefined fields: upstream's defaults). */
  readonly config: Partial<CaptureConfig>;
  /** `--native-nftables` was given (istio-iptables then writes nftables). */
  readonly nativeNftables: boolean;
  /** Arguments that are not istio-iptables flags, in order (for the caller to interpret or refuse). */
  readonly rest: readonly string[];
}

/**
 * Read istio-iptables' command line and environment as upstream does: each flag's
 * environment variables give its default, the flag overrides it; `-x v`, `-x=v`,
 * `-xv`, `--name v`, `--name=v`; switches take `--name` or `--name=BOOL`.
 * @param env the environment (pass `process.env` for the real one).
 * @throws {@link MeshError} naming the flag for a missing or bad value.
 */
export function parseIstioIptablesArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedCaptureArgs {
  const cfg: Partial<Mutable<CaptureConfig>> = {};
  const set = (flag: IstioFlag, raw: string, source: string): void => {
    if (flag.name === "dns-servers") {
      const { v4, v6 } = splitDnsServers(source, raw);
      cfg.dnsServersV4 = v4;
      cfg.dnsServersV6 = v6;
    } else if (flag.bool === true) {
      (cfg as Record<string, unknown>)[flag.field] = parseBool(source, raw);
    } else {
      (cfg as Record<string, unknown>)[flag.field] = raw;
    }
  };
  for (const [name, field] of Object.entries(ISTIO_IPTABLES_ENV)) {
    const v = env[name];
    if (v !== undefined) (cfg as Record<string, unknown>)[field] = v;
  }
  for (const flag of ISTIO_IPTABLES_FLAGS) {
    for (const name of [...flag.env].reverse()) {
      const v = env[name];
      if (v !== undefined) set(flag, v, name);
    }
  }
  let nativeNftables = env.NATIVE_NFTABLES !== undefined ? parseBool("NATIVE_NFTABLES", env.NATIVE_NFTABLES) : false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    let name: string;
    let inline: string | undefined;
    let flag: IstioFlag | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      flag = ISTIO_IPTABLES_FLAGS.find((f) => f.name === name);
    } else if (/^-[A-Za-z]/.test(arg)) {
      const short = arg.slice(1, 2);
      flag = ISTIO_IPTABLES_FLAGS.find((f) => f.short === short);
      if (short === "n") {
        name = "dry-run";
      } else if (flag === undefined) {
        rest.push(arg);
        continue;
      } else {
        name = flag.name;
      }
      const tail = arg.slice(2);
      inline = tail === "" ? undefined : tail.startsWith("=") ? tail.slice(1) : tail;
    } else {
      rest.push(arg);
      continue;
    }
    const shown = `--${name}`;
    if (name in REFUSED) throw new MeshError(shown, `not supported: ${REFUSED[name]}`);
    if (name === "native-nftables") {
      nativeNftables = inline === undefined ? true : parseBool(shown, inline);
      continue;
    }
    if (OPERATIONAL.has(name)) {
      if (!OPERATIONAL_BOOL.has(name) && inline === undefined) i++;
      continue;
    }
    if (flag === undefined) {
      rest.push(arg);
      continue;
    }
    if (flag.bool === true) {
      set(flag, inline ?? "true", shown);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new MeshError(shown, "needs a value");
      value = next;
      i++;
    }
    set(flag, value, shown);
  }
  return { config: cfg, nativeNftables, rest };
}
