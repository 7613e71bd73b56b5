import { ProxyEngineError } from "@knet/kube-proxy";
import type { IpsetLookup, SetPacket } from "@knet/kube-proxy-iptables";
import { type Addr, type Family, ipProtocolName, type Prefix } from "@knet/netstack";

/** The ipset types kube-proxy's IPVS mode uses. */
export type IpsetType = "hash:ip" | "hash:ip,port" | "hash:ip,port,ip" | "hash:ip,port,net" | "bitmap:port";

/** One set kube-proxy creates (`ipsetInfo` of pkg/proxy/ipvs/proxier.go). */
export interface IpsetInfo {
  /** IPv4 name (IPv6 sets are renamed `KUBE-6-…`, see {@link ipsetName}). */
  readonly name: string;
  /** Type. */
  readonly type: IpsetType;
  /** The comment kube-proxy puts on the iptables rules that match the set. */
  readonly comment: string;
}

/** Every set, in kube-proxy's creation order. */
export const IPSETS: readonly IpsetInfo[] = [
  {
    name: "KUBE-LOOP-BACK",
    type: "hash:ip,port,ip",
    comment: "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose",
  },
  {
    name: "KUBE-CLUSTER-IP",
    type: "hash:ip,port",
    comment: "Kubernetes service cluster ip + port for masquerade purpose",
  },
  {
    name: "KUBE-EXTERNAL-IP",
    type: "hash:ip,port",
    comment: "Kubernetes service external ip + port for masquerade and filter purpose",
  },
  {
    name: "KUBE-EXTERNAL-IP-LOCAL",
    type: "hash:ip,port",
    comment: "Kubernetes service external ip + port with externalTrafficPolicy=local",
  },
  { name: "KUBE-LOAD-BALANCER", type: "hash:ip,port", comment: "Kubernetes service lb portal" },
  {
    name: "KUBE-LOAD-BALANCER-FW",
    type: "hash:ip,port",
    comment: "Kubernetes service load balancer ip + port for load balancer with sourceRange",
  },
  {
    name: "KUBE-LOAD-BALANCER-LOCAL",
    type: "hash:ip,port",
    comment: "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
  },
  {
    name: "KUBE-LOAD-BALANCER-SOURCE-IP",
    type: "hash:ip,port,ip",
    comment: "Kubernetes service load balancer ip + port + source IP for packet filter purpose",
  },
  {
    name: "KUBE-LOAD-BALANCER-SOURCE-CIDR",
    type: "hash:ip,port,net",
    comment: "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
  },
  { name: "KUBE-NODE-PORT-TCP", type: "bitmap:port", comment: "Kubernetes nodeport TCP port for masquerade purpose" },
  {
    name: "KUBE-NODE-PORT-LOCAL-TCP",
    type: "bitmap:port",
    comment: "Kubernetes nodeport TCP port with externalTrafficPolicy=local",
  },
  { name: "KUBE-NODE-PORT-UDP", type: "bitmap:port", comment: "Kubernetes nodeport UDP port for masquerade purpose" },
  {
    name: "KUBE-NODE-PORT-LOCAL-UDP",
    type: "bitmap:port",
    comment: "Kubernetes nodeport UDP port with externalTrafficPolicy=local",
  },
  {
    name: "KUBE-NODE-PORT-SCTP-HASH",
    type: "hash:ip,port",
    comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  },
  {
    name: "KUBE-NODE-PORT-LOCAL-SCTP-HASH",
    type: "hash:ip,port",
    comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  },
  { name: "KUBE-HEALTH-CHECK-NODE-PORT", type: "bitmap:port", comment: "Kubernetes health check node port" },
  { name: "KUBE-IPVS-IPS", type: "hash:ip", comment: "Addresses on the ipvs interface" },
];

/**
 * The set's name for a proxier of `family`: IPv6 sets replace the `KUBE-`
 * prefix with `KUBE-6-` and are cut to ipset's 31-character limit
 * (`KUBE-6-NODE-PORT-LOCAL-SCTP-HAS`).
 */
export function ipsetName(name: string, family: Family): string {
  if (family === 4 || !name.startsWith("KUBE-")) return name;
  return `KUBE-6-${name.slice(5)}`.slice(0, 31);
}

