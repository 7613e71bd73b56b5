import { Addr } from "./addr.js";
import { ipProtocolNumber } from "./protocols.js";

/** Transport protocol of a {@link Packet}. */
export type Proto = "tcp" | "udp" | "sctp" | "icmp";

/** IANA protocol number of a {@link Proto} (ICMP is 1 for IPv4, 58 for IPv6). */
export function protoNumber(proto: Proto, family: 4 | 6 = 4): number {
  if (proto === "icmp" && family === 6) return 58;
  return ipProtocolNumber(proto) as number;
}

/** TCP flags carried by a packet (only those the dataplane looks at). */
export interface TcpFlags {
  /** SYN: opens a connection. */
  readonly syn?: boolean;
  /** ACK. */
  readonly ack?: boolean;
  /** FIN: closes one direction. */
  readonly fin?: boolean;
  /** RST: aborts the connection. */
  readonly rst?: boolean;
}

/**
 * One layer of encapsulation: the packet that travels inside the current
 * (outer) packet, with the tunnel's facts. A stack is a chain through
 * `packet.encap`.
 */
export interface Encap {
  /** Tunnel kind. */
  readonly kind: "vxlan";
  /** VXLAN network identifier. */
  readonly vni: number;
  /** Inner Ethernet source MAC (48-bit number). */
  readonly srcMac: number;
  /** Inner Ethernet destination MAC (48-bit number). */
  readonly dstMac: number;
  /** The inner packet. */
  readonly packet: Packet;
}

/** The header an ICMP error quotes: the packet it is about, as it was sent. */
export interface IcmpQuote {
  /** Quoted source. */
  readonly src: Addr;
  /** Quoted destination. */
  readonly dst: Addr;
  /** Quoted protocol. */
  readonly proto: Proto;
  /** Quoted source port (ICMP: echo id). */
  readonly sport: number;
  /** Quoted destination port. */
  readonly dport: number;
}

/** True for ICMP error types (IPv4 3, 4, 5, 11, 12; ICMPv6 1-4) that conntrack relates to a flow. */
export function isIcmpError(p: Packet): boolean {
  if (p.proto !== "icmp" || p.icmpType === undefined) return false;
  const t = p.icmpType;
  return p.family === 4 ? t === 3 || t === 4 || t === 5 || t === 11 || t === 12 : t >= 1 && t <= 4;
}

/**
 * The socket a locally generated packet was sent from: the UID and GID owning
 * it, as netfilter reads them (`iptables -m owner --uid-owner/--gid-owner`,
 * nft `meta skuid`/`meta skgid`). Absent for packets that did not come from a
 * local socket (forwarded or received ones), which such matches never select.
 */
export interface SocketOwner {
  /** UID owning the sending socket. */
  readonly uid?: number;
  /** GID owning the sending socket. */
  readonly gid?: number;
}

/**
 * An IP packet as plain data. Addresses are {@link Addr}s (numeric words), so a
 * hop never parses text. `size` is the IP packet length in bytes (headers and
 * payload); MTU checks compare it with a link's MTU.
 */
export interface Packet extends SocketOwner {
  /** Address family of the IP header. */
  readonly family: 4 | 6;
  /** Source address. */
  readonly src: Addr;
  /** Destination address. */
  readonly dst: Addr;
  /** Transport protocol. */
  readonly proto: Proto;
  /** Source port (TCP/UDP/SCTP) or ICMP echo identifier. */
  readonly sport: number;
  /** Destination port (TCP/UDP/SCTP); 0 for ICMP. */
  readonly dport: number;
  /** ICMP type (8 echo request, 0 echo reply, 3 unreachable, 11 time exceeded). */
  readonly icmpType?: number;
  /** ICMP code. */
  readonly icmpCode?: number;
  /** For ICMP errors: the header of the packet the error is about (makes it `related`). */
  readonly icmpAbout?: IcmpQuote;
  /** TCP flags. */
  readonly tcp?: TcpFlags;
  /** Firewall mark (`skb->mark`). */
  readonly mark: number;
  /** IP packet length in bytes. */
  readonly size: number;
  /** Don't Fragment bit (IPv6 is always DF). */
  readonly df: boolean;
  /** Time to live / hop limit. */
  readonly ttl: number;
  /** The packet carried inside this one, when this is a tunnel packet. */
  readonly encap?: Encap;
}

/** Input of {@link makePacket}: addresses may be text, everything but `dst` has a default. */
export interface PacketInit extends SocketOwner {
  /** Source address; default `0.0.0.0` / `::` (the sender picks the route's source). */
  readonly src?: Addr | string;
  /** Destination address. */
  readonly dst: Addr | string;
  /** Protocol; default `tcp`. */
  readonly proto?: Proto;
  /** Source port; default 40000 (ICMP: echo id 1). */
  readonly sport?: number;
  /** Destination port; default 80 (0 for ICMP). */
  readonly dport?: number;
  /** ICMP type; default 8 (echo request) for ICMP. */
  readonly icmpType?: number;
  /** ICMP code; default 0. */
  readonly icmpCode?: number;
  /** For ICMP errors: the quoted header. */
  readonly icmpAbout?: IcmpQuote;
  /** TCP flags; default `{ syn: true }` for TCP. */
  readonly tcp?: TcpFlags;
  /** Mark; default 0. */
  readonly mark?: number;
  /** Size in bytes; default 60 (a SYN with options). */
  readonly size?: number;
  /** DF bit; default true (Linux sets DF with path MTU discovery on). */
  readonly df?: boolean;
  /** TTL; default 64. */
  readonly ttl?: number;
}

