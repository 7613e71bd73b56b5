import type { Addr } from "@knet/netstack";
import type { RealServer } from "./real-server.js";

/** The IPVS schedulers of the Linux kernel this package implements. */
export type SchedulerName = "rr" | "wrr" | "lc" | "wlc" | "sed" | "nq" | "sh" | "dh" | "mh" | "lblc" | "lblcr";

/** Every {@link SchedulerName}. */
export const SCHEDULER_NAMES: readonly SchedulerName[] = [
  "rr",
  "wrr",
  "lc",
  "wlc",
  "sed",
  "nq",
  "sh",
  "dh",
  "mh",
  "lblc",
  "lblcr",
];

/** The packet fields a scheduler may look at. */
export interface SchedPacket {
  /** Source address. */
  readonly src: Addr;
  /** Destination address (the virtual address). */
  readonly dst: Addr;
  /** Source port. */
  readonly sport: number;
}

/** A change of a virtual server's destination list, as the kernel reports it to the scheduler. */
export interface DestChange {
  /** `add_dest`, `del_dest` or `upd_dest`. */
  readonly kind: "add" | "del" | "upd";
  /** The destination. */
  readonly dest: RealServer;
  /** For `del`: the index the destination had in the list before removal. */
  readonly index: number;
}

/** Scheduler flags of a virtual server (`ipvsadm -b`). */
export interface SchedFlags {
  /** `sh-fallback` / `mh-fallback` (`IP_VS_SVC_F_SCHED1`): pick another server when the hashed one is unavailable. */
  readonly fallback: boolean;
  /** `sh-port` / `mh-port` (`IP_VS_SVC_F_SCHED2`): hash the source port too. */
  readonly port: boolean;
}

/**
 * One virtual server's scheduler state (`svc->sched_data`) and algorithm.
 * `dests` is the virtual server's destination list in the kernel's order.
 */
export interface Scheduler {
  /** Its name. */
  readonly name: SchedulerName;
  /** The destination list changed (the kernel's add_dest/del_dest/upd_dest callbacks). */
  changed(dests: readonly RealServer[], change: DestChange): void;
  /**
   * Choose a destination for a new connection, or undefined when none is
   * available (`now` in ms, for the locality schedulers' expiry).
   */
  schedule(dests: readonly RealServer[], packet: SchedPacket, now: number): RealServer | undefined;
}
