/**
 * Results of spec 0.1.0 and 0.2.0: at most one IPv4 and one IPv6 address,
 * each with its own routes.
 */
import { compact, fail, ip, ipNet, obj, optStr } from "../internal/check.js";
import { type DNS, parseDns, parseRoutes, type Route } from "./common.js";

/** The versions whose results have this shape. */
export const VERSIONS_020: readonly string[] = ["0.1.0", "0.2.0"];

/** One address of a 0.1.0/0.2.0 result. */
export interface IPConfig020 {
  /** Interface address with prefix (`10.1.0.5/16`). */
  readonly ip: string;
  /** Gateway (optional). */
  readonly gateway?: string;
  /** Routes of this family (`dst` and `gw` only). */
  readonly routes?: readonly Route[];
}

/** A 0.1.0 / 0.2.0 result. */
export interface Result020 {
  /** "0.1.0" or "0.2.0" (0.1.0 results may omit it). */
  readonly cniVersion: string;
  /** The IPv4 address. */
  readonly ip4?: IPConfig020;
  /** The IPv6 address. */
  readonly ip6?: IPConfig020;
  /** DNS settings. */
  readonly dns?: DNS;
}

function parseIp(v: unknown, path: string, code: number, family: 4 | 6): IPConfig020 {
  const o = obj(v, path, code);
  const net = ipNet(o.ip, `${path}.ip`, code);
  if (net.addr.family !== family) fail(code, `${path}.ip`, `must be an IPv${family} address`);
  if (o.gateway !== undefined && o.gateway !== null && o.gateway !== "") ip(o.gateway, `${path}.gateway`, code);
  return compact({
    ip: o.ip as string,
    gateway: o.gateway === "" ? undefined : optStr(o.gateway, `${path}.gateway`, code),
    routes: parseRoutes(o.routes, `${path}.routes`, code)?.map((r) => compact({ dst: r.dst, gw: r.gw })),
  });
}

/** Validate a 0.1.0/0.2.0 result object (`code` = error code for a bad field). */
export function parseResult020(o: Record<string, unknown>, version: string, code: number): Result020 {
  return compact({
    cniVersion: version,
    ip4: o.ip4 === undefined || o.ip4 === null ? undefined : parseIp(o.ip4, "ip4", code, 4),
    ip6: o.ip6 === undefined || o.ip6 === null ? undefined : parseIp(o.ip6, "ip6", code, 6),
    dns: o.dns === undefined || o.dns === null ? undefined : parseDns(o.dns, "dns", code),
  });
}
