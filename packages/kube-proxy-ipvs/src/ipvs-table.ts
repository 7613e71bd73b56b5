import { type Protocol, ProxyEngineError } from "@knet/kube-proxy";
import type { Addr } from "@knet/netstack";
import type { RealServer } from "./real-server.js";
import type { SchedPacket } from "./scheduler.js";
import { VirtualServer, type VirtualServerSpec, virtualServerKey } from "./virtual-server.js";

/** IPVS connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`; kernel defaults 900 120 300). */
export interface IpvsTimeouts {
  /** Established TCP connections. */
  readonly tcp: number;
  /** TCP connections after FIN. */
  readonly tcpfin: number;
  /** UDP "connections". */
  readonly udp: number;
}

/** The kernel's default timeouts. */
export const DEFAULT_TIMEOUTS: IpvsTimeouts = { tcp: 900, tcpfin: 120, udp: 300 };

/** One IPVS connection entry (`struct ip_vs_conn`). */
export interface IpvsConnection {
  /** Virtual server. */
  readonly vs: VirtualServer;
  /** Real server. */
  readonly dest: RealServer;
  /** Client address. */
  readonly client: Addr;
  /** Client port. */
  readonly cport: number;
  /** `SYN_RECV`, `ESTABLISHED`, `FIN_WAIT` (TCP) or `UDP`. */
  state: "SYN_RECV" | "ESTABLISHED" | "FIN_WAIT" | "UDP";
  /** Expiry time in ms. */
  expires: number;
  /** The persistence template controlling it, if any. */
  readonly template: PersistenceTemplate | undefined;
}

/** A persistence template (`IP_VS_CONN_F_TEMPLATE`): client → real server for a persistent virtual server. */
export interface PersistenceTemplate {
  /** Virtual server. */
  readonly vs: VirtualServer;
  /** Client address. */
  readonly client: string;
  /** Real server. */
  readonly dest: RealServer;
  /** Expiry in ms (re-armed to the full timeout every time a new connection uses it). */
  expires: number;
  /** Connections it controls (`n_control`); it outlives its timeout while any remains. */
  controlled: number;
}

/** Result of {@link IpvsTable.connect}. */
export type ScheduleResult =
  | {
      /** A real server was chosen and a connection created. */
      readonly kind: "scheduled";
      /** The connection. */
      readonly conn: IpvsConnection;
      /** Whether a persistence template decided the server. */
      readonly viaTemplate: boolean;
    }
  | {
      /**
       * No real server available: the kernel's `ip_vs_leave()` answers ICMP port
       * unreachable and drops the packet (for persistent services too).
       */
      readonly kind: "unavailable";
    };

/** Options of {@link IpvsTable}. */
export interface IpvsTableOptions {
  /** `net.ipv4.vs.expire_quiescent_template` (kube-proxy sets 1): templates to a weight-0 server are dropped. */
  readonly expireQuiescentTemplate?: boolean;
  /** Connection timeouts. */
  readonly timeouts?: IpvsTimeouts;
}

/** Options of {@link IpvsTable.connect}. */
export interface ConnectOptions {
  /** Complete the TCP handshake at once (the connection counts as active). Default true. */
  readonly establish?: boolean;
}

const PROTO_INDEX: Readonly<Record<Protocol, number>> = { tcp: 0, udp: 1, sctp: 2 };

/**
 * The IPVS table of one network namespace: virtual servers found by a hash
 * lookup on (protocol, address, port) as `ip_vs_service_find()` does (O(1),
 * independent of the number of services), the connection table with the
 * counters the schedulers read, and persistence templates.
 */
export class IpvsTable {
  private readonly v4 = new Map<number, VirtualServer>();
  private readonly v6 = new Map<string, VirtualServer>();
  private readonly conns = new Set<IpvsConnection>();
  private readonly templates = new Map<string, PersistenceTemplate>();
  /** Options in force. */
  readonly expireQuiescentTemplate: boolean;
  /** Timeouts in force. */
  readonly timeouts: IpvsTimeouts;

  constructor(options: IpvsTableOptions = {}) {
    this.expireQuiescentTemplate = options.expireQuiescentTemplate ?? true;
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  }

  private static numKey(protocol: Protocol, addr: Addr, port: number): number {
    // 32 bits of address, 16 of port, 2 of protocol: 50 bits, exact in a double
    return addr.w3 * 262144 + port * 4 + PROTO_INDEX[protocol];
  }

  /** The virtual server for (protocol, address, port), if any: one hash lookup. */
  lookup(protocol: Protocol, addr: Addr, port: number): VirtualServer | undefined {
    if (addr.family === 4) return this.v4.get(IpvsTable.numKey(protocol, addr, port));
    return this.v6.get(virtualServerKey(protocol, addr, port));
  }

  /** Number of virtual servers. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** Every virtual server (insertion order). */
  *services(): IterableIterator<VirtualServer> {
    yield* this.v4.values();
    yield* this.v6.values();
  }

