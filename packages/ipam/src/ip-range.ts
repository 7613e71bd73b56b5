/**
 * host-local's ranges and range sets: a range is a subnet with an inclusive
 * `rangeStart..rangeEnd` window and a gateway; a range set is a pool of
 * disjoint ranges of one family, from which one address is allocated per ADD.
 */
import { Addr, Prefix } from "@knet/netstack";
import { IpamError } from "./errors.js";

/** A range as written in a network config (`ipam.ranges[i][j]`). */
export interface RangeConfig {
  /** CIDR; host bits must be zero. */
  readonly subnet: string;
  /** First allocatable address (inclusive). Default: network + 1. */
  readonly rangeStart?: string;
  /** Last allocatable address (inclusive). Default: broadcast - 1 (IPv4) or the last address (IPv6). */
  readonly rangeEnd?: string;
  /** Gateway, skipped by allocation and reported in results. Default: network + 1. */
  readonly gateway?: string;
}

/** A validated range with every default filled in. */
export interface IpRange {
  /** The subnet; its mask is the one results carry. */
  readonly subnet: Prefix;
  /** First allocatable address (inclusive). */
  readonly rangeStart: Addr;
  /** Last allocatable address (inclusive). */
  readonly rangeEnd: Addr;
  /** The gateway (may lie outside the subnet, as host-local accepts that). */
  readonly gateway: Addr;
}

/** A pool of disjoint ranges of one family. */
export type RangeSet = readonly IpRange[];

/** Parse an IP the way Go's `net.ParseIP` + host-local's canonicalisation do (IPv4-mapped becomes IPv4). */
export function parseIp(text: string): Addr | undefined {
  if (typeof text !== "string") return undefined;
  try {
    return Addr.parse(text).unmap();
  } catch {
    return undefined;
  }
}

/** Parse `ip` or `ip/len` (the CNI `ips` convention); the prefix length is validated and dropped. */
export function parseIpMaybePrefix(text: string): Addr | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return parseIp(text);
  const c = parseCidr(text);
  return c?.addr.unmap();
}

/** Go `net.ParseCIDR` keeping the host bits: the address as written and the prefix length. */
export function parseCidr(text: string): { addr: Addr; length: number } | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  let addr: Addr;
  try {
    addr = Addr.parse(text.slice(0, slash));
  } catch {
    return undefined;
  }
  const length = Number(lenText);
  if (length > addr.bits) return undefined;
  return { addr, length };
}

function ipField(value: unknown): Addr | undefined {
  if (value === undefined || value === null) return undefined;
  const a = typeof value === "string" ? parseIp(value) : undefined;
  if (!a) throw new IpamError(`invalid IP address: ${String(value)}`);
  return a;
}

/** True when `addr` is in `r`'s subnet and inside its start/end window. */
export function rangeContains(r: IpRange, addr: Addr): boolean {
  return r.subnet.contains(addr) && addr.compare(r.rangeStart) >= 0 && addr.compare(r.rangeEnd) <= 0;
}

/** host-local's overlap test: either range contains an end point of the other. */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return (
    rangeContains(a, b.rangeStart) ||
    rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) ||
    rangeContains(b, a.rangeEnd)
  );
}

/** `start-end`, as host-local prints a range. */
export function rangeToString(r: IpRange): string {
  return `${r.rangeStart}-${r.rangeEnd}`;
}

/** `start-end,start-end`, as host-local prints a range set. */
export function rangeSetToString(s: RangeSet): string {
  return s.map(rangeToString).join(",");
}

/** The range of `s` that holds `addr`, if any. */
export function rangeFor(s: RangeSet, addr: Addr): IpRange | undefined {
  for (const r of s) if (rangeContains(r, addr)) return r;
  return undefined;
}

/** True when two range sets share an address. */
export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)));
}

/**
 * Validate one range and fill its defaults, with host-local's checks and texts
 * (`Network … too small to allocate from`, `Network has host bits set…`,
 * `RangeStart … not in network …`).
 * @throws {@link IpamError}
 */
export function canonicalizeRange(cfg: RangeConfig): IpRange {
  if (cfg.subnet === undefined || cfg.subnet === null) throw new IpamError("IP <nil> not v4 nor v6", "subnet");
  const cidr = typeof cfg.subnet === "string" ? parseCidr(cfg.subnet) : undefined;
  if (!cidr) throw new IpamError(`invalid CIDR address: ${String(cfg.subnet)}`, "subnet");
  const addr = cidr.addr.unmap();
  const bits = addr.bits;
  // An IPv4-mapped subnet keeps its 128-bit mask in Go and fails the family check.
  const maskBits = cidr.addr.bits;
  const ones = cidr.length;
  const written = `${cidr.addr.isV4Mapped() ? addr : cidr.addr}/${ones}`;
  if (ones > maskBits - 2) throw new IpamError(`Network ${written} too small to allocate from`, "subnet");
  if (bits !== maskBits) throw new IpamError("IPNet IP and Mask version mismatch", "subnet");
  const subnet = Prefix.of(addr, ones, true);
  if (!subnet.addr.equals(addr)) {
    throw new IpamError(
      `Network has host bits set. For a subnet mask of length ${ones} the network address is ${subnet.addr}`,
      "subnet",
    );
  }
  const gateway = ipField(cfg.gateway) ?? subnet.addr.next();
  const explicitStart = ipField(cfg.rangeStart);
  const explicitEnd = ipField(cfg.rangeEnd);
  // Containment of rangeStart is checked before rangeEnd is defaulted, against the explicit end.
  const inWindow = (a: Addr, start: Addr | undefined, end: Addr | undefined): boolean =>
    subnet.contains(a) && (start === undefined || a.compare(start) >= 0) && (end === undefined || a.compare(end) <= 0);
  let rangeStart: Addr;
  if (explicitStart) {
    if (!inWindow(explicitStart, undefined, explicitEnd)) {
      throw new IpamError(`RangeStart ${explicitStart} not in network ${subnet}`, "rangeStart");
    }
    rangeStart = explicitStart;
  } else {
    rangeStart = subnet.addr.next();
  }
  let rangeEnd: Addr;
  if (explicitEnd) {
    if (!inWindow(explicitEnd, rangeStart, undefined)) {
      throw new IpamError(`RangeEnd ${explicitEnd} not in network ${subnet}`, "rangeEnd");
    }
    rangeEnd = explicitEnd;
  } else {
    rangeEnd = subnet.family === 4 ? subnet.last().prev() : subnet.last();
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/**
 * Validate a range set: non-empty, every range valid, one family, no overlaps.
 * @throws {@link IpamError} with host-local's texts (`empty range set`, `mixed address families`,
 * `subnets A and B overlap`).
 */
export function canonicalizeRangeSet(cfgs: readonly RangeConfig[]): IpRange[] {
  if (!Array.isArray(cfgs) || cfgs.length === 0) throw new IpamError("empty range set");
  const out: IpRange[] = [];
  for (const [i, c] of cfgs.entries()) {
    const r = canonicalizeRange(c ?? ({} as RangeConfig));
    if (i > 0 && out[0]?.rangeStart.family !== r.rangeStart.family) throw new IpamError("mixed address families");
    out.push(r);
  }
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i] as IpRange;
      const b = out[j] as IpRange;
      if (rangesOverlap(a, b)) throw new IpamError(`subnets ${rangeToString(a)} and ${rangeToString(b)} overlap`);
    }
  }
  return out;
}