/**
 * Build a {@link Packet} with defaults. Addresses may be given as text (parsed
 * here, once, at the edge).
 *
 * @example
 * ```ts
 * const p = makePacket({ src: "10.244.1.2", dst: "10.96.0.10", proto: "udp", dport: 53 });
 * ```
 */
export function makePacket(init: PacketInit): Packet {
  const dst = typeof init.dst === "string" ? Addr.parse(init.dst) : init.dst;
  const src =
    init.src === undefined
      ? dst.family === 4
        ? Addr.v4(0)
        : Addr.v6(0, 0, 0, 0)
      : typeof init.src === "string"
        ? Addr.parse(init.src)
        : init.src;
  if (src.family !== dst.family) {
    throw new TypeError(`packet source ${src} and destination ${dst} are of different families`);
  }
  const proto = init.proto ?? "tcp";
  const base = {
    family: dst.family,
    src,
    dst,
    proto,
    sport: init.sport ?? (proto === "icmp" ? 1 : 40000),
    dport: proto === "icmp" ? 0 : (init.dport ?? 80),
    mark: init.mark ?? 0,
    size: init.size ?? 60,
    df: dst.family === 6 ? true : (init.df ?? true),
    ttl: init.ttl ?? 64,
  };
  const owned: Packet =
    init.uid === undefined && init.gid === undefined
      ? base
      : {
          ...base,
          ...(init.uid !== undefined ? { uid: init.uid } : {}),
          ...(init.gid !== undefined ? { gid: init.gid } : {}),
        };
  return shaped(owned, init, proto);
}

/** A packet that left its socket behind (loopback and veth orphan the skb): no owner any more. */
export function orphaned(p: Packet): Packet {
  if (p.uid === undefined && p.gid === undefined) return p;
  const { uid: _uid, gid: _gid, ...rest } = p;
  return rest;
}

function shaped(base: Packet, init: PacketInit, proto: Proto): Packet {
  if (proto === "icmp") {
    const icmp = { ...base, icmpType: init.icmpType ?? 8, icmpCode: init.icmpCode ?? 0 };
    return init.icmpAbout ? { ...icmp, icmpAbout: init.icmpAbout } : icmp;
  }
  if (proto === "tcp") return { ...base, tcp: init.tcp ?? { syn: true } };
  return base;
}

/** True when the address is the unspecified address (`0.0.0.0` or `::`). */
export function isUnspecified(a: Addr): boolean {
  return a.w3 === 0 && a.w2 === 0 && a.w1 === 0 && a.w0 === 0;
}

/** One-line text of a packet, as a trace prints it: `tcp 10.0.0.1:40000 > 10.0.0.2:80 [S] len 60`. */
export function formatPacket(p: Packet): string {
  const ep = (a: Addr, port: number): string =>
    p.proto === "icmp" ? a.toString() : a.family === 6 ? `[${a}]:${port}` : `${a}:${port}`;
  let flags = "";
  if (p.tcp) {
    flags = `${p.tcp.syn ? "S" : ""}${p.tcp.fin ? "F" : ""}${p.tcp.rst ? "R" : ""}${p.tcp.ack ? "." : ""}`;
    flags = ` [${flags}]`;
  }
  const about = p.icmpAbout
    ? ` about ${p.icmpAbout.proto} ${p.icmpAbout.src}:${p.icmpAbout.sport} > ${p.icmpAbout.dst}:${p.icmpAbout.dport}`
    : "";
  const icmp =
    p.proto === "icmp"
      ? ` type ${p.icmpType ?? 8}${isIcmpError(p) ? ` code ${p.icmpCode ?? 0}${about}` : ` id ${p.sport}`}`
      : "";
  const mark = p.mark !== 0 ? ` mark 0x${p.mark.toString(16)}` : "";
  const owner = p.uid !== undefined ? ` uid ${p.uid}${p.gid !== undefined ? ` gid ${p.gid}` : ""}` : "";
  const inner = p.encap ? ` (vxlan vni ${p.encap.vni}: ${formatPacket(p.encap.packet)})` : "";
  return `${p.proto} ${ep(p.src, p.sport)} > ${ep(p.dst, p.dport)}${flags}${icmp} len ${p.size}${mark}${owner}${inner}`;
}

/** Parse `aa:bb:cc:dd:ee:ff` into a 48-bit number. @throws TypeError on bad text. */
export function parseMac(text: string): number {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((x) => !/^[0-9a-fA-F]{1,2}$/.test(x))) {
    throw new TypeError(`invalid MAC address ${JSON.stringify(text)}: expected six hex bytes like 02:00:00:00:00:01`);
  }
  let v = 0;
  for (const x of parts) v = v * 256 + Number.parseInt(x, 16);
  return v;
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Format a 48-bit number as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: number): string {
  const hi = Math.floor(mac / 0x100000000);
  const lo = mac >>> 0;
  return `${HEX2[(hi >>> 8) & 255]}:${HEX2[hi & 255]}:${HEX2[lo >>> 24]}:${HEX2[(lo >>> 16) & 255]}:${HEX2[(lo >>> 8) & 255]}:${HEX2[lo & 255]}`;
}

/** The broadcast MAC `ff:ff:ff:ff:ff:ff` as a number. */
export const BROADCAST_MAC = 0xffffffffffff;
