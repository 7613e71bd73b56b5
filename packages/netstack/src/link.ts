import type { Addr } from "./addr.js";
import type { Prefix } from "./prefix.js";

/** Link kinds the dataplane models. */
export type LinkKind = "loopback" | "veth" | "bridge" | "vxlan" | "dummy";

/** Address scope (`ip addr` prints it): host for 127/8 and ::1, link for fe80::/10, global otherwise. */
export type AddrScope = "host" | "link" | "global";

/** An address assigned to a link (`ip addr add A/LEN dev D`). */
export interface IfAddr {
  /** The address. */
  readonly addr: Addr;
  /** The connected network (`addr` masked to its length). */
  readonly prefix: Prefix;
  /** Scope. */
  readonly scope: AddrScope;
  /** Secondary: another address on the link already covers the same network. */
  readonly secondary: boolean;
}

/** A bridge forwarding-database entry. */
export interface FdbEntry {
  /** Port the MAC was seen on (a link enslaved to the bridge), or the bridge itself for local entries. */
  readonly port: Link;
  /** Last time (ms) it was learned or refreshed. */
  updated: number;
  /** Permanent (the bridge's and its ports' own MACs, or added with `static`). */
  readonly permanent: boolean;
}

/** VXLAN settings (`ip link add NAME type vxlan id VNI local A dstport P dev D`). */
export interface VxlanConfig {
  /** VXLAN network identifier. */
  readonly vni: number;
  /** Local VTEP address; the route's source when absent. */
  readonly local: Addr | undefined;
  /** UDP destination port: 4789 (IANA) or 8472 (Linux default, flannel). */
  readonly dstport: number;
  /** Underlay device name. */
  readonly underlay: string | undefined;
  /** Learn remote MACs from received packets (`learning`, kernel default on). */
  readonly learning: boolean;
}

/**
 * A network device in a namespace. One class for every kind; the fields of
 * other kinds stay empty. State that the dataplane changes (FDB, up/down,
 * addresses) lives here; use the namespace's methods to change it so routes
 * follow.
 */
export class Link {
  /** Device name (at most 15 characters). */
  readonly name: string;
  /** Kind. */
  readonly kind: LinkKind;
  /** Namespace name. */
  readonly ns: string;
  /** Interface index within the namespace. */
  readonly index: number;
  /** MAC address (48-bit number). */
  mac: number;
  /** MTU in bytes. */
  mtu: number;
  /** Administratively up. */
  up = true;
  /** Addresses, in the order added. */
  readonly addresses: IfAddr[] = [];
  /** Bridge this link is a port of. */
  master: Link | undefined;
  /** Hairpin mode as a bridge port (send frames back out the port they came in on). */
  hairpin = false;
  /** The other end (veth). */
  peer: Link | undefined;
  /** Ports (bridge). */
  readonly ports: Link[] = [];
  /** Forwarding database (bridge): MAC -> entry. */
  readonly fdb = new Map<number, FdbEntry>();
  /** FDB ageing time in ms (bridge; kernel default 300 s). */
  ageingMs = 300_000;
  /** VXLAN settings. */
  vxlan: VxlanConfig | undefined;
  /** VXLAN FDB: inner MAC -> remote VTEPs (MAC 0 is the all-zeros default entry). */
  readonly vtepFdb = new Map<number, Addr[]>();

  /** Created by the namespace; not for direct use. */
  constructor(ns: string, name: string, kind: LinkKind, index: number, mac: number, mtu: number) {
    this.ns = ns;
    this.name = name;
    this.kind = kind;
    this.index = index;
    this.mac = mac;
    this.mtu = mtu;
  }
}
