import { Addr } from "./addr.js";
import { type Clock, Conntrack } from "./conntrack.js";
import { Fib, type Route, type RouteProto, type RouteScope, type RouteType, type TableName } from "./fib.js";
import { type AddrScope, type IfAddr, Link, type LinkKind } from "./link.js";
import { type HookRegistration, HookTable } from "./netfilter.js";
import { formatMac, parseMac } from "./packet.js";
import { Prefix } from "./prefix.js";
import { type SocketHookRegistration, SocketHookTable } from "./socket-hooks.js";
import type { Socket } from "./trace.js";

/** Error from a namespace operation; `code` is the errno the kernel would return. */
export class NetstackError extends Error {
  override readonly name = "NetstackError";
  /** errno name: EEXIST, EINVAL, ENODEV, ENETUNREACH, … */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** What a namespace needs from the dataplane that owns it. */
export interface NamespaceContext {
  /** Clock for conntrack and FDB ageing. */
  readonly clock: Clock;
  /** A fresh, unique MAC address. */
  nextMac(): number;
  /** Called whenever links, addresses or neighbours change (invalidates caches). */
  changed(): void;
}

/** A route to add (`ip route add …`), as data. Text fields are parsed once here. */
export interface RouteSpec {
  /** Destination prefix, or `default`. */
  readonly dst: Prefix | string;
  /** Type; default `unicast`. */
  readonly type?: RouteType;
  /** Output device. Required for unicast routes without `via`. */
  readonly dev?: string;
  /** Gateway. */
  readonly via?: Addr | string;
  /** Accept a gateway not covered by a connected route. */
  readonly onlink?: boolean;
  /** Metric; default 0. */
  readonly metric?: number;
  /** Preferred source. */
  readonly src?: Addr | string;
  /** Scope; default link for device routes, global with a gateway, host for local. */
  readonly scope?: RouteScope;
  /** Table; default `main` (`local` for type local/broadcast added by hand is allowed too). */
  readonly table?: TableName;
}

/** Result of {@link NetNamespace.routeGet}: what `ip route get ADDR` prints. */
export type RouteGet =
  | {
      /** A route was found. */
      readonly kind: "unicast" | "local" | "broadcast";
      /** The destination asked for. */
      readonly dst: Addr;
      /** Output device (`lo` for local). */
      readonly dev: string;
      /** Gateway, when the route has one. */
      readonly via: Addr | undefined;
      /** Source address the kernel would use. */
      readonly src: Addr | undefined;
      /** The route that matched. */
      readonly route: Route;
    }
  | {
      /** Lookup failed. */
      readonly kind: "error";
      /** The destination asked for. */
      readonly dst: Addr;
      /** errno: ENETUNREACH (no route), EHOSTUNREACH (unreachable), EACCES (prohibit), EINVAL (blackhole). */
      readonly errno: "ENETUNREACH" | "EHOSTUNREACH" | "EACCES" | "EINVAL";
      /** The route that matched, if any. */
      readonly route: Route | undefined;
    };

/** Sysctl defaults of a fresh namespace (kernel defaults). Per-device keys use `conf.<dev>`. */
export const SYSCTL_DEFAULTS: Readonly<Record<string, number>> = {
  "net.ipv4.ip_forward": 0,
  "net.ipv6.conf.all.forwarding": 0,
  "net.ipv4.conf.all.rp_filter": 0,
  "net.ipv4.conf.default.rp_filter": 0,
  "net.ipv4.conf.all.route_localnet": 0,
  "net.ipv4.conf.default.route_localnet": 0,
  "net.ipv4.conf.all.accept_local": 0,
  "net.ipv4.conf.default.accept_local": 0,
  "net.bridge.bridge-nf-call-iptables": 1,
  "net.bridge.bridge-nf-call-ip6tables": 1,
};

interface DevConf {
  readonly allRp: number;
  readonly rp: number;
  readonly localnet: boolean;
  readonly acceptLocal: boolean;
}

const PER_DEV = ["rp_filter", "route_localnet", "accept_local"] as const;

const LOOPBACK_V4 = Prefix.parse("127.0.0.0/8");

function scopeOf(a: Addr): AddrScope {
  if (a.family === 4) return LOOPBACK_V4.contains(a) ? "host" : "global";
  if (a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 1) return "host";
  if (a.w0 >>> 22 === 0x3fa) return "link";
  return "global";
}

const SCOPE_RANK: Record<AddrScope, number> = { global: 0, link: 253, host: 254 };

function parseAddr(a: Addr | string): Addr {
  return typeof a === "string" ? Addr.parse(a) : a;
}

/**
 * A simulated network namespace: links, addresses, the FIB (`local` and
 * `main`), static neighbours, sysctls, netfilter hooks, conntrack and
 * listening sockets. Packets move between namespaces through the owning
 * `Dataplane`.
 */
export class NetNamespace {
  /** Name. */
  readonly name: string;
  /** Routing tables. */
  readonly fib = new Fib();
  /** Netfilter hook functions. */
  readonly hooks = new HookTable();
  /** Socket-level hook functions (connect, sendmsg, recvmsg, getpeername) of the namespace's sockets. */
  readonly socketHooks = new SocketHookTable();
  /** Connection tracking table. */
  readonly conntrack: Conntrack;
  /** Listening sockets. */
  readonly sockets: Socket[] = [];
  private readonly linkMap = new Map<string, Link>();
  private readonly sysctls = new Map<string, number>(Object.entries(SYSCTL_DEFAULTS));
  private readonly confCache = new Map<string, DevConf>();
  private readonly written = new Set<string>();
  /** Static neighbours: device -> address key -> MAC. */
  private readonly neigh = new Map<string, Map<number | string, number>>();
  private ifindex = 0;
  private readonly ctx: NamespaceContext;

