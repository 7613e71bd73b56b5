import type { Addr } from "./addr.js";
import type { NatTarget } from "./netfilter.js";
import type { Packet, Proto } from "./packet.js";
import { isIcmpError, protoNumber } from "./packet.js";

/** A clock in milliseconds. Inject one to control conntrack timeouts and FDB ageing. */
export interface Clock {
  /** Current time in milliseconds. */
  now(): number;
}

/** A clock that moves only when told to; the dataplane's default (starts at 0). */
export class ManualClock implements Clock {
  private t: number;

  /** Start at `start` milliseconds. */
  constructor(start = 0) {
    this.t = start;
  }

  /** Current time in milliseconds. */
  now(): number {
    return this.t;
  }

  /** Move forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * Conntrack state as iptables `-m conntrack --ctstate` and nftables `ct state`
 * see it: `new` (first packet(s), no reply yet), `established`, `related`
 * (an ICMP error about a tracked flow), `invalid`, or `untracked` (hook runs
 * before conntrack, or the packet is not tracked).
 */
export type CtState = "new" | "established" | "related" | "invalid" | "untracked";

/** TCP connection-tracking states (as `conntrack -L` prints them). */
export type TcpCtState =
  | "SYN_SENT"
  | "SYN_RECV"
  | "ESTABLISHED"
  | "FIN_WAIT"
  | "CLOSE_WAIT"
  | "LAST_ACK"
  | "TIME_WAIT"
  | "CLOSE";

/** One direction's tuple of a connection. ICMP keeps the echo id in `sport` and 0 in `dport`. */
export interface CtTuple {
  /** Source address. */
  readonly src: Addr;
  /** Destination address. */
  readonly dst: Addr;
  /** Source port (ICMP: echo id). */
  readonly sport: number;
  /** Destination port (ICMP: 0). */
  readonly dport: number;
}

/** Kernel default timeouts in seconds (`net.netfilter.nf_conntrack_*_timeout*`). */
export const CT_TIMEOUTS = {
  /** TCP per state. */
  tcp: {
    SYN_SENT: 120,
    SYN_RECV: 60,
    ESTABLISHED: 432000,
    FIN_WAIT: 120,
    CLOSE_WAIT: 60,
    LAST_ACK: 30,
    TIME_WAIT: 120,
    CLOSE: 10,
  } satisfies Record<TcpCtState, number>,
  /** UDP, no reply seen yet. */
  udp: 30,
  /** UDP after a reply (`nf_conntrack_udp_timeout_stream`). */
  udpStream: 120,
  /** ICMP. */
  icmp: 30,
  /** SCTP (simplified: one timeout, that of ESTABLISHED). */
  sctp: 210,
} as const;

/** A tracked connection. Mutable: the table updates state, timeout and NAT. */
export class ConntrackEntry {
  /** Unique id within the table. */
  readonly id: number;
  /** Address family. */
  readonly family: 4 | 6;
  /** Protocol. */
  readonly proto: Proto;
  /** Tuple of the first packet, as it arrived (before any NAT). */
  readonly original: CtTuple;
  /** Tuple a reply has (after NAT: DNAT changes its source, SNAT its destination). */
  reply: CtTuple;
  /** TCP state (undefined for other protocols). */
  tcpState: TcpCtState | undefined;
  /** A packet was seen in the reply direction. */
  seenReply = false;
  /** Assured (will not be evicted early). */
  assured = false;
  /** In the table (the first packet got through). */
  confirmed = false;
  /** Destination NAT has been decided (even if it is the identity). */
  dnatDone = false;
  /** Source NAT has been decided. */
  snatDone = false;
  /** `ct mark`. */
  mark = 0;
  /** Stand-in for a packet conntrack cannot track (an ICMP error about no known flow); never confirmed. */
  invalid = false;
  /** Expiry time in ms. */
  expires = 0;
  /** ICMP type of the original direction (for listing). */
  readonly icmpType: number;
  /** Side that sent the first FIN (for the close sequence). */
  finDir: "original" | "reply" | undefined;

  /** Created by {@link Conntrack.track}; not for direct use. */
  constructor(id: number, packet: Packet) {
    this.id = id;
    this.family = packet.family;
    this.proto = packet.proto;
    this.original = { src: packet.src, dst: packet.dst, sport: packet.sport, dport: packet.dport };
    this.reply =
      packet.proto === "icmp"
        ? { src: packet.dst, dst: packet.src, sport: packet.sport, dport: 0 }
        : { src: packet.dst, dst: packet.src, sport: packet.dport, dport: packet.sport };
    this.icmpType = packet.icmpType ?? 8;
    this.tcpState = undefined;
    this.finDir = undefined;
  }

