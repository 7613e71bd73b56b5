import { Addr } from "./addr.js";
import { type Clock, type CtMatch, type CtState, ManualClock } from "./conntrack.js";
import { formatRoute, type Route } from "./fib.js";
import type { Link } from "./link.js";
import { type NamespaceContext, NetNamespace, NetstackError, neighKey } from "./net-namespace.js";
import type { HookContext, HookName, HookResult, NatTarget, Verdict } from "./netfilter.js";
import { BROADCAST_MAC, formatMac, formatPacket, isUnspecified, orphaned, type Packet } from "./packet.js";
import { type Random, seededRandom } from "./random.js";
import { type SockAddr, type SocketHookName, type SocketHookOutcome, socketHookName } from "./socket-hooks.js";
import { type DropReason, describeSocket, type Outcome, type Socket, type Trace, type TraceStep } from "./trace.js";

/** Options of a {@link Dataplane}. */
export interface DataplaneOptions {
  /** Clock for conntrack timeouts and FDB ageing; default a {@link ManualClock} at 0. */
  readonly clock?: Clock;
  /** Random source handed to hook functions; default `seededRandom(1)`. */
  readonly random?: Random;
  /** Receive events (L2 or L3) one packet may cause before it is dropped as a loop; default 64. */
  readonly maxHops?: number;
}

/** Settings of a VXLAN device for {@link Dataplane.addVxlan}. */
export interface VxlanOptions {
  /** VNI. */
  readonly vni: number;
  /** Local VTEP address. */
  readonly local?: Addr | string;
  /** UDP port; default 8472 (the Linux default; 4789 is the IANA port). */
  readonly dstport?: number;
  /** Underlay device. */
  readonly dev?: string;
  /** MAC learning; default true. */
  readonly learning?: boolean;
  /** MTU; default 1450 (IPv4 underlay of 1500 minus 50). */
  readonly mtu?: number;
  /** MAC address. */
  readonly mac?: string | number;
}

/** Options of {@link Dataplane.send}. */
export interface SendOptions {
  /**
   * Record the steps (default true). With false the trace has no steps and no
   * text is built on the way: the outcome and final packet only, for speed.
   */
  readonly trace?: boolean;
  /**
   * The socket call that sends the packet, for the socket-level hooks:
   * `connect` (default for TCP and SCTP) or `sendmsg` (default for UDP, an
   * unconnected socket); `connected` for a packet of a socket already
   * connected (or accepted), which meets no socket hook. ICMP meets none either.
   */
  readonly call?: "connect" | "sendmsg" | "connected";
}

/** Result of {@link Dataplane.exchange}: a request, the reply the receiver sends, and (TCP) the final ACK. */
export interface Exchange {
  /** True when the reply came back to the sender with the addresses it expects (NAT undone). */
  readonly ok: boolean;
  /** The request's trace. */
  readonly request: Trace;
  /** The reply's trace, when the request reached a receiver that answers. */
  readonly reply: Trace | undefined;
  /** TCP only: the handshake's final ACK. */
  readonly ack: Trace | undefined;
  /**
   * The reply's source as the sending application sees it, when a socket-level
   * hook (`recvmsg` for UDP, `getpeername` for TCP/SCTP) rewrote it.
   */
  readonly peer?: SockAddr;
}

interface Frame {
  readonly src: number;
  readonly dst: number;
  readonly packet: Packet;
}

interface OutRoute {
  readonly route: Route;
  readonly dev: Link;
  readonly nexthop: Addr;
}

/**
 * The simulated dataplane: a set of {@link NetNamespace}s joined by veth pairs,
 * bridges and VXLAN tunnels. {@link Dataplane.send} follows one packet from a
 * namespace's socket through routing, netfilter hooks, conntrack/NAT,
 * neighbour resolution, bridges and tunnels, and returns a {@link Trace}.
 *
 * @example
 * ```ts
 * const dp = new Dataplane();
 * const a = dp.addNamespace("a");
 * const b = dp.addNamespace("b");
 * dp.addVeth("a", "eth0", "b", "eth0");
 * a.addAddress("eth0", "10.0.0.1/24");
 * b.addAddress("eth0", "10.0.0.2/24");
 * dp.send("a", makePacket({ dst: "10.0.0.2", proto: "icmp" })).outcome.kind; // "delivered"
 * ```
 */
export class Dataplane {
  /** The clock. */
  readonly clock: Clock;
  /** Random source for hooks. */
  readonly random: () => number;
  /** Hop budget per packet. */
  readonly maxHops: number;
  private readonly nsMap = new Map<string, NetNamespace>();
  private macSeq = 0;
  private version = 0;
  private readonly neighCache = new Map<Link, Map<number | string, number>>();
  private cacheVersion = -1;
  private readonly nsCtx: NamespaceContext;

  /** An empty dataplane. */
  constructor(options: DataplaneOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    const random = options.random ?? seededRandom(1);
    this.random = () => random.next();
    this.maxHops = options.maxHops ?? 64;
    this.nsCtx = {
      clock: this.clock,
      nextMac: () => 0x02_00_00_00_00_00 + ++this.macSeq,
      changed: () => {
        this.version++;
      },
    };
  }

  /** Create a namespace. @throws {@link NetstackError} EEXIST when the name is taken. */
  addNamespace(name: string): NetNamespace {
    if (this.nsMap.has(name)) throw new NetstackError("EEXIST", `namespace ${name} exists`);
    const ns = new NetNamespace(name, this.nsCtx);
    this.nsMap.set(name, ns);
    return ns;
  }

  /** The namespace called `name`. @throws {@link NetstackError} ENOENT. */
  ns(name: string): NetNamespace {
    const ns = this.nsMap.get(name);
    if (!ns) throw new NetstackError("ENOENT", `no namespace ${JSON.stringify(name)}`);
    return ns;
  }

  /** All namespaces in creation order. */
  namespaces(): NetNamespace[] {
    return [...this.nsMap.values()];
  }

  /**
   * Delete a link (`ip link del`). Deleting either end of a veth deletes both;
   * routes, addresses, neighbours and bridge membership go with them.
   */
  deleteLink(ns: string, name: string): void {
    const link = this.ns(ns).removeLink(name);
    const peer = link.peer;
    if (peer) {
      link.peer = undefined;
      peer.peer = undefined;
      this.ns(peer.ns).removeLink(peer.name);
    }
  }