  /** Created by `Dataplane.addNamespace`. Starts with `lo` up, 127.0.0.1/8 and ::1/128. */
  constructor(name: string, ctx: NamespaceContext) {
    this.name = name;
    this.ctx = ctx;
    this.conntrack = new Conntrack(ctx.clock);
    this.createLink("lo", "loopback", { mtu: 65536, mac: 0 });
    this.addAddress("lo", "127.0.0.1/8");
    this.addAddress("lo", "::1/128");
  }

  // ---- links ---------------------------------------------------------------

  /** The link called `name`. @throws {@link NetstackError} ENODEV when absent. */
  link(name: string): Link {
    const l = this.linkMap.get(name);
    if (!l) throw new NetstackError("ENODEV", `${this.name}: no device ${JSON.stringify(name)}`);
    return l;
  }

  /** The link called `name`, or undefined. */
  findLink(name: string): Link | undefined {
    return this.linkMap.get(name);
  }

  /** All links in ifindex order. */
  links(): Link[] {
    return [...this.linkMap.values()];
  }

  /**
   * Create a link of `kind` (veth ends are made by `Dataplane.addVeth`). Links
   * start up with MTU 1500 (vxlan: 1450 for an IPv4 underlay, 65536 for lo).
   */
  createLink(name: string, kind: LinkKind, opts: { readonly mtu?: number; readonly mac?: number | string } = {}): Link {
    if (name.length === 0 || name.length > 15 || /[\s/:]/.test(name)) {
      throw new NetstackError("EINVAL", `${this.name}: invalid device name ${JSON.stringify(name)} (1-15 characters)`);
    }
    if (this.linkMap.has(name)) throw new NetstackError("EEXIST", `${this.name}: device ${name} exists`);
    const mac =
      opts.mac === undefined ? this.ctx.nextMac() : typeof opts.mac === "string" ? parseMac(opts.mac) : opts.mac;
    const mtu = opts.mtu ?? (kind === "vxlan" ? 1450 : kind === "loopback" ? 65536 : 1500);
    const link = new Link(this.name, name, kind, ++this.ifindex, mac, mtu);
    this.linkMap.set(name, link);
    this.confCache.clear();
    for (const k of PER_DEV) {
      this.sysctls.set(`net.ipv4.conf.${name}.${k}`, this.sysctls.get(`net.ipv4.conf.default.${k}`) ?? 0);
    }
    if (kind === "bridge") link.fdb.set(mac, { port: link, updated: 0, permanent: true });
    this.ctx.changed();
    return link;
  }