  /** The tuple of direction `dir`. */
  tuple(dir: "original" | "reply"): CtTuple {
    return dir === "original" ? this.original : this.reply;
  }
}

function sameAddr(a: Addr, b: Addr): boolean {
  return a.w3 === b.w3 && a.w2 === b.w2 && a.w1 === b.w1 && a.w0 === b.w0 && a.family === b.family;
}

function tupleMatches(t: CtTuple, src: Addr, dst: Addr, sport: number, dport: number): boolean {
  return t.sport === sport && t.dport === dport && sameAddr(t.src, src) && sameAddr(t.dst, dst);
}

function hashTuple(proto: number, src: Addr, dst: Addr, sport: number, dport: number): number {
  let h = (proto * 0x9e3779b1) | 0;
  h = Math.imul(h ^ src.w3, 0x85ebca6b);
  h = Math.imul(h ^ dst.w3, 0xc2b2ae35);
  h = Math.imul(h ^ (src.w0 ^ src.w1 ^ src.w2), 0x27d4eb2f);
  h = Math.imul(h ^ (dst.w0 ^ dst.w1 ^ dst.w2), 0x165667b1);
  h = Math.imul(h ^ ((sport << 16) | dport), 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Result of {@link Conntrack.track}. */
export interface CtMatch {
  /** The entry (unconfirmed for a new connection). */
  readonly entry: ConntrackEntry;
  /** Direction of the packet. */
  readonly dir: "original" | "reply";
  /** State as rules see it. */
  readonly state: CtState;
}

/**
 * The conntrack table of one namespace: entries indexed by both tuples, TCP
 * state, timeouts from an injected {@link Clock}, NAT bindings that make
 * replies carry the addresses the client expects.
 */
export class Conntrack {
  private readonly buckets = new Map<number, ConntrackEntry[]>();
  private readonly all = new Set<ConntrackEntry>();
  private nextId = 1;
  private readonly clock: Clock;

  /** A table reading time from `clock`. */
  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Number of confirmed, unexpired entries. */
  get size(): number {
    this.gc();
    return this.all.size;
  }

  private index(entry: ConntrackEntry, t: CtTuple, add: boolean): void {
    const h = hashTuple(protoNumber(entry.proto), t.src, t.dst, t.sport, t.dport);
    const list = this.buckets.get(h);
    if (add) {
      if (list) list.push(entry);
      else this.buckets.set(h, [entry]);
    } else if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.buckets.delete(h);
    }
  }

  /** The confirmed entry a packet belongs to, with its direction. */
  lookup(p: Packet): { entry: ConntrackEntry; dir: "original" | "reply" } | undefined {
    const proto = protoNumber(p.proto, p.family);
    const list = this.buckets.get(hashTuple(proto === 58 ? 1 : proto, p.src, p.dst, p.sport, p.dport));
    if (!list) return undefined;
    const now = this.clock.now();
    for (const e of list) {
      if (e.proto !== p.proto) continue;
      if (e.expires <= now) {
        this.remove(e);
        return this.lookup(p);
      }
      if (tupleMatches(e.original, p.src, p.dst, p.sport, p.dport)) return { entry: e, dir: "original" };
      if (tupleMatches(e.reply, p.src, p.dst, p.sport, p.dport)) return { entry: e, dir: "reply" };
    }
    return undefined;
  }

  /**
   * Find the packet's connection or start a new (unconfirmed) one, update its
   * protocol state and timeout, and say what state rules see.
   */
  track(p: Packet): CtMatch {
    if (isIcmpError(p)) {
      const q = p.icmpAbout;
      const about = q
        ? this.lookup({ ...p, src: q.src, dst: q.dst, proto: q.proto, sport: q.sport, dport: q.dport })
        : undefined;
      if (about) return { entry: about.entry, dir: about.dir === "original" ? "reply" : "original", state: "related" };
      const entry = new ConntrackEntry(0, p);
      entry.invalid = true;
      return { entry, dir: "original", state: "invalid" };
    }
    const found = this.lookup(p);
    if (found) {
      const { entry, dir } = found;
      const before = entry.seenReply;
      this.update(entry, dir, p);
      const state: CtState = dir === "reply" || before ? "established" : "new";
      return { entry, dir, state };
    }
    const entry = new ConntrackEntry(this.nextId++, p);
    this.update(entry, "original", p);
    return { entry, dir: "original", state: "new" };
  }

  /** Insert an entry created by {@link Conntrack.track} (its first packet got through). */
  confirm(entry: ConntrackEntry): void {
    if (entry.confirmed || entry.invalid) return;
    entry.confirmed = true;
    this.all.add(entry);
    this.index(entry, entry.original, true);
    this.index(entry, entry.reply, true);
  }

  /** Remove an entry (`conntrack -D`). */
  remove(entry: ConntrackEntry): void {
    if (!this.all.delete(entry)) return;
    this.index(entry, entry.original, false);
    this.index(entry, entry.reply, false);
    entry.confirmed = false;
  }

  /** Drop expired entries. */
  gc(): void {
    const now = this.clock.now();
    for (const e of [...this.all]) if (e.expires <= now) this.remove(e);
  }

  /** Remove every entry. */
  flush(): void {
    for (const e of [...this.all]) this.remove(e);
  }

  /**
   * Bind destination NAT on an unconfirmed entry: replies will come from
   * `target` and be rewritten back to the original destination.
   */
  bindDnat(entry: ConntrackEntry, target: NatTarget | undefined): void {
    if (entry.dnatDone) return;
    entry.dnatDone = true;
    if (!target) return;
    const r = entry.reply;
    entry.reply = { src: target.addr, dst: r.dst, sport: target.port ?? r.sport, dport: r.dport };
  }

  /**
   * Bind source NAT on an unconfirmed entry. When another connection already
   * owns the resulting reply tuple, the next free port is taken (as the kernel
   * does for `--to-source` without a fixed port).
   */
  bindSnat(entry: ConntrackEntry, target: NatTarget | undefined): void {
    if (entry.snatDone) return;
    entry.snatDone = true;
    if (!target) return;
    const r = entry.reply;
    let port = target.port ?? r.dport;
    if (entry.proto !== "icmp") {
      for (let tries = 0; tries < 64512; tries++) {
        if (!this.replyTaken(entry, r.src, target.addr, r.sport, port)) break;
        port = port >= 65535 ? 1024 : port + 1;
      }
    }
    entry.reply = { src: r.src, dst: target.addr, sport: r.sport, dport: port };
  }

  private replyTaken(self: ConntrackEntry, src: Addr, dst: Addr, sport: number, dport: number): boolean {
    const list = this.buckets.get(hashTuple(protoNumber(self.proto), src, dst, sport, dport));
    if (!list) return false;
    return list.some(
      (e) =>
        e !== self &&
        e.proto === self.proto &&
        (tupleMatches(e.reply, src, dst, sport, dport) || tupleMatches(e.original, src, dst, sport, dport)),
    );
  }

  private update(e: ConntrackEntry, dir: "original" | "reply", p: Packet): void {
    const now = this.clock.now();
    if (dir === "reply" && !e.seenReply) e.seenReply = true;
    let timeout: number;
    switch (e.proto) {
      case "tcp": {
        const f = p.tcp ?? {};
        let s = e.tcpState;
        if (f.rst) s = "CLOSE";
        else if (s === undefined) s = f.syn && !f.ack ? "SYN_SENT" : "ESTABLISHED";
        else if (s === "SYN_SENT" && dir === "reply" && f.syn && f.ack) s = "SYN_RECV";
        else if (s === "SYN_RECV" && dir === "original" && f.ack && !f.syn) s = "ESTABLISHED";
        else if ((s === "ESTABLISHED" || s === "SYN_RECV") && f.fin) {
          s = "FIN_WAIT";
          e.finDir = dir;
        } else if (s === "FIN_WAIT" && dir !== e.finDir) s = f.fin ? "LAST_ACK" : "CLOSE_WAIT";
        else if (s === "CLOSE_WAIT" && dir !== e.finDir && f.fin) s = "LAST_ACK";
        else if (s === "LAST_ACK" && dir === e.finDir && f.ack) s = "TIME_WAIT";
        e.tcpState = s;
        if (s === "ESTABLISHED" && e.seenReply) e.assured = true;
        timeout = CT_TIMEOUTS.tcp[s];
        break;
      }
      case "udp":
        if (e.seenReply) e.assured = true;
        timeout = e.seenReply ? CT_TIMEOUTS.udpStream : CT_TIMEOUTS.udp;
        break;
      case "icmp":
        timeout = CT_TIMEOUTS.icmp;
        break;
      case "sctp":
        if (e.seenReply) e.assured = true;
        timeout = CT_TIMEOUTS.sctp;
        break;
    }
    e.expires = now + timeout * 1000;
  }

  /** Confirmed, unexpired entries, oldest first. */
  entries(): ConntrackEntry[] {
    this.gc();
    return [...this.all];
  }

  /** `conntrack -L` text: one line per entry. */
  list(): string {
    const now = this.clock.now();
    return this.entries()
      .map((e) => formatEntry(e, now))
      .join("\n");
  }
}

/** One `conntrack -L` line for an entry at time `now` (ms). */
export function formatEntry(e: ConntrackEntry, now: number): string {
  const num = protoNumber(e.proto, e.family);
  const name = e.proto === "icmp" && e.family === 6 ? "icmpv6" : e.proto;
  const secs = Math.max(0, Math.floor((e.expires - now) / 1000));
  const t = (x: CtTuple, reply: boolean): string => {
    const a = `src=${x.src} dst=${x.dst}`;
    if (e.proto === "icmp") {
      const type = reply ? (e.icmpType === 8 ? 0 : e.icmpType === 128 ? 129 : e.icmpType) : e.icmpType;
      return `${a} type=${type} code=0 id=${x.sport}`;
    }
    return `${a} sport=${x.sport} dport=${x.dport}`;
  };
  const parts = [`${name.padEnd(8)} ${num} ${secs}`];
  if (e.tcpState) parts.push(e.tcpState);
  parts.push(t(e.original, false));
  if (!e.seenReply) parts.push("[UNREPLIED]");
  parts.push(t(e.reply, true));
  if (e.assured) parts.push("[ASSURED]");
  parts.push(`mark=${e.mark}`, "use=1");
  return parts.join(" ");
}
