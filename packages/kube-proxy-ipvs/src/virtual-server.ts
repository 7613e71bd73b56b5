import { type Protocol, ProxyEngineError } from "@knet/kube-proxy";
import type { Addr } from "@knet/netstack";
import { RealServer } from "./real-server.js";
import type { SchedFlags, Scheduler, SchedulerName } from "./scheduler.js";
import { createScheduler } from "./schedulers/create.js";

/** What a virtual server is made from (`ipvsadm -A` / `-E`). */
export interface VirtualServerSpec {
  /** Protocol. */
  readonly protocol: Protocol;
  /** Virtual address. */
  readonly addr: Addr;
  /** Virtual port. */
  readonly port: number;
  /** Scheduler (default rr). */
  readonly scheduler?: SchedulerName;
  /** Persistence timeout in seconds (`-p`); 0 or unset: not persistent. */
  readonly persistentTimeout?: number;
  /** Scheduler flags (`-b`). */
  readonly flags?: SchedFlags;
  /** mh table size (default 4093). */
  readonly mhTableSize?: number;
}

/** The table key of a virtual server: protocol, address and port. */
export function virtualServerKey(protocol: Protocol, addr: Addr, port: number): string {
  return `${protocol}/${addr.toString()}/${port}`;
}

/**
 * One IPVS virtual service (`struct ip_vs_service`): the destination list in
 * the kernel's order (a destination added later goes to the head, as
 * `list_add_rcu` does) and its scheduler state.
 */
export class VirtualServer {
  /** Protocol. */
  readonly protocol: Protocol;
  /** Virtual address. */
  readonly addr: Addr;
  /** Virtual port. */
  readonly port: number;
  /** Table key (see {@link virtualServerKey}). */
  readonly key: string;
  /** Persistence timeout in seconds (0: none). */
  persistentTimeout: number;
  /** Scheduler flags. */
  flags: SchedFlags;
  /** Destinations in the kernel's list order. */
  readonly dests: RealServer[] = [];
  private sched: Scheduler;
  private readonly mhTableSize: number | undefined;

  constructor(spec: VirtualServerSpec) {
    this.protocol = spec.protocol;
    this.addr = spec.addr;
    this.port = spec.port;
    this.key = virtualServerKey(spec.protocol, spec.addr, spec.port);
    this.persistentTimeout = spec.persistentTimeout ?? 0;
    this.flags = spec.flags ?? { fallback: false, port: false };
    this.mhTableSize = spec.mhTableSize;
    this.sched = createScheduler(spec.scheduler ?? "rr", this.dests, this.schedOptions());
  }

  private schedOptions(): { flags: SchedFlags; mhTableSize?: number } {
    return this.mhTableSize === undefined
      ? { flags: this.flags }
      : { flags: this.flags, mhTableSize: this.mhTableSize };
  }

  /** The scheduler state. */
  get scheduler(): Scheduler {
    return this.sched;
  }

  /** Replace the scheduler (`ipvsadm -E -s`): a fresh state over the current destinations. */
  setScheduler(name: SchedulerName): void {
    if (name !== this.sched.name) this.sched = createScheduler(name, this.dests, this.schedOptions());
  }

  /** The destination `addr:port`, if present. */
  findDest(addr: Addr, port: number): RealServer | undefined {
    for (const d of this.dests) if (d.port === port && d.addr.equals(addr)) return d;
    return undefined;
  }

  /**
   * Add a destination (`ipvsadm -a`): it goes to the head of the list.
   * @throws Error when it already exists.
   */
  addDest(addr: Addr, port: number, weight = 1): RealServer {
    if (this.findDest(addr, port))
      throw new ProxyEngineError("ipvs", `destination ${addr}:${port} already exists in ${this.key}`);
    const d = new RealServer(addr, port, weight);
    this.dests.unshift(d);
    this.sched.changed(this.dests, { kind: "add", dest: d, index: 0 });
    return d;
  }

  /** Change a destination's weight (`ipvsadm -e`). */
  updateDest(dest: RealServer, weight: number): void {
    dest.setWeight(weight);
    this.sched.changed(this.dests, { kind: "upd", dest, index: this.dests.indexOf(dest) });
  }

  /** Remove a destination (`ipvsadm -d`); its connections keep it alive in the kernel's trash, unavailable. */
  deleteDest(dest: RealServer): void {
    const index = this.dests.indexOf(dest);
    if (index < 0) return;
    this.dests.splice(index, 1);
    dest.available = false;
    this.sched.changed(this.dests, { kind: "del", dest, index });
  }
}