  /** Enslave `port` to bridge `bridge` (`ip link set PORT master BRIDGE`). */
  setMaster(port: string, bridge: string): void {
    const p = this.link(port);
    const b = this.link(bridge);
    if (b.kind !== "bridge") throw new NetstackError("EINVAL", `${this.name}: ${bridge} is not a bridge`);
    if (p === b || p.kind === "bridge" || p.kind === "loopback") {
      throw new NetstackError("EINVAL", `${this.name}: ${port} cannot be a bridge port`);
    }
    if (p.master) p.master.ports.splice(p.master.ports.indexOf(p), 1);
    p.master = b;
    b.ports.push(p);
    b.fdb.set(p.mac, { port: p, updated: 0, permanent: true });
    // A bridge port is an L2 device: its addresses' routes would point at a
    // device that does not take IP; the kernel keeps them, so do we.
    this.ctx.changed();
  }

  /**
   * Remove one link from this namespace with everything that refers to it:
   * its routes and addresses, static neighbours, bridge membership and FDB
   * entries. A veth's peer lives on: use `Dataplane.deleteLink`, which removes
   * both ends as the kernel does.
   */
  removeLink(name: string): Link {
    const link = this.link(name);
    if (link.kind === "loopback") throw new NetstackError("EINVAL", `${this.name}: lo cannot be deleted`);
    if (link.master) {
      const b = link.master;
      b.ports.splice(b.ports.indexOf(link), 1);
      for (const [mac, e] of [...b.fdb]) if (e.port === link) b.fdb.delete(mac);
      link.master = undefined;
    }
    for (const p of [...link.ports]) {
      p.master = undefined;
      link.ports.splice(link.ports.indexOf(p), 1);
    }
    this.fib.remove((r) => r.dev === name);
    link.addresses.length = 0;
    this.neigh.delete(name);
    this.linkMap.delete(name);
    for (const k of PER_DEV) this.sysctls.delete(`net.ipv4.conf.${name}.${k}`);
    this.confCache.clear();
    this.ctx.changed();
    return link;
  }

  /**
   * Remove an address (`ip addr del A/LEN dev D`) and the routes the kernel
   * added for it. Removing a primary address also removes the secondaries of
   * its subnet (the kernel default, `promote_secondaries=0`), with the
   * subnet's connected and broadcast routes; routes with a removed `src` go,
   * and when no IPv4 address is left on the device, every IPv4 route through it.
   */
  deleteAddress(dev: string, cidr: string): void {
    const link = this.link(dev);
    const slash = cidr.indexOf("/");
    const addr = Addr.parse(slash < 0 ? cidr : cidr.slice(0, slash));
    const ifa = link.addresses.find((a) => a.addr.equals(addr));
    if (!ifa) throw new NetstackError("EADDRNOTAVAIL", `${this.name}: ${addr} is not on ${dev}`);
    const gone = ifa.secondary
      ? [ifa]
      : link.addresses.filter((a) => a === ifa || (a.secondary && a.prefix.equals(ifa.prefix)));
    for (const g of gone) link.addresses.splice(link.addresses.indexOf(g), 1);
    const last = ifa.prefix.family === 4 && ifa.prefix.length < 31 ? ifa.prefix.last() : undefined;
    this.fib.remove(
      (r) =>
        r.dev === dev &&
        r.proto === "kernel" &&
        ((r.type === "local" && gone.some((g) => r.dst.addr.equals(g.addr))) ||
          (!ifa.secondary && r.type !== "local" && r.dst.equals(ifa.prefix)) ||
          (!ifa.secondary && r.type === "broadcast" && last !== undefined && r.dst.addr.equals(last))),
    );
    // Routes that named a removed address as their source go (fib_sync_down_addr); when the
    // device has no IPv4 address left, every IPv4 route through it goes (fib_disable_ip).
    this.fib.remove((r) => r.src !== undefined && gone.some((g) => g.addr.equals(r.src as Addr)));
    if (addr.family === 4 && !link.addresses.some((a) => a.addr.family === 4)) {
      this.fib.remove((r) => r.dev === dev && r.dst.family === 4);
    }
    this.ctx.changed();
  }