  /** Delete a namespace: its links go (and with them the other ends of its veths), then the namespace. */
  deleteNamespace(name: string): void {
    const ns = this.ns(name);
    for (const l of ns.links()) if (l.kind !== "loopback" && ns.findLink(l.name)) this.deleteLink(name, l.name);
    this.nsMap.delete(name);
  }

  /** Create a veth pair: `aName` in namespace `aNs`, its peer `bName` in `bNs`. */
  addVeth(
    aNs: string,
    aName: string,
    bNs: string,
    bName: string,
    opts: { readonly mtu?: number; readonly macA?: string | number; readonly macB?: string | number } = {},
  ): [Link, Link] {
    const na = this.ns(aNs);
    const nb = this.ns(bNs);
    if (nb.findLink(bName)) throw new NetstackError("EEXIST", `${bNs}: device ${bName} exists`);
    const a = na.createLink(aName, "veth", withDefined({ mtu: opts.mtu, mac: opts.macA }));
    const b = nb.createLink(bName, "veth", withDefined({ mtu: opts.mtu, mac: opts.macB }));
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** Create a Linux bridge in `ns`. */
  addBridge(ns: string, name: string, opts: { readonly mtu?: number; readonly mac?: string | number } = {}): Link {
    return this.ns(ns).createLink(name, "bridge", opts);
  }

  /** Create a dummy device in `ns` (kube-ipvs0 style: addresses, no traffic out). */
  addDummy(ns: string, name: string, opts: { readonly mtu?: number; readonly mac?: string | number } = {}): Link {
    return this.ns(ns).createLink(name, "dummy", opts);
  }

  /** Create a VXLAN device in `ns`. */
  addVxlan(ns: string, name: string, opts: VxlanOptions): Link {
    if (!Number.isInteger(opts.vni) || opts.vni < 0 || opts.vni > 0xffffff) {
      throw new NetstackError("EINVAL", `${ns}: vxlan id ${opts.vni} outside 0..16777215`);
    }
    const n = this.ns(ns);
    if (opts.dev !== undefined) n.link(opts.dev);
    const link = n.createLink(name, "vxlan", withDefined({ mtu: opts.mtu, mac: opts.mac }));
    link.vxlan = {
      vni: opts.vni,
      local:
        opts.local === undefined ? undefined : typeof opts.local === "string" ? Addr.parse(opts.local) : opts.local,
      dstport: opts.dstport ?? 8472,
      underlay: opts.dev,
      learning: opts.learning ?? true,
    };
    return link;
  }

  /**
   * Send `packet` from a local socket in namespace `from` and follow it to
   * where it ends. A source of `0.0.0.0`/`::` is replaced by the route's
   * source address, as `connect()` does.
   */
  send(from: string, packet: Packet, options: SendOptions = {}): Trace {
    const w = new Walk(this, options.trace ?? true);
    const ns = this.ns(from);
    let p = packet;
    if (ns.socketHooks.size > 0 && p.proto !== "icmp" && options.call !== "connected") {
      const r = w.socketCall(ns, p, options.call ?? (p.proto === "udp" ? "sendmsg" : "connect"));
      if ("kind" in r) return { steps: w.steps, outcome: r, packet: w.last, sent: w.sent };
      p = r;
    }
    const outcome = w.start(ns, p);
    return { steps: w.steps, outcome, packet: w.last, sent: w.sent };
  }

  /**
   * The address a socket in namespace `ns` reports for its peer: `recvmsg` (UDP)
   * or `getpeername` (TCP, SCTP) hook functions may rewrite what arrived
   * (a backend) back to what the application connected to (a service).
   */
  peerName(ns: string, proto: "tcp" | "udp" | "sctp", peer: SockAddr, local?: SockAddr): SockAddr {
    return this.peerCall(ns, proto, peer, local).address;
  }

  /** {@link Dataplane.peerName} with the hook point run and the functions' decisions, for traces. */
  private peerCall(
    ns: string,
    proto: "tcp" | "udp" | "sctp",
    peer: SockAddr,
    local: SockAddr | undefined,
  ): SocketHookOutcome & { readonly hook: SocketHookName } {
    const n = this.ns(ns);
    const hook = socketHookName(proto === "udp" ? "recvmsg" : "getpeername", peer.addr.family);
    if (n.socketHooks.size === 0) return { hook, address: peer, rejected: false, decisions: [] };
    return { hook, ...n.socketHooks.run(peer, { hook, ns, proto, local, random: this.random, now: this.clock.now() }) };
  }

  /**
   * A request and its reply: send `packet`; when it is delivered (to a socket,
   * for TCP/UDP/SCTP), the receiver answers from the address it saw it
   * arrive on. The sender is a client: while the exchange lasts its namespace
   * has the connected socket `connect()` made (the request's source address
   * and port, connected to where the request went), and the reply is
   * delivered to that socket. `ok` is true when the answer reaches it with the
   * addresses the sender used (so NAT was undone). For TCP that is the
   * SYN / SYN-ACK / ACK handshake: `ok` means a real `connect()` would succeed.
   */
  exchange(from: string, packet: Packet, options: SendOptions = {}): Exchange {
    const request = this.send(from, packet, options);
    const o = request.outcome;
    if (o.kind !== "delivered" || (packet.proto !== "icmp" && o.socket === undefined)) {
      return { ok: false, request, reply: undefined, ack: undefined };
    }
    const rp = request.packet;
    const base: Packet = {
      family: rp.family,
      src: rp.dst,
      dst: rp.src,
      proto: rp.proto,
      sport: rp.proto === "icmp" ? rp.sport : rp.dport,
      dport: rp.proto === "icmp" ? 0 : rp.sport,
      mark: 0,
      size: 60,
      df: true,
      ttl: 64,
    };
    const replyPacket: Packet =
      rp.proto === "tcp"
        ? { ...base, tcp: { syn: true, ack: true } }
        : rp.proto === "icmp"
          ? { ...base, icmpType: rp.family === 4 ? 0 : 129, icmpCode: 0 }
          : base;
    const s = request.sent;
    const clientNs = this.ns(from);
    const client: Socket | undefined =
      s.proto === "icmp"
        ? undefined
        : { proto: s.proto, port: s.sport, addr: s.src, peer: { addr: s.dst, port: s.dport } };
    if (client) clientNs.listen(client);
    try {
      return this.replyTo(from, request, replyPacket, o.ns, options);
    } finally {
      if (client) clientNs.close(client);
    }
  }

  /** The reply half of {@link Dataplane.exchange} (and the final ACK), while the client's socket is open. */
  private replyTo(from: string, request: Trace, replyPacket: Packet, server: string, options: SendOptions): Exchange {
    let reply = this.send(server, replyPacket, { ...options, call: "connected" });
    const s = request.sent;
    const back = reply.packet;
    const ok =
      reply.outcome.kind === "delivered" &&
      reply.outcome.ns === from &&
      back.src.equals(s.dst) &&
      back.dst.equals(s.src) &&
      (s.proto === "icmp" || (back.sport === s.dport && back.dport === s.sport));
    const call =
      ok && s.proto !== "icmp"
        ? this.peerCall(from, s.proto, { addr: back.src, port: back.sport }, { addr: back.dst, port: back.dport })
        : undefined;
    const peer = call?.address;
    // The client reads the reply (recvmsg) or asks for its peer (getpeername): a rewrite there is a step of the reply.
    if (call !== undefined && call.decisions.length > 0 && (options.trace ?? true))
      reply = {
        ...reply,
        steps: [
          ...reply.steps,
          ...call.decisions.map((d): TraceStep => {
            const what = call.hook.startsWith("recvmsg") ? "recvmsg()" : "getpeername()";
            return d.result === "reject"
              ? { kind: "socket", ns: from, socketHook: call.hook, owner: d.owner, note: `${what} refused` }
              : {
                  kind: "socket",
                  ns: from,
                  socketHook: call.hook,
                  owner: d.owner,
                  ...(d.result.rule !== undefined ? { rule: d.result.rule } : {}),
                  rewrite: `src ${sockText(d.from)} -> ${sockText(d.result.to)}`,
                  note: d.result.note ?? `${what} shows the peer rewritten`,
                };
          }),
        ],
      };
    const seen = peer !== undefined && (!peer.addr.equals(back.src) || peer.port !== back.sport) ? { peer } : {};
    if (!ok || s.proto !== "tcp") return { ok, request, reply, ack: undefined, ...seen };
    const ack = this.send(from, { ...s, tcp: { ack: true } }, { ...options, call: "connected" });
    return { ok: ack.outcome.kind === "delivered", request, reply, ack, ...seen };
  }

  /** Neighbour resolution on `dev` for `ip`: a permanent entry, else an ARP/ND answer from the L2 domain. */
  resolve(dev: Link, ip: Addr): number | undefined {
    const ns = this.ns(dev.ns);
    const st = ns.staticNeighbour(dev.name, ip);
    if (st !== undefined) return st;
    if (this.cacheVersion !== this.version) {
      this.neighCache.clear();
      this.cacheVersion = this.version;
    }
    let cache = this.neighCache.get(dev);
    if (!cache) {
      cache = new Map();
      this.neighCache.set(dev, cache);
    }
    const key = neighKey(ip);
    const hit = cache.get(key);
    if (hit !== undefined) return hit < 0 ? undefined : hit;
    let mac = -1;
    for (const ep of this.l2Endpoints(dev)) {
      if (ep.up && this.ns(ep.ns).hasAddress(ip)) {
        mac = ep.mac;
        break;
      }
    }
    cache.set(key, mac);
    return mac < 0 ? undefined : mac;
  }

  /** Devices that take IP and share `dev`'s L2 domain (answer its ARP): veth peers, bridges and their ports' far ends. */
  l2Endpoints(dev: Link): Link[] {
    const out: Link[] = [];
    const seen = new Set<Link>([dev]);
    const farEnd = (l: Link): void => {
      if (seen.has(l)) return;
      seen.add(l);
      if (l.master) {
        const b = l.master;
        if (seen.has(b)) return;
        seen.add(b);
        out.push(b);
        for (const q of b.ports) if (q !== l) portOut(q);
      } else if (l.kind !== "dummy" && l.kind !== "loopback") {
        out.push(l);
      }
    };
    const portOut = (q: Link): void => {
      if (seen.has(q)) return;
      seen.add(q);
      if (q.kind === "veth" && q.peer) farEnd(q.peer);
      else if (q.kind === "vxlan") for (const r of this.remoteVxlans(q)) farEnd(r);
    };
    if (dev.kind === "veth" && dev.peer) farEnd(dev.peer);
    else if (dev.kind === "bridge") for (const q of dev.ports) portOut(q);
    else if (dev.kind === "vxlan") for (const r of this.remoteVxlans(dev)) farEnd(r);
    return out;
  }

  /** VXLAN devices (same VNI and port) in the namespaces that own the VTEPs of `vx`'s FDB. */
  remoteVxlans(vx: Link): Link[] {
    const cfg = vx.vxlan;
    if (!cfg) return [];
    const out: Link[] = [];
    for (const remotes of vx.vtepFdb.values()) {
      for (const r of remotes) {
        for (const ns of this.nsMap.values()) {
          if (ns.name === vx.ns || !ns.hasAddress(r)) continue;
          for (const l of ns.links()) {
            if (l.vxlan && l.vxlan.vni === cfg.vni && l.vxlan.dstport === cfg.dstport && !out.includes(l)) out.push(l);
          }
        }
      }
    }
    return out;
  }
}

const VERDICTS: Record<Verdict, HookResult> = {
  accept: { verdict: "accept" },
  continue: { verdict: "continue" },
  drop: { verdict: "drop" },
  reject: { verdict: "reject" },
};

function withDefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

function natText(what: string, a: Addr, port: number, b: Addr, bport: number, icmp: boolean): string {
  return icmp ? `${what} ${a} -> ${b}` : `${what} ${a}:${port} -> ${b}:${bport}`;
}

/** `addr:port`, IPv6 in brackets. */
function sockText(a: SockAddr): string {
  return a.addr.family === 6 ? `[${a.addr}]:${a.port}` : `${a.addr}:${a.port}`;
}

/** One packet's journey: the steps, hop budget and the latest packet. */
class Walk {
  readonly steps: TraceStep[] = [];
  /** Record steps (false: outcome only, no strings built). */
  readonly rec: boolean;
  last!: Packet;
  sent!: Packet;
  private hops = 0;
  private readonly dp: Dataplane;

