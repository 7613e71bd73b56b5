/**
 * lc, wlc, sed and nq, as net/netfilter/ipvs/ip_vs_lc.c, ip_vs_wlc.c,
 * ip_vs_sed.c and ip_vs_nq.c implement them. Loads are compared by
 * cross-multiplying with the weights (`loh * dw > doh * lw`), in list order,
 * so ties go to the earlier destination.
 */
import type { RealServer } from "../real-server.js";
import type { Scheduler } from "../scheduler.js";

/** ip_vs_lc.c: the least `activeconns * 256 + inactconns` among non-overloaded, non-zero-weight destinations. */
export class LeastConnection implements Scheduler {
  /** `lc`. */
  readonly name = "lc";
  changed(): void {}
  schedule(dests: readonly RealServer[]): RealServer | undefined {
    let least: RealServer | undefined;
    let loh = 0;
    for (const d of dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.overhead();
      if (least === undefined || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/**
 * The shape wlc and sed share: the first non-overloaded destination with
 * weight > 0 starts; any later non-overloaded one with `loh * dw > doh * lw` replaces it.
 */
function weightedLeast(dests: readonly RealServer[], overhead: (d: RealServer) => number): RealServer | undefined {
  let i = 0;
  let least: RealServer | undefined;
  for (; i < dests.length; i++) {
    const d = dests[i] as RealServer;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === undefined) return undefined;
  let loh = overhead(least);
  for (i++; i < dests.length; i++) {
    const d = dests[i] as RealServer;
    if (d.overloaded) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_wlc.c: least `(activeconns * 256 + inactconns) / weight`. */
export class WeightedLeastConnection implements Scheduler {
  /** `wlc`. */
  readonly name = "wlc";
  changed(): void {}
  schedule(dests: readonly RealServer[]): RealServer | undefined {
    return weightedLeast(dests, (d) => d.overhead());
  }
}

/** ip_vs_sed.c: shortest expected delay, least `(activeconns + 1) / weight`. */
export class ShortestExpectedDelay implements Scheduler {
  /** `sed`. */
  readonly name = "sed";
  changed(): void {}
  schedule(dests: readonly RealServer[]): RealServer | undefined {
    return weightedLeast(dests, (d) => d.activeConns + 1);
  }
}

/** ip_vs_nq.c: never queue, the first idle (no active connection) destination, else as sed. */
export class NeverQueue implements Scheduler {
  /** `nq`. */
  readonly name = "nq";
  changed(): void {}
  schedule(dests: readonly RealServer[]): RealServer | undefined {
    let least: RealServer | undefined;
    let loh = 0;
    for (const d of dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.activeConns + 1;
      if (d.activeConns === 0) return d;
      if (least === undefined || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