/** One entry of a set, as kube-proxy builds it (`utilipset.Entry`). */
export interface IpsetEntry {
  /** First address (absent for bitmap:port). */
  readonly ip?: Addr;
  /** Port (absent for hash:ip). */
  readonly port?: number;
  /** Protocol of the port, for the hash types with a port. */
  readonly protocol?: string;
  /** Second address (hash:ip,port,ip). */
  readonly ip2?: Addr;
  /** Network (hash:ip,port,net). */
  readonly net?: Prefix;
}

/** The entry text as `ipset save` prints it (`10.96.0.10,udp:53`, `30080`, `1.2.3.4,tcp:80,10.0.0.0/8`). */
export function entryText(type: IpsetType, e: IpsetEntry): string {
  const ip = e.ip?.toString() ?? "";
  switch (type) {
    case "hash:ip":
      return ip;
    case "bitmap:port":
      return String(e.port ?? 0);
    case "hash:ip,port":
      return `${ip},${e.protocol}:${e.port}`;
    case "hash:ip,port,ip":
      return `${ip},${e.protocol}:${e.port},${e.ip2?.toString() ?? ""}`;
    case "hash:ip,port,net":
      return `${ip},${e.protocol}:${e.port},${e.net?.toString() ?? ""}`;
  }
}

interface SetData {
  readonly info: IpsetInfo;
  readonly name: string;
  readonly entries: Map<string, IpsetEntry>;
  /** hash:ip,port,net: `ip,proto:port` → networks. */
  readonly nets: Map<string, Prefix[]>;
  /**
   * IPv4 (and bitmap) index by number: the address (hash:ip), the port
   * (bitmap:port), or address * 2^18 + port * 4 + protocol index (the types with
   * a port); a second address or network hangs off the latter.
   */
  readonly num: Map<number, Set<number> | Prefix[] | true>;
}

const PROTO_INDEX: Readonly<Record<string, number>> = { tcp: 0, udp: 1, sctp: 2 };
const PROTO_INDEX_BY_NUMBER: Readonly<Record<number, number>> = { 6: 0, 17: 1, 132: 2 };

/**
 * The contents of kube-proxy's ipsets for one family: entries added during a
 * sync, the `ipset restore` text, and membership tests for the iptables
 * evaluator (`-m set --match-set NAME FLAGS`).
 */
export class IpsetState implements IpsetLookup {
  /** The family of every set. */
  readonly family: Family;
  private readonly sets = new Map<string, SetData>();
  private readonly byInfo = new Map<string, SetData>();
  /**
   * Extra set-like matches the evaluator may consult (names starting with `@`):
   * used for rewritten `-m ipvs` matches, see the engine.
   */
  extra: ((name: string, packet: SetPacket) => boolean | undefined) | undefined;

  constructor(family: Family) {
    this.family = family;
    for (const info of IPSETS) {
      const d: SetData = {
        info,
        name: ipsetName(info.name, family),
        entries: new Map(),
        nets: new Map(),
        num: new Map(),
      };
      this.sets.set(d.name, d);
      this.byInfo.set(info.name, d);
    }
  }

  /** The family-specific name of set `base` (an IPv4 name of {@link IPSETS}). */
  name(base: string): string {
    return (this.byInfo.get(base) as SetData).name;
  }

  /** Add an entry to set `base` (its IPv4 name). Duplicates are ignored. */
  add(base: string, e: IpsetEntry): void {
    const d = this.byInfo.get(base);
    if (!d) throw new ProxyEngineError("ipvs", `unknown ipset ${base}`);
    const text = entryText(d.info.type, e);
    if (d.entries.has(text)) return;
    d.entries.set(text, e);
    if (d.info.type === "hash:ip,port,net" && e.net) {
      const k = `${e.ip?.toString()},${e.protocol}:${e.port}`;
      const list = d.nets.get(k) ?? [];
      list.push(e.net);
      d.nets.set(k, list);
    }
    if (this.family === 4 || d.info.type === "bitmap:port") this.index(d, e);
  }