  constructor(dp: Dataplane, rec: boolean) {
    this.dp = dp;
    this.rec = rec;
  }

  private step(s: TraceStep): void {
    this.steps.push(s);
  }

  private drop(ns: string, dev: string | undefined, reason: DropReason, detail: string, p: Packet): Outcome {
    this.last = p;
    if (this.rec)
      this.step(
        dev === undefined
          ? { kind: "drop", ns, note: `${reason}: ${detail}` }
          : { kind: "drop", ns, dev, note: `${reason}: ${detail}` },
      );
    return dev === undefined ? { kind: "dropped", reason, ns, detail } : { kind: "dropped", reason, ns, dev, detail };
  }

  /**
   * The socket call's hook point (`connect`/`sendmsg`): the destination the
   * application gave, perhaps rewritten, or a drop when a function refused.
   */
  socketCall(ns: NetNamespace, p: Packet, call: "connect" | "sendmsg"): Packet | Outcome {
    this.last = p;
    this.sent = p;
    const hook = socketHookName(call, p.family);
    if (ns.socketHooks.list(hook).length === 0) return p;
    const r = ns.socketHooks.run(
      { addr: p.dst, port: p.dport },
      {
        hook,
        ns: ns.name,
        proto: p.proto as "tcp" | "udp" | "sctp",
        local: isUnspecified(p.src) ? undefined : { addr: p.src, port: p.sport },
        random: this.dp.random,
        now: this.dp.clock.now(),
      },
    );
    if (this.rec) {
      for (const d of r.decisions) {
        const rule = d.result !== "reject" && d.result.rule !== undefined ? { rule: d.result.rule } : {};
        this.step(
          d.result === "reject"
            ? { kind: "socket", ns: ns.name, socketHook: hook, owner: d.owner, note: `${call}() refused (EPERM)` }
            : {
                kind: "socket",
                ns: ns.name,
                socketHook: hook,
                owner: d.owner,
                ...rule,
                rewrite: `dst ${sockText(d.from)} -> ${sockText(d.result.to)}`,
                note: d.result.note ?? `${call}() destination rewritten`,
              },
        );
      }
    }
    if (r.rejected) {
      const by = r.decisions[r.decisions.length - 1]?.owner ?? "?";
      return this.drop(ns.name, undefined, "socket-rejected", `${hook} refused by ${by} (EPERM)`, p);
    }
    const q =
      r.address.addr.equals(p.dst) && r.address.port === p.dport
        ? p
        : { ...p, dst: r.address.addr, dport: r.address.port };
    this.last = q;
    this.sent = q;
    return q;
  }

