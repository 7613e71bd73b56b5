import type { RealServer } from "../real-server.js";
import type { SchedFlags, Scheduler, SchedulerName } from "../scheduler.js";
import { DestinationHashing, MaglevHashing, SourceHashing } from "./hashing.js";
import { LeastConnection, NeverQueue, ShortestExpectedDelay, WeightedLeastConnection } from "./least-conn.js";
import { LocalityLeastConnection, LocalityLeastConnectionReplicated } from "./locality.js";
import { RoundRobin, WeightedRoundRobin } from "./round-robin.js";

/** Options of {@link createScheduler}. */
export interface SchedulerOptions {
  /** sh/mh flags (`ipvsadm -b`). */
  readonly flags?: SchedFlags;
  /** mh table size (default 4093, the kernel's default). */
  readonly mhTableSize?: number;
}

/** A fresh scheduler state for a virtual server with destinations `dests` (the kernel's `init_service`). */
export function createScheduler(
  name: SchedulerName,
  dests: readonly RealServer[],
  options: SchedulerOptions = {},
): Scheduler {
  const flags = options.flags ?? { fallback: false, port: false };
  switch (name) {
    case "rr":
      return new RoundRobin();
    case "wrr":
      return new WeightedRoundRobin(dests);
    case "lc":
      return new LeastConnection();
    case "wlc":
      return new WeightedLeastConnection();
    case "sed":
      return new ShortestExpectedDelay();
    case "nq":
      return new NeverQueue();
    case "sh":
      return new SourceHashing(dests, flags);
    case "dh":
      return new DestinationHashing(dests);
    case "mh":
      return new MaglevHashing(dests, flags, options.mhTableSize);
    case "lblc":
      return new LocalityLeastConnection();
    case "lblcr":
      return new LocalityLeastConnectionReplicated();
  }
}