  /** Set a link up or down (routes through a down link are skipped, as dead nexthops are). */
  setUp(name: string, up: boolean): void {
    this.link(name).up = up;
    this.ctx.changed();
  }

  /** Set a link's MTU. */
  setMtu(name: string, mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68) throw new NetstackError("EINVAL", `${this.name}: MTU ${mtu} below 68`);
    this.link(name).mtu = mtu;
  }

  /** Set hairpin mode on a bridge port. */
  setHairpin(port: string, on: boolean): void {
    const p = this.link(port);
    if (!p.master) throw new NetstackError("EINVAL", `${this.name}: ${port} is not a bridge port`);
    p.hairpin = on;
  }

  /**
   * Add `A/LEN` to a link. Adds what the kernel adds: `local A` (and the
   * subnet's `broadcast` address for IPv4 shorter than /31) in table local,
   * and the connected route `NET/LEN dev D proto kernel scope link src A` in main.
   */
  addAddress(dev: string, cidr: string): IfAddr {
    const link = this.link(dev);
    const slash = cidr.indexOf("/");
    if (slash < 0) throw new NetstackError("EINVAL", `${this.name}: address ${cidr} needs /LEN`);
    const addr = Addr.parse(cidr.slice(0, slash));
    const prefix = Prefix.parse(cidr, { mask: true });
    if (link.addresses.some((a) => a.addr.equals(addr))) {
      throw new NetstackError("EEXIST", `${this.name}: ${addr} already on ${dev}`);
    }
    const primary = link.addresses.find((a) => !a.secondary && a.prefix.equals(prefix));
    const secondary = primary !== undefined;
    const ifa: IfAddr = { addr, prefix, scope: scopeOf(addr), secondary };
    link.addresses.push(ifa);
    const base = { via: undefined, onlink: false, metric: 0, proto: "kernel" as RouteProto };
    if (addr.family === 4) {
      // A secondary's local route names the primary as source, as the kernel's does.
      const src = primary?.addr ?? addr;
      this.fib.add({ ...base, table: "local", type: "local", dst: Prefix.host(addr), dev, scope: "host", src });
      if (prefix.length < 31) {
        const bcast = prefix.last();
        if (!this.fib.routes("local").some((r) => r.type === "broadcast" && r.dst.addr.equals(bcast))) {
          this.fib.add({
            ...base,
            table: "local",
            type: "broadcast",
            dst: Prefix.host(bcast),
            dev,
            scope: "link",
            src: addr,
          });
        }
      }
      if (!secondary && prefix.length < 32) {
        const type = dev === "lo" ? "local" : "unicast";
        const table = dev === "lo" ? "local" : "main";
        this.fib.add({ ...base, table, type, dst: prefix, dev, scope: dev === "lo" ? "host" : "link", src: addr });
      }
    } else {
      this.fib.add({
        ...base,
        table: "local",
        type: "local",
        dst: Prefix.host(addr),
        dev,
        scope: "host",
        src: undefined,
      });
      if (prefix.length < 128) {
        this.fib.add({
          ...base,
          table: "main",
          type: "unicast",
          dst: prefix,
          dev,
          scope: "link",
          src: undefined,
          metric: 256,
        });
      }
    }
    this.ctx.changed();
    return ifa;
  }

  /** All addresses of all links. */
  addresses(): { readonly dev: string; readonly ifa: IfAddr }[] {
    const out: { dev: string; ifa: IfAddr }[] = [];
    for (const l of this.linkMap.values()) for (const ifa of l.addresses) out.push({ dev: l.name, ifa });
    return out;
  }

  /** {@link NetNamespace.isLocal} bound to this namespace (handed to hook functions). */
  readonly isLocalFn = (addr: Addr): boolean => this.isLocal(addr);