  start(ns: NetNamespace, packet: Packet): Outcome {
    let p = packet;
    this.last = p;
    this.sent = p;
    if (isUnspecified(p.src)) {
      const rg = ns.routeGet(p.dst);
      if (rg.kind === "error") return this.routeError(ns, undefined, rg.route, rg.errno, p);
      if (!rg.src) return this.drop(ns.name, rg.dev, "no-route", `no source address for ${p.dst}`, p);
      p = { ...p, src: rg.src };
    }
    this.sent = p;
    if (this.rec) this.step({ kind: "send", ns: ns.name, note: formatPacket(p) });
    return this.output(ns, p);
  }

  private routeError(
    ns: NetNamespace,
    dev: string | undefined,
    route: Route | undefined,
    errno: string,
    p: Packet,
  ): Outcome {
    if (!route) return this.drop(ns.name, dev, "no-route", `no route to ${p.dst} (${errno})`, p);
    const reason: DropReason =
      route.type === "unreachable" ? "unreachable" : route.type === "prohibit" ? "prohibit" : "blackhole";
    return this.drop(ns.name, dev, reason, `route ${formatRoute(route)} (${errno})`, p);
  }

  /** Output route: the route, the device and the next hop. */
  private outRoute(ns: NetNamespace, p: Packet): OutRoute | Outcome {
    const route = ns.fib.lookup(p.dst, (r) => ns.routeAlive(r));
    if (!route || (route.type !== "unicast" && route.type !== "local" && route.type !== "broadcast")) {
      const errno = !route
        ? "ENETUNREACH"
        : route.type === "unreachable"
          ? "EHOSTUNREACH"
          : route.type === "prohibit"
            ? "EACCES"
            : "EINVAL";
      return this.routeError(ns, undefined, route, errno, p);
    }
    const dev = route.type === "local" ? ns.link("lo") : ns.link(route.dev ?? "lo");
    if (this.rec) this.step({ kind: "route", ns: ns.name, dev: dev.name, note: `${p.dst} -> ${formatRoute(route)}` });
    return { route, dev, nexthop: route.via ?? p.dst };
  }

  private output(ns: NetNamespace, packet: Packet): Outcome {
    let p = packet;
    let rt = this.outRoute(ns, p);
    if ("kind" in rt) return rt;
    const ct = ns.hooks.size > 0 ? ns.conntrack.track(p) : undefined;
    const out = this.runHooks(ns, "output", p, undefined, rt.dev.name, ct, false, rt);
    if ("kind" in out) return out;
    const rerouted = !out.packet.dst.equals(p.dst);
    p = out.packet;
    if (rerouted) {
      rt = this.outRoute(ns, p);
      if ("kind" in rt) return rt;
    }
    if (
      p.family === 4 &&
      rt.dev.kind !== "loopback" &&
      (p.src.w3 >>> 24 === 127 || p.dst.w3 >>> 24 === 127) &&
      !ns.devFlag(rt.dev.name, "route_localnet")
    ) {
      return this.drop(
        ns.name,
        rt.dev.name,
        "martian",
        `127.0.0.0/8 address leaving on ${rt.dev.name} without route_localnet`,
        p,
      );
    }
    const post = this.runHooks(ns, "postrouting", p, undefined, rt.dev.name, ct, false, rt);
    if ("kind" in post) return post;
    p = post.packet;
    if (ct) ns.conntrack.confirm(ct.entry);
    return this.xmit(ns, rt, p, ct);
  }

