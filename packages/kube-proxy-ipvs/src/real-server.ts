import type { Addr } from "@knet/netstack";
import { addrFold } from "./hash.js";

/**
 * One IPVS destination (`struct ip_vs_dest`): a real server of a virtual
 * server with its weight and the connection counters the schedulers read.
 * Counters change as connections are created, established, closed and expire
 * ({@link IpvsTable}).
 */
export class RealServer {
  /** Address. */
  readonly addr: Addr;
  /** Port. */
  readonly port: number;
  /** `ip:port` (`[ip]:port` for IPv6). */
  readonly endpoint: string;
  /** The schedulers' fold of the address (see `addrFold`). */
  readonly fold: number;
  /** Current weight; 0 quiesces the server (no new connections). */
  weight: number;
  /** The latest non-zero weight (`last_weight`, what the mh scheduler tiles by). */
  lastWeight: number;
  /** Connections in TCP ESTABLISHED (`activeconns`). */
  activeConns = 0;
  /** Other connections: TCP handshakes and closing states, all UDP (`inactconns`). */
  inactConns = 0;
  /** Persistence templates pointing here (`persistconns`). */
  persistConns = 0;
  /** `IP_VS_DEST_F_OVERLOAD` (upper connection threshold reached; kube-proxy sets no thresholds). */
  overloaded = false;
  /** `IP_VS_DEST_F_AVAILABLE`: false once deleted from its virtual server. */
  available = true;

  constructor(addr: Addr, port: number, weight: number) {
    this.addr = addr;
    this.port = port;
    this.endpoint = addr.family === 6 ? `[${addr.toString()}]:${port}` : `${addr.toString()}:${port}`;
    this.fold = addrFold(addr);
    this.weight = weight;
    this.lastWeight = weight;
  }

  /** Set the weight as `ipvsadm -e` does (`last_weight` keeps the latest non-zero weight). */
  setWeight(weight: number): void {
    this.weight = weight;
    if (weight !== 0) this.lastWeight = weight;
  }

  /** `ip_vs_dest_conn_overhead()`: `activeconns * 256 + inactconns`. */
  overhead(): number {
    return this.activeConns * 256 + this.inactConns;
  }
}