  /** True when `addr` is a local address of this namespace (a `local` route covers it). */
  isLocal(addr: Addr): boolean {
    const r = this.fib.lookup(addr);
    return r !== undefined && r.type === "local" && r.table === "local";
  }

  /** True when `addr` is assigned to one of this namespace's links. */
  hasAddress(addr: Addr): boolean {
    for (const l of this.linkMap.values()) for (const a of l.addresses) if (a.addr.equals(addr)) return true;
    return false;
  }

  // ---- routes --------------------------------------------------------------

  /**
   * Add a route, validated as the kernel does: a gateway must be covered by a
   * link-scope route (on `dev` when given) unless `onlink`; the same prefix and
   * metric cannot be added twice.
   * @throws {@link NetstackError} EINVAL (bad gateway, missing dev), ENODEV, EEXIST.
   */
  addRoute(spec: RouteSpec): Route {
    const dst =
      typeof spec.dst === "string"
        ? spec.dst === "default"
          ? Prefix.parse(spec.via !== undefined && parseAddr(spec.via).family === 6 ? "::/0" : "0.0.0.0/0")
          : Prefix.parse(spec.dst)
        : spec.dst;
    const type = spec.type ?? "unicast";
    const via = spec.via === undefined ? undefined : parseAddr(spec.via);
    const src = spec.src === undefined ? undefined : parseAddr(spec.src);
    let dev = spec.dev;
    if (dev !== undefined) this.link(dev);
    if (via && via.family !== dst.family)
      throw new NetstackError("EINVAL", `${this.name}: gateway ${via} family differs`);
    if (type === "unicast" || type === "local" || type === "broadcast") {
      if (via && !spec.onlink) {
        const gw = this.fib.lookup(via, (r) => r.scope !== "global" && this.routeAlive(r));
        if (gw?.type !== "unicast" || gw.via !== undefined || (dev !== undefined && gw.dev !== dev)) {
          throw new NetstackError("EINVAL", `${this.name}: Nexthop has invalid gateway ${via}`);
        }
        dev ??= gw.dev;
      }
      if (via && spec.onlink && dev === undefined) {
        throw new NetstackError("EINVAL", `${this.name}: onlink needs a device`);
      }
      if (dev === undefined) throw new NetstackError("ENODEV", `${this.name}: route ${dst} needs dev or via`);
    } else {
      dev = undefined;
    }
    if (src && !this.hasAddress(src)) {
      throw new NetstackError("EINVAL", `${this.name}: Invalid prefsrc address ${src}`);
    }
    const scope: RouteScope =
      spec.scope ??
      (type === "local"
        ? "host"
        : type === "broadcast"
          ? "link"
          : via
            ? "global"
            : type === "unicast"
              ? "link"
              : "global");
    const route: Route = {
      table: spec.table ?? (type === "local" || type === "broadcast" ? "local" : "main"),
      type,
      dst,
      dev,
      via,
      onlink: spec.onlink ?? false,
      scope,
      metric: spec.metric ?? (dst.family === 6 ? 1024 : 0),
      src,
      proto: "boot",
    };
    if (!this.fib.add(route))
      throw new NetstackError("EEXIST", `${this.name}: route ${dst} metric ${route.metric} exists`);
    this.ctx.changed();
    return route;
  }

  /** Delete routes to `dst` (all metrics, or the one given); returns how many went. */
  deleteRoute(dst: Prefix | string, metric?: number): number {
    const p = typeof dst === "string" ? (dst === "default" ? Prefix.parse("0.0.0.0/0") : Prefix.parse(dst)) : dst;
    const n = this.fib.remove(
      (r) => r.table === "main" && r.dst.equals(p) && (metric === undefined || r.metric === metric),
    );
    this.ctx.changed();
    return n;
  }

  /**
   * A route whose device is missing or down is dead (skipped by lookups),
   * except the `local` routes of addresses: an address on a down device is
   * still this host's (checked against the kernel).
   */
  routeAlive(r: Route): boolean {
    if (r.dev === undefined) return true;
    const l = this.linkMap.get(r.dev);
    if (!l) return false;
    return l.up || (r.type === "local" && r.table === "local");
  }

