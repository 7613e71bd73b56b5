/**
 * lblc and lblcr, as net/netfilter/ipvs/ip_vs_lblc.c and ip_vs_lblcr.c
 * implement them: a per-virtual-server cache keyed by the packet's destination
 * address (for kube-proxy's virtual servers that is always the VIP, so one
 * entry per virtual server). Entries are looked up by exact address (the
 * kernel's 1024-bucket `hash_32` table only spreads them; it never changes
 * which entry is found).
 */
import type { RealServer } from "../real-server.js";
import type { SchedPacket, Scheduler } from "../scheduler.js";

/** `DEFAULT_EXPIRATION` of both modules (the `lblc_expiration` / `lblcr_expiration` sysctls): 24 hours. */
export const LBLC_EXPIRATION_MS = 24 * 60 * 60 * 1000;

/** The weighted least-connection pick shared by both (`__ip_vs_lblc_schedule`). */
function wlcPick(dests: readonly RealServer[]): RealServer | undefined {
  let i = 0;
  let least: RealServer | undefined;
  for (; i < dests.length; i++) {
    const d = dests[i] as RealServer;
    if (d.overloaded) continue;
    if (d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === undefined) return undefined;
  let loh = least.overhead();
  for (i++; i < dests.length; i++) {
    const d = dests[i] as RealServer;
    if (d.overloaded) continue;
    const doh = d.overhead();
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** More active connections than its weight while some destination is below half its weight. */
function isOverloaded(dest: RealServer, dests: readonly RealServer[]): boolean {
  if (dest.activeConns > dest.weight) {
    for (const d of dests) if (d.activeConns * 2 < d.weight) return true;
  }
  return false;
}

function addrKey(p: SchedPacket): string {
  return p.dst.toString();
}

/**
 * lblc: the cached server for the destination address, unless it is gone,
 * has weight 0, or is overloaded (see `is_overloaded`); then a weighted
 * least-connection pick replaces the cache entry.
 */
export class LocalityLeastConnection implements Scheduler {
  /** `lblc`. */
  readonly name = "lblc";
  /** Destination address → cached server and last use (ms). */
  readonly cache = new Map<string, { dest: RealServer; lastuse: number }>();
  changed(): void {}
  schedule(dests: readonly RealServer[], pkt: SchedPacket, now: number): RealServer | undefined {
    const key = addrKey(pkt);
    const en = this.cache.get(key);
    if (en !== undefined) {
      en.lastuse = now;
      const d = en.dest;
      if (d.available && d.weight > 0 && !isOverloaded(d, dests)) return d;
    }
    const dest = wlcPick(dests);
    if (dest === undefined) return undefined;
    this.cache.set(key, { dest, lastuse: now });
    return dest;
  }
}

/**
 * lblcr: a server set per destination address; the set's weighted
 * least-connection member serves unless overloaded, in which case the
 * cluster-wide pick joins the set. A set unchanged for `expiration` ms that has
 * more than one member loses its most loaded member.
 */
export class LocalityLeastConnectionReplicated implements Scheduler {
  /** `lblcr`. */
  readonly name = "lblcr";
  /** Destination address → server set (newest first, as the kernel's list) and times. */
  readonly cache = new Map<string, { set: RealServer[]; lastmod: number; lastuse: number }>();
  /** Expiration in ms (`lblcr_expiration`). */
  readonly expiration: number;

  constructor(expiration = LBLC_EXPIRATION_MS) {
    this.expiration = expiration;
  }

  changed(): void {}

  private static setMin(set: readonly RealServer[]): RealServer | undefined {
    let i = 0;
    let least: RealServer | undefined;
    for (; i < set.length; i++) {
      const d = set[i] as RealServer;
      if (d.overloaded) continue;
      if (d.weight > 0 && d.available) {
        least = d;
        break;
      }
    }
    if (least === undefined) return undefined;
    let loh = least.overhead();
    for (i++; i < set.length; i++) {
      const d = set[i] as RealServer;
      if (d.overloaded) continue;
      const doh = d.overhead();
      if (loh * d.weight > doh * least.weight && d.available) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }

  private static setMax(set: readonly RealServer[]): RealServer | undefined {
    let i = 0;
    let most: RealServer | undefined;
    for (; i < set.length; i++) {
      const d = set[i] as RealServer;
      if (d.weight > 0) {
        most = d;
        break;
      }
    }
    if (most === undefined) return undefined;
    let moh = most.overhead();
    for (i++; i < set.length; i++) {
      const d = set[i] as RealServer;
      const doh = d.overhead();
      if (moh * d.weight < doh * most.weight && d.weight > 0) {
        most = d;
        moh = doh;
      }
    }
    return most;
  }

  schedule(dests: readonly RealServer[], pkt: SchedPacket, now: number): RealServer | undefined {
    const key = addrKey(pkt);
    const en = this.cache.get(key);
    if (en !== undefined) {
      en.lastuse = now;
      const dest = LocalityLeastConnectionReplicated.setMin(en.set);
      if (en.set.length > 1 && now > en.lastmod + this.expiration) {
        const m = LocalityLeastConnectionReplicated.setMax(en.set);
        if (m !== undefined) {
          en.set.splice(en.set.indexOf(m), 1);
          en.lastmod = now;
        }
      }
      if (dest !== undefined && !isOverloaded(dest, dests)) return dest;
      const pick = wlcPick(dests);
      if (pick === undefined) return undefined;
      if (!en.set.includes(pick)) {
        en.set.unshift(pick);
        en.lastmod = now;
      }
      return pick;
    }
    const pick = wlcPick(dests);
    if (pick === undefined) return undefined;
    this.cache.set(key, { set: [pick], lastmod: now, lastuse: now });
    return pick;
  }
}