  /**
   * Add a virtual server (`ipvsadm -A`).
   * @throws Error when one with the same protocol, address and port exists.
   */
  addService(spec: VirtualServerSpec): VirtualServer {
    if (this.lookup(spec.protocol, spec.addr, spec.port))
      throw new ProxyEngineError(
        "ipvs",
        `virtual server ${virtualServerKey(spec.protocol, spec.addr, spec.port)} already exists`,
      );
    const vs = new VirtualServer(spec);
    if (spec.addr.family === 4) this.v4.set(IpvsTable.numKey(spec.protocol, spec.addr, spec.port), vs);
    else this.v6.set(vs.key, vs);
    return vs;
  }

  /** Delete a virtual server (`ipvsadm -D`) with its connections and templates. */
  deleteService(vs: VirtualServer): void {
    if (vs.addr.family === 4) this.v4.delete(IpvsTable.numKey(vs.protocol, vs.addr, vs.port));
    else this.v6.delete(vs.key);
    for (const c of this.conns) if (c.vs === vs) this.drop(c);
    for (const [k, t] of this.templates) if (t.vs === vs) this.dropTemplate(k, t);
  }

  private drop(c: IpvsConnection): void {
    this.conns.delete(c);
    if (c.state === "ESTABLISHED") c.dest.activeConns--;
    else c.dest.inactConns--;
    if (c.template) c.template.controlled--;
  }

  private dropTemplate(key: string, t: PersistenceTemplate): void {
    this.templates.delete(key);
    t.dest.persistConns--;
  }

  private templateKey(vs: VirtualServer, client: Addr): string {
    return `${vs.key}|${client.toString()}`;
  }

  /**
   * Schedule a new connection to `vs` as `ip_vs_schedule()` does: through the
   * client's persistence template when the service is persistent and the
   * template's server is still usable (available, and with
   * expire_quiescent_template, weight > 0), else with the scheduler (creating a
   * template for persistent services). The connection starts inactive; with
   * `establish` (default) it is moved to ESTABLISHED (active) at once.
   */
  connect(vs: VirtualServer, packet: SchedPacket, now: number, options: ConnectOptions = {}): ScheduleResult {
    let dest: RealServer | undefined;
    let template: PersistenceTemplate | undefined;
    let viaTemplate = false;
    if (vs.persistentTimeout > 0) {
      const key = this.templateKey(vs, packet.src);
      const t = this.templates.get(key);
      if (t && !(t.expires <= now && t.controlled === 0)) {
        const ok = t.dest.available && !(this.expireQuiescentTemplate && t.dest.weight === 0);
        if (ok) {
          template = t;
          dest = t.dest;
          viaTemplate = true;
        } else this.dropTemplate(key, t);
      } else if (t) this.dropTemplate(key, t);
      if (!dest) {
        dest = vs.scheduler.schedule(vs.dests, packet, now);
        if (!dest) return { kind: "unavailable" };
        template = { vs, client: packet.src.toString(), dest, expires: 0, controlled: 0 };
        dest.persistConns++;
        this.templates.set(key, template);
      }
      (template as PersistenceTemplate).expires = now + vs.persistentTimeout * 1000;
    } else {
      dest = vs.scheduler.schedule(vs.dests, packet, now);
      if (!dest) return { kind: "unavailable" };
    }
    const udp = vs.protocol === "udp";
    const conn: IpvsConnection = {
      vs,
      dest,
      client: packet.src,
      cport: packet.sport,
      state: udp ? "UDP" : "SYN_RECV",
      expires: now + (udp ? this.timeouts.udp : 60) * 1000,
      template,
    };
    dest.inactConns++;
    if (template) template.controlled++;
    this.conns.add(conn);
    if (!udp && options.establish !== false) this.establish(conn, now);
    return { kind: "scheduled", conn, viaTemplate };
  }

  /** The TCP handshake completed: the connection becomes active. */
  establish(conn: IpvsConnection, now: number): void {
    if (conn.state !== "SYN_RECV" || !this.conns.has(conn)) return;
    conn.state = "ESTABLISHED";
    conn.dest.inactConns--;
    conn.dest.activeConns++;
    conn.expires = now + this.timeouts.tcp * 1000;
  }

  /** The connection is closing (TCP FIN: inactive until tcpfin expires; UDP: expires now). */
  close(conn: IpvsConnection, now: number): void {
    if (!this.conns.has(conn)) return;
    if (conn.state === "ESTABLISHED") {
      conn.dest.activeConns--;
      conn.dest.inactConns++;
    }
    if (conn.state === "UDP") conn.expires = now;
    else {
      conn.state = "FIN_WAIT";
      conn.expires = now + this.timeouts.tcpfin * 1000;
    }
  }

  /** Expire connections and templates whose time has come; returns how many connections went. */
  expire(now: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.expires <= now) {
        this.drop(c);
        n++;
      }
    }
    for (const [k, t] of this.templates) if (t.expires <= now && t.controlled === 0) this.dropTemplate(k, t);
    return n;
  }

  /** Live connections (all, or of one real server). */
  connections(dest?: RealServer): IpvsConnection[] {
    return [...this.conns].filter((c) => dest === undefined || c.dest === dest);
  }
}