  /**
   * Output route lookup for `dst`: the route, the device, the next hop and the
   * source address the kernel would pick. Unusable results are returned with
   * their errno.
   */
  routeGet(dst: Addr | string): RouteGet {
    const d = parseAddr(dst);
    const route = this.fib.lookup(d, (r) => this.routeAlive(r));
    if (!route) return { kind: "error", dst: d, errno: "ENETUNREACH", route: undefined };
    switch (route.type) {
      case "unreachable":
        return { kind: "error", dst: d, errno: "EHOSTUNREACH", route };
      case "prohibit":
        return { kind: "error", dst: d, errno: "EACCES", route };
      case "blackhole":
        return { kind: "error", dst: d, errno: "EINVAL", route };
      case "local":
        return { kind: "local", dst: d, dev: "lo", via: undefined, src: route.src ?? d, route };
      default: {
        const dev = route.dev ?? "lo";
        return { kind: route.type, dst: d, dev, via: route.via, src: this.selectSource(route, d), route };
      }
    }
  }

  /**
   * Source address selection (`inet_select_addr`): the route's `src`; else the
   * first primary address of the output device within the route's scope
   * (matching the gateway's subnet when there is one); else the first global
   * address of any device.
   */
  selectSource(route: Route, dst: Addr): Addr | undefined {
    if (route.src) return route.src;
    const dev = route.dev === undefined ? undefined : this.linkMap.get(route.dev);
    const family = dst.family;
    const maxScope = SCOPE_RANK[route.scope];
    if (dev) {
      let first: Addr | undefined;
      for (const a of dev.addresses) {
        if (a.addr.family !== family || a.secondary || SCOPE_RANK[a.scope] > maxScope) continue;
        if (!route.via || a.prefix.contains(route.via)) return a.addr;
        first ??= a.addr;
      }
      if (first) return first;
    }
    for (const l of this.linkMap.values()) {
      for (const a of l.addresses) {
        if (a.addr.family === family && !a.secondary && a.scope === "global") return a.addr;
      }
    }
    return undefined;
  }

  // ---- neighbours and FDB --------------------------------------------------

  /** Add a permanent neighbour (`ip neigh add ADDR lladdr MAC dev DEV nud permanent`). */
  addNeighbour(dev: string, addr: Addr | string, mac: number | string): void {
    this.link(dev);
    const a = parseAddr(addr);
    let m = this.neigh.get(dev);
    if (!m) {
      m = new Map();
      this.neigh.set(dev, m);
    }
    m.set(neighKey(a), typeof mac === "string" ? parseMac(mac) : mac);
    this.ctx.changed();
  }

  /** A permanent neighbour's MAC. */
  staticNeighbour(dev: string, addr: Addr): number | undefined {
    return this.neigh.get(dev)?.get(neighKey(addr));
  }

  /** Permanent neighbours as `ip neigh` lines. */
  neighbours(): string[] {
    const out: string[] = [];
    for (const [dev, m] of this.neigh) {
      for (const [k, mac] of m) {
        const a = typeof k === "number" ? Addr.v4(k) : Addr.parse(k);
        out.push(`${a} dev ${dev} lladdr ${formatMac(mac)} PERMANENT`);
      }
    }
    return out;
  }

  /**
   * Add a VXLAN FDB entry (`bridge fdb append MAC dev VXLAN dst REMOTE`); MAC
   * `00:00:00:00:00:00` is the default entry used for unknown and broadcast MACs.
   */
  addVtep(dev: string, mac: number | string, remote: Addr | string): void {
    const l = this.link(dev);
    if (l.kind !== "vxlan") throw new NetstackError("EINVAL", `${this.name}: ${dev} is not a vxlan device`);
    const m = typeof mac === "string" ? parseMac(mac) : mac;
    const list = l.vtepFdb.get(m) ?? [];
    list.push(parseAddr(remote));
    l.vtepFdb.set(m, list);
    this.ctx.changed();
  }

  // ---- sysctls, hooks, sockets ----------------------------------------------

