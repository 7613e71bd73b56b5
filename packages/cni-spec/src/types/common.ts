/**
 * Shapes shared by every result version: DNS settings and routes.
 */
import { arr, cidr, compact, ip, type Json, obj, optInt, optStr, optStrList } from "../internal/check.js";

/** DNS settings of a result (all fields optional). */
export interface DNS {
  /** Name servers, in order of preference. */
  readonly nameservers?: readonly string[];
  /** Local domain. */
  readonly domain?: string;
  /** Search domains. */
  readonly search?: readonly string[];
  /** resolver options. */
  readonly options?: readonly string[];
}

/**
 * A route of a 0.3.0+ result. `dst` is a CIDR; a missing `gw` means "via the
 * gateway of the same family". The fields after `gw` are spec 1.1.0 additions.
 */
export interface Route {
  /** Destination prefix, e.g. `0.0.0.0/0`. */
  readonly dst: string;
  /** Next hop (optional). */
  readonly gw?: string;
  /** Route MTU (1.1.0). */
  readonly mtu?: number;
  /** TCP advertised MSS (1.1.0). */
  readonly advmss?: number;
  /** Route priority / metric (1.1.0). */
  readonly priority?: number;
  /** Routing table id (1.1.0). */
  readonly table?: number;
  /** Route scope as a number (1.1.0). */
  readonly scope?: number;
}

/** Parse a DNS object; `code` is the error code to use. */
export function parseDns(v: unknown, path: string, code: number): DNS {
  const o = obj(v, path, code);
  return compact({
    nameservers: optStrList(o.nameservers, `${path}.nameservers`, code),
    domain: optStr(o.domain, `${path}.domain`, code),
    search: optStrList(o.search, `${path}.search`, code),
    options: optStrList(o.options, `${path}.options`, code),
  });
}

/** True when a DNS object carries nothing. */
export function dnsIsEmpty(d: DNS | undefined): boolean {
  return d === undefined || (!d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length);
}

/** Parse a route list (null or absent gives undefined). */
export function parseRoutes(v: unknown, path: string, code: number): Route[] | undefined {
  if (v === undefined || v === null) return undefined;
  return arr(v, path, code).map((r, i) => parseRoute(r, `${path}[${i}]`, code));
}

/** Parse one route. */
export function parseRoute(v: unknown, path: string, code: number): Route {
  const o: Json = obj(v, path, code);
  cidr(o.dst, `${path}.dst`, code);
  if (o.gw !== undefined && o.gw !== null && o.gw !== "") ip(o.gw, `${path}.gw`, code);
  return compact({
    dst: o.dst as string,
    gw: o.gw === "" ? undefined : optStr(o.gw, `${path}.gw`, code),
    mtu: optInt(o.mtu, `${path}.mtu`, code),
    advmss: optInt(o.advmss, `${path}.advmss`, code),
    priority: optInt(o.priority, `${path}.priority`, code),
    table: optInt(o.table, `${path}.table`, code),
    scope: optInt(o.scope, `${path}.scope`, code),
  });
}
