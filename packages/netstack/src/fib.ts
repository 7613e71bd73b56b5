import type { Addr } from "./addr.js";
import type { Prefix } from "./prefix.js";
import { PrefixTable } from "./prefix-table.js";

/** Route types the dataplane knows (`ip route add TYPE …`). */
export type RouteType = "unicast" | "local" | "broadcast" | "blackhole" | "unreachable" | "prohibit";

/** Route scope: `host` (this machine), `link` (directly attached), `global` (via a gateway). */
export type RouteScope = "host" | "link" | "global";

/** Routing table of a route: the kernel's `local` (255) and `main` (254). */
export type TableName = "local" | "main";

/** Who added a route (`proto`). */
export type RouteProto = "kernel" | "boot" | "static";

/** One route, as `ip route show` lists it. */
export interface Route {
  /** Table it lives in. */
  readonly table: TableName;
  /** Type. */
  readonly type: RouteType;
  /** Destination prefix. */
  readonly dst: Prefix;
  /** Output device (unicast, local, broadcast). */
  readonly dev: string | undefined;
  /** Gateway. */
  readonly via: Addr | undefined;
  /** Gateway is on the link even if no connected route covers it. */
  readonly onlink: boolean;
  /** Scope. */
  readonly scope: RouteScope;
  /** Metric (priority); lower wins among routes of the same prefix. */
  readonly metric: number;
  /** Preferred source address (`src`). */
  readonly src: Addr | undefined;
  /** Who added it. */
  readonly proto: RouteProto;
}

/**
 * A namespace's forwarding information base: the `local` and `main` tables,
 * each a {@link PrefixTable} of route lists sorted by metric. Lookup follows the
 * default policy rules (`local` first, then `main`) and falls back to shorter
 * prefixes when every route of the longest one is unusable (dead nexthop).
 */
export class Fib {
  private readonly tables: Record<TableName, PrefixTable<Route[]>> = {
    local: new PrefixTable<Route[]>(),
    main: new PrefixTable<Route[]>(),
  };

  /**
   * Add a route. Returns false when a route with the same table, prefix and
   * metric exists (the kernel's "File exists"); validation of gateways is the
   * namespace's job.
   */
  add(route: Route): boolean {
    const t = this.tables[route.table];
    const list = t.get(route.dst);
    if (list) {
      if (list.some((r) => r.metric === route.metric)) return false;
      const next = [...list, route].sort((a, b) => a.metric - b.metric);
      t.insert(route.dst, next);
    } else {
      t.insert(route.dst, [route]);
    }
    return true;
  }

  /** Remove the routes for which `match` is true; returns how many were removed. */
  remove(match: (r: Route) => boolean): number {
    let n = 0;
    for (const name of ["local", "main"] as const) {
      const t = this.tables[name];
      for (const { prefix, value } of [...t.entries()]) {
        const keep = value.filter((r) => !match(r));
        n += value.length - keep.length;
        if (keep.length === 0) t.delete(prefix);
        else if (keep.length !== value.length) t.insert(prefix, keep);
      }
    }
    return n;
  }

  /** Routes of one table (or both), in address order. */
  routes(table?: TableName): Route[] {
    const out: Route[] = [];
    for (const name of table ? [table] : (["local", "main"] as const)) {
      for (const { value } of this.tables[name].entries()) out.push(...value);
    }
    return out;
  }

  /**
   * The route for `dst`: `local` table first, then `main`; in each, the longest
   * prefix that has a route `usable` accepts (lowest metric first).
   */
  lookup(dst: Addr, usable: (r: Route) => boolean = always): Route | undefined {
    return this.lookupIn(this.tables.local, dst, usable) ?? this.lookupIn(this.tables.main, dst, usable);
  }

  private lookupIn(t: PrefixTable<Route[]>, dst: Addr, usable: (r: Route) => boolean): Route | undefined {
    const best = t.lookupEntry(dst);
    if (!best) return undefined;
    for (const r of best.value) if (usable(r)) return r;
    for (const e of t.matches(dst)) {
      if (e === best) continue;
      for (const r of e.value) if (usable(r)) return r;
    }
    return undefined;
  }
}

function always(): boolean {
  return true;
}

const routeText = new WeakMap<Route, string>();

/** `ip route show` text of one route (without the table for `main`). */
export function formatRoute(r: Route): string {
  let text = routeText.get(r);
  if (text === undefined) {
    text = routeToText(r);
    routeText.set(r, text);
  }
  return text;
}

function routeToText(r: Route): string {
  const parts: string[] = [];
  if (r.type !== "unicast") parts.push(r.type);
  const bits = r.dst.addr.bits;
  parts.push(r.dst.length === 0 ? "default" : r.dst.length === bits ? r.dst.addr.toString() : r.dst.toString());
  if (r.table === "local") parts.push("table", "local");
  if (r.via) parts.push("via", r.via.toString());
  if (r.dev) parts.push("dev", r.dev);
  if (r.proto !== "boot") parts.push("proto", r.proto);
  const defaultScope: RouteScope = r.type === "local" ? "host" : r.type === "broadcast" ? "link" : "global";
  if (r.scope !== defaultScope) parts.push("scope", r.scope);
  if (r.src) parts.push("src", r.src.toString());
  if (r.metric !== 0) parts.push("metric", String(r.metric));
  if (r.onlink) parts.push("onlink");
  return parts.join(" ");
}