  private index(d: SetData, e: IpsetEntry): void {
    const type = d.info.type;
    if (type === "hash:ip") d.num.set((e.ip as Addr).w3, true);
    else if (type === "bitmap:port") d.num.set(e.port ?? 0, true);
    else {
      const k = (e.ip as Addr).w3 * 262144 + (e.port ?? 0) * 4 + (PROTO_INDEX[e.protocol ?? ""] ?? 3);
      if (type === "hash:ip,port") d.num.set(k, true);
      else if (type === "hash:ip,port,ip") {
        const set = (d.num.get(k) as Set<number> | undefined) ?? new Set<number>();
        set.add((e.ip2 as Addr).w3);
        d.num.set(k, set);
      } else {
        const list = (d.num.get(k) as Prefix[] | undefined) ?? [];
        list.push(e.net as Prefix);
        d.num.set(k, list);
      }
    }
  }

  /** Whether set `base` has no entries. */
  isEmpty(base: string): boolean {
    return (this.byInfo.get(base) as SetData).entries.size === 0;
  }

  /** Entry texts of set `base`, sorted. */
  entries(base: string): string[] {
    return [...(this.byInfo.get(base) as SetData).entries.keys()].sort();
  }

  /**
   * The `ipset restore` input (the `ipset save` format): every set's `create`
   * line as kube-proxy creates it (`family inet hashsize 1024 maxelem 65536`
   * for hash sets, `range 0-65535` for bitmap:port), then its `add` lines.
   */
  render(): string {
    const out: string[] = [];
    const fam = this.family === 6 ? "inet6" : "inet";
    for (const d of this.sets.values()) {
      const opts = d.info.type === "bitmap:port" ? "range 0-65535" : `family ${fam} hashsize 1024 maxelem 65536`;
      out.push(`create ${d.name} ${d.info.type} ${opts}`);
      for (const t of [...d.entries.keys()].sort()) out.push(`add ${d.name} ${t}`);
    }
    return `${out.join("\n")}\n`;
  }

  /** Membership test for the iptables evaluator. */
  test(name: string, flags: readonly ("src" | "dst")[], p: SetPacket): boolean | undefined {
    if (name.startsWith("@")) return this.extra?.(name, p);
    const d = this.sets.get(name);
    if (!d) return undefined;
    if (d.entries.size === 0) return false;
    const side = (i: number): "src" | "dst" => flags[i] ?? flags[flags.length - 1] ?? "dst";
    const addr = (i: number): Addr => (side(i) === "src" ? p.src : p.dst);
    const port = (i: number): number => (side(i) === "src" ? p.sport : p.dport);
    if (this.family === 4) {
      const w = (i: number): number => (side(i) === "src" ? p.src.w3 : p.dst.w3);
      const type = d.info.type;
      if (type === "hash:ip") return d.num.has(w(0));
      if (type === "bitmap:port") return d.num.has(port(0));
      const pi = PROTO_INDEX_BY_NUMBER[p.proto];
      if (pi === undefined) return false;
      const hit = d.num.get(w(0) * 262144 + port(1) * 4 + pi);
      if (hit === undefined) return false;
      if (type === "hash:ip,port") return true;
      if (type === "hash:ip,port,ip") return (hit as Set<number>).has(w(2));
      const a = addr(2);
      return (hit as Prefix[]).some((n) => n.contains(a));
    }
    const proto = PROTO_INDEX_BY_NUMBER[p.proto] !== undefined ? ipProtocolName(p.proto) : undefined;
    switch (d.info.type) {
      case "hash:ip":
        return d.entries.has(addr(0).toString());
      case "bitmap:port":
        return d.entries.has(String(port(0)));
      case "hash:ip,port":
        return proto !== undefined && d.entries.has(`${addr(0).toString()},${proto}:${port(1)}`);
      case "hash:ip,port,ip":
        return proto !== undefined && d.entries.has(`${addr(0).toString()},${proto}:${port(1)},${addr(2).toString()}`);
      case "hash:ip,port,net": {
        if (proto === undefined) return false;
        const nets = d.nets.get(`${addr(0).toString()},${proto}:${port(1)}`);
        const a = addr(2);
        return nets?.some((n) => n.contains(a)) ?? false;
      }
    }
  }
}