  /**
   * Run the hook functions of `hook`. Conntrack's NAT for packets of known
   * connections (and the identity binding for new ones) is applied where the
   * kernel's nat hook sits: dstnat (-100) for prerouting/output, srcnat (100)
   * for input/postrouting.
   */
  private runHooks(
    ns: NetNamespace,
    hook: HookName,
    packet: Packet,
    inDev: string | undefined,
    outDev: string | undefined,
    ct: CtMatch | undefined,
    bridged: boolean,
    rt: OutRoute | undefined,
    physIn?: string,
  ): { packet: Packet } | Outcome {
    let p = packet;
    const dstManip = hook === "prerouting" || hook === "output";
    const natPrio = dstManip ? -100 : 100;
    // Related/invalid packets (ICMP errors) are not rewritten here: their NAT is of the quoted flow.
    let manipDone = ct === undefined || hook === "forward" || ct.state === "related" || ct.state === "invalid";
    const regs = ns.hooks.list(hook);
    let ctx: HookContext | undefined;
    for (const reg of regs) {
      if (reg.family !== undefined && reg.family !== p.family) continue;
      if (!manipDone && ct && reg.priority > natPrio) {
        p = this.ctManip(ns, ct, dstManip, p, hook);
        manipDone = true;
      }
      if (reg.type === "nat") {
        if (!ct || ct.entry.confirmed || ct.entry.invalid || (dstManip ? ct.entry.dnatDone : ct.entry.snatDone))
          continue;
      }
      const entry = ct?.entry;
      const state: CtState = reg.priority < -200 || !ct ? "untracked" : ct.state;
      // One context per hook point, rebuilt only when what it shows changed.
      if (ctx === undefined || ctx.ctState !== state || ctx.ctMark !== (entry?.mark ?? 0)) {
        ctx = {
          hook,
          ns: ns.name,
          inDev,
          outDev,
          ctState: state,
          ctDir: ct?.dir ?? "original",
          ctMark: entry?.mark ?? 0,
          ctOrigDst: entry?.original.dst,
          ctOrigDport: entry?.original.dport,
          bridged,
          ...(physIn !== undefined ? { physIn } : {}),
          isLocal: ns.isLocalFn,
          random: this.dp.random,
          now: this.dp.clock.now(),
        };
      }
      const raw = reg.fn(p, ctx);
      const r: HookResult = typeof raw === "string" ? VERDICTS[raw] : raw;
      let rewrite: string | undefined;
      if (r.mark !== undefined && r.mark !== p.mark) {
        if (this.rec) rewrite = `mark 0x${p.mark.toString(16)} -> 0x${r.mark.toString(16)}`;
        p = { ...p, mark: r.mark };
      }
      if (r.mark !== undefined && r.ctMark && entry) entry.mark = r.mark;
      const dev = dstManip || hook === "forward" ? (inDev ?? outDev) : (outDev ?? inDev);
      if (this.rec) {
        const s: TraceStep = {
          kind: "hook",
          ns: ns.name,
          hook,
          owner: reg.owner,
          verdict: r.verdict,
          note: r.note ?? `priority ${reg.priority}`,
          ...(dev !== undefined ? { dev } : {}),
          ...(r.rule !== undefined ? { rule: r.rule } : {}),
          ...(rewrite ? { rewrite } : {}),
        };
        this.step(s);
      }
      if (r.verdict === "drop" || r.verdict === "reject") {
        return this.drop(
          ns.name,
          dev,
          r.verdict === "drop" ? "hook-drop" : "hook-reject",
          `${hook} ${reg.owner}${r.rule ? ` ${r.rule}` : ""}`,
          p,
        );
      }
      if (ct && !ct.entry.confirmed && !ct.entry.invalid) {
        if (dstManip && r.dnat && !ct.entry.dnatDone) {
          ns.conntrack.bindDnat(ct.entry, r.dnat);
          p = this.ctManip(ns, ct, true, p, hook, reg.owner);
        } else if (!dstManip && (r.snat || r.masquerade) && !ct.entry.snatDone) {
          const target: NatTarget | undefined = r.snat ?? this.masqTarget(ns, rt, r.masquerade, p);
          if (!target) return this.drop(ns.name, outDev, "hook-drop", `masquerade: no address on ${outDev ?? "?"}`, p);
          ns.conntrack.bindSnat(ct.entry, target);
          p = this.ctManip(ns, ct, false, p, hook, reg.owner);
        }
      }
    }
    if (!manipDone && ct) p = this.ctManip(ns, ct, dstManip, p, hook);
    return { packet: p };
  }

  private masqTarget(
    ns: NetNamespace,
    rt: OutRoute | undefined,
    masq: HookResult["masquerade"],
    p: Packet,
  ): NatTarget | undefined {
    if (!rt) return undefined;
    const addr = ns.selectSource({ ...rt.route, src: undefined, scope: "global" }, p.dst);
    if (!addr) return undefined;
    const port = typeof masq === "object" ? masq.port : undefined;
    return port === undefined ? { addr } : { addr, port };
  }

  /** Make the packet's tuple the inverse of the other direction's tuple (the NAT conntrack keeps). */
  private ctManip(ns: NetNamespace, ct: CtMatch, dstManip: boolean, p: Packet, hook: HookName, owner?: string): Packet {
    const e = ct.entry;
    if (!e.confirmed) {
      if (dstManip) ns.conntrack.bindDnat(e, undefined);
      else ns.conntrack.bindSnat(e, undefined);
    }
    const other = e.tuple(ct.dir === "original" ? "reply" : "original");
    const icmp = p.proto === "icmp";
    if (dstManip) {
      const port = icmp ? p.dport : other.sport;
      if (p.dst.equals(other.src) && p.dport === port) return p;
      const what = ct.dir === "original" ? "DNAT" : "un-SNAT";
      if (this.rec)
        this.step({
          kind: "nat",
          ns: ns.name,
          hook,
          ...(owner ? { owner } : {}),
          rewrite: natText("dst", p.dst, p.dport, other.src, port, icmp),
          note: `${what} (conntrack #${e.id})`,
        });
      return { ...p, dst: other.src, dport: port };
    }
    const port = icmp ? p.sport : other.dport;
    if (p.src.equals(other.dst) && p.sport === port) return p;
    const what = ct.dir === "original" ? "SNAT" : "un-DNAT";
    if (this.rec)
      this.step({
        kind: "nat",
        ns: ns.name,
        hook,
        ...(owner ? { owner } : {}),
        rewrite: natText("src", p.src, p.sport, other.dst, port, icmp),
        note: `${what} (conntrack #${e.id})`,
      });
    return { ...p, src: other.dst, sport: port };
  }

