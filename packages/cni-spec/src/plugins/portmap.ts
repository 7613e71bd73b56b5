/**
 * In-process `portmap` reference plugin on a `@knet/netstack` namespace: for
 * each `runtimeConfig.portMappings` entry it installs a DNAT hook (prerouting
 * and output, destination local or `hostIP`) to the container address from
 * `prevResult`, and, like the reference plugin with `snat` (default true),
 * masquerades hairpin and localhost traffic to it (mark 0x2000). DEL removes
 * the hooks of the (network, container) pair, as the reference plugin removes
 * its `CNI-DN-<hash>` chain.
 */
import { Addr, type HookFn, HookPriority, type HookRegistration } from "@knet/netstack";
import { CniError, ErrorCode } from "../errors.js";
import type { CmdArgs, Plugin } from "../plugin.js";
import { convertResult, parseResult, type Result } from "../types/convert.js";
import type { Result100 } from "../types/v100.js";

/** One `portMappings` capability entry. */
export interface PortMapping {
  /** Port on the host. */
  readonly hostPort: number;
  /** Port in the container. */
  readonly containerPort: number;
  /** `tcp` (default), `udp` or `sctp`. */
  readonly protocol?: string;
  /** Only this host address (optional). */
  readonly hostIP?: string;
}

/** Where the plugin installs its hooks: the node's (runtime's) namespace. */
export interface PortmapHost {
  /** Register a netfilter hook; returns its remover (a netstack `NetNamespace` fits). */
  registerHook(reg: HookRegistration): () => void;
}

/** The mark the reference plugin uses for traffic that must be masqueraded. */
export const PORTMAP_MASQ_MARK = 0x2000;

interface Installed {
  readonly mappings: string;
  readonly removers: (() => void)[];
}

function readMappings(config: Readonly<Record<string, unknown>>): PortMapping[] {
  const rc = config.runtimeConfig as Record<string, unknown> | undefined;
  const raw = rc?.portMappings;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "runtimeConfig.portMappings: must be an array",
      "",
      "runtimeConfig.portMappings",
    );
  }
  return raw.map((m: unknown, i) => {
    const field = `runtimeConfig.portMappings[${i}]`;
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    const port = (v: unknown, what: string): number => {
      if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > 65535) {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `Invalid ${what} port number: ${String(v)}`,
          "",
          `${field}.${what}Port`,
        );
      }
      return v;
    };
    const protocol = (typeof o.protocol === "string" && o.protocol !== "" ? o.protocol : "tcp").toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp") {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `unknown protocol ${JSON.stringify(o.protocol)}`,
        "",
        `${field}.protocol`,
      );
    }
    const out: PortMapping = {
      hostPort: port(o.hostPort, "host"),
      containerPort: port(o.containerPort, "container"),
      protocol,
    };
    if (typeof o.hostIP === "string" && o.hostIP !== "") {
      if (!Addr.isValid(o.hostIP)) {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `Invalid host IP ${JSON.stringify(o.hostIP)}`,
          "",
          `${field}.hostIP`,
        );
      }
      return { ...out, hostIP: o.hostIP };
    }
    return out;
  });
}

/** The first container-side address of each family in a result (host-side interfaces skipped). */
function containerAddrs(r: Result100): { addr: Addr; prefixLen: number }[] {
  const out: { addr: Addr; prefixLen: number }[] = [];
  for (const ip of r.ips ?? []) {
    if (ip.interface !== undefined && !r.interfaces?.[ip.interface]?.sandbox) continue;
    const [a, len] = ip.address.split("/");
    const addr = Addr.parse(a ?? "");
    if (!out.some((x) => x.addr.family === addr.family)) out.push({ addr, prefixLen: Number(len) });
  }
  return out;
}

/** The in-process portmap plugin acting in `host`. */
export function portmapPlugin(host: PortmapHost): Plugin {
  const installed = new Map<string, Installed>();
  const key = (a: CmdArgs): string => `${a.config.name ?? ""}/${a.containerId}`;
  const prev = (a: CmdArgs): Result => {
    if (a.config.prevResult === undefined || a.config.prevResult === null)
      throw new CniError(ErrorCode.Internal, "must be called as chained plugin");
    return parseResult(a.config.prevResult as object, a.cniVersion);
  };
  const snatOn = (a: CmdArgs): boolean => a.config.snat !== false;

  return {
    add(a) {
      const result = prev(a);
      const mappings = readMappings(a.config);
      if (mappings.length === 0) return result;
      const targets = containerAddrs(convertResult<Result100>(result, "1.0.0").result);
      if (targets.length === 0) throw new CniError(ErrorCode.Internal, "no container IP addresses found in prevResult");
      installed.get(key(a))?.removers.forEach((r) => {
        r();
      });
      const removers: (() => void)[] = [];
      for (const t of targets) {
        const mine = mappings.filter((m) => !m.hostIP || Addr.parse(m.hostIP).family === t.addr.family);
        if (mine.length === 0) continue;
        const hostIPs = mine.map((m) => (m.hostIP ? Addr.parse(m.hostIP) : undefined));
        const dnat: HookFn = (p, ctx) => {
          if (ctx.ctState !== "new" || ctx.ctDir !== "original") return "continue";
          for (const [i, m] of mine.entries()) {
            if (p.proto !== m.protocol || p.dport !== m.hostPort) continue;
            const hip = hostIPs[i];
            if (hip ? !p.dst.equals(hip) : !ctx.isLocal(p.dst)) continue;
            const hairpin = t.addr.family === 4 && (p.src.equals(t.addr) || p.src.equals(Addr.parse("127.0.0.1")));
            const hairpin6 = t.addr.family === 6 && (p.src.equals(t.addr) || p.src.equals(Addr.parse("::1")));
            return {
              verdict: "accept",
              rule: `CNI-DN ${key(a)} ${m.protocol} dport ${m.hostPort} -> ${t.addr}:${m.containerPort}`,
              dnat: { addr: t.addr, port: m.containerPort },
              ...(snatOn(a) && (hairpin || hairpin6) ? { mark: p.mark | PORTMAP_MASQ_MARK } : {}),
            };
          }
          return "continue";
        };
        for (const hook of ["prerouting", "output"] as const) {
          removers.push(
            host.registerHook({
              hook,
              priority: HookPriority.dstnat,
              owner: "portmap",
              type: "nat",
              family: t.addr.family,
              fn: dnat,
            }),
          );
        }
        if (snatOn(a)) {
          removers.push(
            host.registerHook({
              hook: "postrouting",
              priority: HookPriority.srcnat,
              owner: "portmap",
              type: "nat",
              family: t.addr.family,
              fn: (p) =>
                (p.mark & PORTMAP_MASQ_MARK) !== 0 && p.dst.equals(t.addr)
                  ? { verdict: "accept", masquerade: true, rule: `CNI-HOSTPORT-MASQ ${key(a)}` }
                  : "continue",
            }),
          );
        }
      }
      installed.set(key(a), { mappings: JSON.stringify(mappings), removers });
      return result;
    },
    del(a) {
      const inst = installed.get(key(a));
      if (!inst) return;
      for (const r of inst.removers) r();
      installed.delete(key(a));
    },
    check(a) {
      prev(a);
      const mappings = readMappings(a.config);
      if (mappings.length === 0) return;
      const inst = installed.get(key(a));
      if (!inst || inst.mappings !== JSON.stringify(mappings)) {
        throw new CniError(ErrorCode.Internal, `could not check dnat: port mappings of ${key(a)} are not installed`);
      }
    },
  };
}