  /** Read a sysctl (`net.ipv4.ip_forward`, `net.ipv4.conf.eth0.rp_filter`, …). */
  sysctl(name: string): number {
    const v = this.sysctls.get(name);
    if (v === undefined) throw new NetstackError("ENOENT", `${this.name}: unknown sysctl ${name}`);
    return v;
  }

  /** Write a sysctl. Writing `conf.default.*` affects links created later, as in the kernel. */
  setSysctl(name: string, value: number): void {
    if (!this.sysctls.has(name)) throw new NetstackError("ENOENT", `${this.name}: unknown sysctl ${name}`);
    this.sysctls.set(name, value);
    this.written.add(name);
    this.confCache.clear();
    if (name === "net.ipv4.ip_forward") this.sysctls.set("net.ipv4.conf.all.forwarding", value);
  }

  /** Sysctls written with {@link NetNamespace.setSysctl}, with their current values, in first-write order. */
  changedSysctls(): [string, number][] {
    return [...this.written].map((k) => [k, this.sysctls.get(k) ?? 0]);
  }

  /** Effective `rp_filter` of a device: max(all, dev). */
  rpFilter(dev: string): number {
    const c = this.devConf(dev);
    return Math.max(c.allRp, c.rp);
  }

  /** Effective boolean of an OR-ed per-device sysctl (`route_localnet`, `accept_local`). */
  devFlag(dev: string, key: "route_localnet" | "accept_local"): boolean {
    const c = this.devConf(dev);
    return key === "route_localnet" ? c.localnet : c.acceptLocal;
  }

  private devConf(dev: string): DevConf {
    let c = this.confCache.get(dev);
    if (!c) {
      const get = (k: string): number => this.sysctls.get(k) ?? 0;
      c = {
        allRp: get("net.ipv4.conf.all.rp_filter"),
        rp: get(`net.ipv4.conf.${dev}.rp_filter`),
        localnet: get("net.ipv4.conf.all.route_localnet") !== 0 || get(`net.ipv4.conf.${dev}.route_localnet`) !== 0,
        acceptLocal: get("net.ipv4.conf.all.accept_local") !== 0 || get(`net.ipv4.conf.${dev}.accept_local`) !== 0,
      };
      this.confCache.set(dev, c);
    }
    return c;
  }

  /** Register a netfilter hook function; returns a function that removes it. */
  registerHook(reg: HookRegistration): () => void {
    return this.hooks.register(reg);
  }

  /**
   * Attach a socket-level hook function (as a cgroup BPF program on the
   * namespace's processes); returns a function that detaches it.
   */
  registerSocketHook(reg: SocketHookRegistration): () => void {
    return this.socketHooks.register(reg);
  }

  /** Open a socket: listening (`port` on every address unless `addr`), or connected when it has a `peer`. */
  listen(socket: Socket): void {
    this.sockets.push(socket);
  }

  /** Close a socket opened with {@link NetNamespace.listen} (closing one that is not open does nothing). */
  close(socket: Socket): void {
    const i = this.sockets.indexOf(socket);
    if (i >= 0) this.sockets.splice(i, 1);
  }

  /**
   * The socket that takes a packet to `addr:port` (from `src:sport`, when
   * given), if any: a connected socket of that exact connection first, as the
   * kernel looks up established sockets before listeners, else a listening one.
   */
  socketFor(proto: string, addr: Addr, port: number, src?: Addr, sport?: number): Socket | undefined {
    let listener: Socket | undefined;
    for (const s of this.sockets) {
      if (s.proto !== proto || s.port !== port || (s.addr !== undefined && !s.addr.equals(addr))) continue;
      if (s.peer === undefined) listener ??= s;
      else if (src !== undefined && s.peer.addr.equals(src) && s.peer.port === sport) return s;
    }
    return listener;
  }
}

/** Key of an address in numeric maps: the uint32 for IPv4, text for IPv6. */
export function neighKey(a: Addr): number | string {
  return a.family === 4 ? a.w3 : `${a.w0}:${a.w1}:${a.w2}:${a.w3}`;
}