  /** Send on the route's device; `ct` is the connection a looped-back packet keeps (the kernel leaves skb->_nfct on lo). */
  private xmit(ns: NetNamespace, rt: OutRoute, packet: Packet, ct?: CtMatch): Outcome {
    const dev = rt.dev;
    let p = packet;
    this.last = p;
    if (!dev.up) return this.drop(ns.name, dev.name, "link-down", `${dev.name} is down`, p);
    if (p.size > dev.mtu) {
      if (p.df)
        return this.drop(ns.name, dev.name, "mtu-exceeded", `${p.size} B > mtu ${dev.mtu} with DF (EMSGSIZE)`, p);
      // IP fragmentation: the trace follows the first fragment (the receiver reassembles).
      if (this.rec)
        this.step({
          kind: "mtu",
          ns: ns.name,
          dev: dev.name,
          note: `${p.size} B > mtu ${dev.mtu}: fragmented into ${Math.ceil(p.size / dev.mtu)}, following the first`,
        });
      p = { ...p, size: dev.mtu };
    }
    if (dev.kind === "loopback") {
      if (this.rec) this.step({ kind: "xmit", ns: ns.name, dev: dev.name, note: "loopback" });
      // loopback_xmit orphans the skb (no socket owner on the way in) but keeps its conntrack entry
      return this.receive(ns, dev, orphaned(p), ct);
    }
    if (dev.kind === "dummy")
      return this.drop(ns.name, dev.name, "dummy", `${dev.name} is a dummy device; what it sends is discarded`, p);
    let mac: number | undefined;
    if (rt.route.type === "broadcast") mac = BROADCAST_MAC;
    else mac = this.dp.resolve(dev, rt.nexthop);
    if (mac === undefined) {
      return this.drop(ns.name, dev.name, "neighbour-failed", `no ARP/ND answer for ${rt.nexthop} on ${dev.name}`, p);
    }
    if (this.rec)
      this.step({ kind: "neigh", ns: ns.name, dev: dev.name, note: `${rt.nexthop} is at ${formatMac(mac)}` });
    if (this.rec) this.step({ kind: "xmit", ns: ns.name, dev: dev.name, note: formatPacket(p) });
    return this.l2Out(dev, { src: dev.mac, dst: mac, packet: p });
  }

  private l2Out(dev: Link, frame: Frame): Outcome {
    switch (dev.kind) {
      case "veth": {
        const peer = dev.peer;
        if (!peer?.up) return this.drop(dev.ns, dev.name, "link-down", `peer of ${dev.name} is down`, frame.packet);
        // Crossing into another namespace scrubs the skb: the mark does not travel (skb_scrub_packet);
        // veth_xmit orphans it, so no socket owner travels either.
        const p = orphaned(frame.packet);
        if (peer.ns !== dev.ns && p.mark !== 0) return this.l2In(peer, { ...frame, packet: { ...p, mark: 0 } });
        return this.l2In(peer, p === frame.packet ? frame : { ...frame, packet: p });
      }
      case "bridge":
        return this.bridgeForward(dev, undefined, frame);
      case "vxlan":
        return this.vxlanXmit(dev, frame);
      default:
        return this.drop(dev.ns, dev.name, "dummy", `${dev.kind} ${dev.name} does not transmit`, frame.packet);
    }
  }

  private l2In(dev: Link, frame: Frame): Outcome {
    if (++this.hops > this.dp.maxHops)
      return this.drop(dev.ns, dev.name, "loop", `more than ${this.dp.maxHops} hops`, frame.packet);
    if (!dev.up) return this.drop(dev.ns, dev.name, "link-down", `${dev.name} is down`, frame.packet);
    if (dev.master) return this.bridgeInput(dev.master, dev, frame);
    if (frame.dst !== dev.mac && frame.dst !== BROADCAST_MAC) {
      return this.drop(
        dev.ns,
        dev.name,
        "not-for-host",
        `frame for ${formatMac(frame.dst)}, ${dev.name} is ${formatMac(dev.mac)}`,
        frame.packet,
      );
    }
    return this.receive(this.dp.ns(dev.ns), dev, frame.packet);
  }

  private bridgeInput(br: Link, port: Link, frame: Frame): Outcome {
    const now = this.dp.clock.now();
    const known = br.fdb.get(frame.src);
    if (!known?.permanent) {
      if (known && known.port === port) known.updated = now;
      else br.fdb.set(frame.src, { port, updated: now, permanent: false });
    }
    if (!br.up) return this.drop(br.ns, br.name, "link-down", `bridge ${br.name} is down`, frame.packet);
    if (frame.dst === br.mac) {
      if (this.rec)
        this.step({
          kind: "bridge",
          ns: br.ns,
          dev: br.name,
          note: `from port ${port.name}: frame for the bridge itself, up the stack`,
        });
      return this.receive(this.dp.ns(br.ns), br, frame.packet);
    }
    return this.bridgeForward(br, port, frame);
  }

  private bridgeForward(br: Link, inPort: Link | undefined, frame: Frame): Outcome {
    const now = this.dp.clock.now();
    let f = frame;
    if (inPort) {
      const nf = this.bridgeNetfilter(br, inPort, f);
      if ("kind" in nf) return nf;
      f = nf;
    }
    let e = br.fdb.get(f.dst);
    if (e && !e.permanent && now - e.updated > br.ageingMs) {
      br.fdb.delete(f.dst);
      e = undefined;
    }
    const from = inPort ? `from port ${inPort.name}` : `from ${br.name} itself`;
    if (e) {
      if (e.port === br) return this.receive(this.dp.ns(br.ns), br, f.packet);
      // A port's own MAC is a local entry: the bridge device takes the frame.
      if (e.permanent) return this.receive(this.dp.ns(br.ns), br, f.packet);
      const out = e.port;
      if (out === inPort && !out.hairpin) {
        return this.drop(
          br.ns,
          out.name,
          "not-for-host",
          `FDB sends ${formatMac(f.dst)} back out ${out.name}, hairpin off`,
          f.packet,
        );
      }
      if (this.rec)
        this.step({
          kind: "bridge",
          ns: br.ns,
          dev: br.name,
          note: `${from}: FDB ${formatMac(f.dst)} -> port ${out.name}${out === inPort ? " (hairpin)" : ""}`,
        });
      return this.portOut(out, f);
    }
    if (this.rec)
      this.step({ kind: "bridge", ns: br.ns, dev: br.name, note: `${from}: ${formatMac(f.dst)} unknown, flood` });
    const mark = this.steps.length;
    let last: Outcome | undefined;
    for (const q of br.ports) {
      if ((q === inPort && !q.hairpin) || !q.up) continue;
      const res = this.portOut(q, f);
      if (res.kind === "dropped" && res.reason === "not-for-host") {
        this.steps.length = mark;
        last = res;
        continue;
      }
      return res;
    }
    return this.drop(
      br.ns,
      br.name,
      "not-for-host",
      `flooded, no port took ${formatMac(f.dst)}`,
      last ? f.packet : f.packet,
    );
  }

  /** br_netfilter: a bridged IPv4/IPv6 frame meets prerouting, forward and postrouting of the bridge's namespace. */
  private bridgeNetfilter(br: Link, inPort: Link, frame: Frame): Frame | Outcome {
    const ns = this.dp.ns(br.ns);
    const key =
      frame.packet.family === 4 ? "net.bridge.bridge-nf-call-iptables" : "net.bridge.bridge-nf-call-ip6tables";
    if (ns.sysctl(key) === 0 || ns.hooks.size === 0) return frame;
    let p = frame.packet;
    const ct = ns.hooks.size > 0 ? ns.conntrack.track(p) : undefined;
    const pre = this.runHooks(ns, "prerouting", p, br.name, undefined, ct, true, undefined, inPort.name);
    if ("kind" in pre) return pre;
    let dstMac = frame.dst;
    const dnatted = !pre.packet.dst.equals(p.dst);
    p = pre.packet;
    if (dnatted) {
      const route = ns.fib.lookup(p.dst, (r) => ns.routeAlive(r));
      if (!route || route.dev !== br.name || route.type !== "unicast") {
        // DNAT to somewhere the bridge does not reach: br_netfilter hands it to routing.
        return this.routeInput(ns, br, p, ct);
      }
      const mac = this.dp.resolve(br, route.via ?? p.dst);
      if (mac === undefined)
        return this.drop(ns.name, br.name, "neighbour-failed", `no ARP answer for ${p.dst} on ${br.name}`, p);
      dstMac = mac;
    }
    const fwd = this.runHooks(ns, "forward", p, br.name, br.name, ct, true, undefined, inPort.name);
    if ("kind" in fwd) return fwd;
    const route = ns.fib.lookup(fwd.packet.dst, (r) => ns.routeAlive(r));
    const rt: OutRoute | undefined = route ? { route, dev: br, nexthop: route.via ?? fwd.packet.dst } : undefined;
    const post = this.runHooks(ns, "postrouting", fwd.packet, undefined, br.name, ct, true, rt, inPort.name);
    if ("kind" in post) return post;
    if (ct) ns.conntrack.confirm(ct.entry);
    return { src: frame.src, dst: dstMac, packet: post.packet };
  }

  private portOut(q: Link, frame: Frame): Outcome {
    if (frame.packet.size > q.mtu) {
      return this.drop(
        q.ns,
        q.name,
        "mtu-exceeded",
        `${frame.packet.size} B frame > port ${q.name} mtu ${q.mtu} (bridges drop, never fragment)`,
        frame.packet,
      );
    }
    if (this.rec) this.step({ kind: "xmit", ns: q.ns, dev: q.name, note: `bridge port ${q.name}` });
    if (q.kind === "vxlan") return this.vxlanXmit(q, frame);
    return this.l2Out(q, frame);
  }

  private vxlanXmit(vx: Link, frame: Frame): Outcome {
    const cfg = vx.vxlan;
    const inner = frame.packet;
    if (!cfg) return this.drop(vx.ns, vx.name, "no-tunnel", `${vx.name} has no vxlan settings`, inner);
    const remotes = vx.vtepFdb.get(frame.dst) ?? vx.vtepFdb.get(0);
    if (!remotes || remotes.length === 0) {
      return this.drop(vx.ns, vx.name, "no-tunnel", `no FDB entry for ${formatMac(frame.dst)} on ${vx.name}`, inner);
    }
    const ns = this.dp.ns(vx.ns);
    const mark = this.steps.length;
    let res: Outcome | undefined;
    for (const remote of remotes) {
      let src = cfg.local;
      if (!src) {
        const rg = ns.routeGet(remote);
        src = rg.kind === "error" ? undefined : rg.src;
      }
      if (!src) {
        res = this.drop(vx.ns, vx.name, "no-route", `no source address towards VTEP ${remote}`, inner);
        continue;
      }
      const overhead = remote.family === 4 ? 50 : 70;
      const outer: Packet = {
        family: remote.family,
        src,
        dst: remote,
        proto: "udp",
        sport: 32768 + (flowHash(inner) % 28232),
        dport: cfg.dstport,
        mark: inner.mark,
        size: inner.size + overhead,
        df: false,
        ttl: 64,
        encap: { kind: "vxlan", vni: cfg.vni, srcMac: frame.src, dstMac: frame.dst, packet: inner },
      };
      if (this.rec)
        this.step({
          kind: "encap",
          ns: vx.ns,
          dev: vx.name,
          note:
            `vxlan vni ${cfg.vni} to VTEP ${remote}:${cfg.dstport} from ${src}; inner ${inner.size} B (mtu ${vx.mtu}) + ${overhead} B ` +
            `(outer IPv${remote.family} ${remote.family === 4 ? 20 : 40} + UDP 8 + VXLAN 8 + inner Ethernet 14) = outer ${outer.size} B`,
        });
      res = this.output(ns, outer);
      if (remotes.length === 1 || res.kind === "delivered") return res;
      this.steps.length = mark;
    }
    return res ?? this.drop(vx.ns, vx.name, "no-tunnel", "no VTEP", inner);
  }

  private receive(ns: NetNamespace, dev: Link, packet: Packet, carried?: CtMatch): Outcome {
    let p = packet;
    this.last = p;
    if (++this.hops > this.dp.maxHops)
      return this.drop(ns.name, dev.name, "loop", `more than ${this.dp.maxHops} hops`, p);
    if (this.rec) this.step({ kind: "recv", ns: ns.name, dev: dev.name, note: formatPacket(p) });
    const ct = carried ?? (ns.hooks.size > 0 ? ns.conntrack.track(p) : undefined);
    const pre = this.runHooks(ns, "prerouting", p, dev.name, undefined, ct, false, undefined);
    if ("kind" in pre) return pre;
    p = pre.packet;
    return this.routeInput(ns, dev, p, ct);
  }

  /** After prerouting: local delivery, forwarding or a drop, as ip_route_input decides. */
  private routeInput(ns: NetNamespace, dev: Link, packet: Packet, ct: CtMatch | undefined): Outcome {
    let p = packet;
    const lo = dev.kind === "loopback";
    if (
      !lo &&
      p.family === 4 &&
      (p.dst.w3 >>> 24 === 127 || p.src.w3 >>> 24 === 127) &&
      !ns.devFlag(dev.name, "route_localnet")
    ) {
      return this.drop(
        ns.name,
        dev.name,
        "martian",
        `127.0.0.0/8 address received on ${dev.name} without route_localnet`,
        p,
      );
    }

    const route = ns.fib.lookup(p.dst, (r) => ns.routeAlive(r));
    if (!route || (route.type !== "unicast" && route.type !== "local" && route.type !== "broadcast")) {
      const errno = !route
        ? "ENETUNREACH"
        : route.type === "unreachable"
          ? "EHOSTUNREACH"
          : route.type === "prohibit"
            ? "EACCES"
            : "EINVAL";
      return this.routeError(ns, dev.name, route, errno, p);
    }
    if (route.type === "local" || route.type === "broadcast" || lo) {
      if (!lo) {
        const bad = this.checkSource(ns, dev, p);
        if (bad) return bad;
      }
      if (this.rec)
        this.step({ kind: "route", ns: ns.name, dev: dev.name, note: `${p.dst} is local (${formatRoute(route)})` });
      const inp = this.runHooks(ns, "input", p, dev.name, undefined, ct, false, undefined);
      if ("kind" in inp) return inp;
      p = inp.packet;
      if (ct) ns.conntrack.confirm(ct.entry);
      return this.localDeliver(ns, dev, p);
    }
    if (ns.sysctl(p.family === 4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding") === 0) {
      return this.drop(ns.name, dev.name, "forwarding-disabled", `${p.dst} is not local and forwarding is off`, p);
    }
    const bad = this.checkSource(ns, dev, p);
    if (bad) return bad;
    const outDev = ns.link(route.dev ?? "lo");
    if (this.rec)
      this.step({ kind: "route", ns: ns.name, dev: outDev.name, note: `forward ${p.dst} -> ${formatRoute(route)}` });
    if (p.ttl <= 1) return this.drop(ns.name, dev.name, "ttl-exceeded", `ttl ${p.ttl} at ${ns.name}`, p);
    p = { ...p, ttl: p.ttl - 1 };
    if (p.size > outDev.mtu && p.df) {
      return this.drop(
        ns.name,
        outDev.name,
        "mtu-exceeded",
        `${p.size} B > ${outDev.name} mtu ${outDev.mtu} with DF (ICMP frag needed)`,
        p,
      );
    }
    const rt: OutRoute = { route, dev: outDev, nexthop: route.via ?? p.dst };
    const fwd = this.runHooks(ns, "forward", p, dev.name, outDev.name, ct, false, rt);
    if ("kind" in fwd) return fwd;
    const post = this.runHooks(ns, "postrouting", fwd.packet, undefined, outDev.name, ct, false, rt);
    if ("kind" in post) return post;
    p = post.packet;
    if (ct) ns.conntrack.confirm(ct.entry);
    return this.xmit(ns, rt, p);
  }

  /** fib_validate_source: local source address (martian) and rp_filter. */
  private checkSource(ns: NetNamespace, dev: Link, p: Packet): Outcome | undefined {
    if (p.family !== 4) return undefined;
    if (!ns.devFlag(dev.name, "accept_local") && ns.hasAddress(p.src)) {
      return this.drop(ns.name, dev.name, "martian", `source ${p.src} is a local address`, p);
    }
    const mode = ns.rpFilter(dev.name);
    if (mode === 0) return undefined;
    const back = ns.fib.lookup(p.src, (r) => ns.routeAlive(r));
    if (back?.type !== "unicast") {
      return this.drop(ns.name, dev.name, "rp-filter", `no route back to ${p.src} (rp_filter=${mode})`, p);
    }
    if (mode === 1 && back.dev !== dev.name) {
      return this.drop(
        ns.name,
        dev.name,
        "rp-filter",
        `route back to ${p.src} is via ${back.dev}, not ${dev.name} (rp_filter=1)`,
        p,
      );
    }
    return undefined;
  }

  private localDeliver(ns: NetNamespace, dev: Link, p: Packet): Outcome {
    this.last = p;
    if (p.proto === "udp" && p.encap) {
      for (const vx of ns.links()) {
        const cfg = vx.vxlan;
        if (!cfg || cfg.dstport !== p.dport) continue;
        if (cfg.vni !== p.encap.vni || !vx.up) continue;
        return this.decap(ns, vx, p);
      }
      if (ns.links().some((l) => l.vxlan?.dstport === p.dport)) {
        return this.drop(
          ns.name,
          dev.name,
          "no-tunnel",
          `no vxlan device for vni ${p.encap.vni} on port ${p.dport}`,
          p,
        );
      }
    }
    const socket = p.proto === "icmp" ? undefined : ns.socketFor(p.proto, p.dst, p.dport, p.src, p.sport);
    if (this.rec)
      this.step({
        kind: "deliver",
        ns: ns.name,
        dev: dev.name,
        note: socket ? describeSocket(socket) : p.proto === "icmp" ? "icmp to the host" : "no listening socket",
      });
    return { kind: "delivered", ns: ns.name, dev: dev.name, socket };
  }

  private decap(ns: NetNamespace, vx: Link, p: Packet): Outcome {
    const enc = p.encap;
    const cfg = vx.vxlan;
    if (!enc || !cfg) return this.drop(ns.name, vx.name, "no-tunnel", "not encapsulated", p);
    if (cfg.learning && enc.srcMac !== 0) {
      const cur = vx.vtepFdb.get(enc.srcMac);
      if (!cur?.some((a) => a.equals(p.src))) vx.vtepFdb.set(enc.srcMac, [p.src]);
    }
    if (this.rec)
      this.step({
        kind: "decap",
        ns: ns.name,
        dev: vx.name,
        note: `vxlan vni ${enc.vni} from VTEP ${p.src}: inner ${enc.packet.size} B, ${formatMac(enc.srcMac)} > ${formatMac(enc.dstMac)}`,
      });
    // The inner packet is the same skb: it carries the mark the outer one has now.
    const inner = enc.packet.mark === p.mark ? enc.packet : { ...enc.packet, mark: p.mark };
    return this.l2In(vx, { src: enc.srcMac, dst: enc.dstMac, packet: inner });
  }
}

function flowHash(p: Packet): number {
  let h = Math.imul(p.src.w3 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ p.dst.w3, 0xc2b2ae35);
  h = Math.imul(h ^ ((p.sport << 16) | p.dport), 0x27d4eb2f);
  return (h ^ (h >>> 16)) >>> 0;
}
