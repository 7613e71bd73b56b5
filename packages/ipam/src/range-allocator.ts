/**
 * host-local's per-range-set allocator: a requested IP if one falls into the
 * set, otherwise round-robin from the IP after `last_reserved_ip.<set>`,
 * wrapping over the set's ranges and skipping gateways.
 */
import type { Addr } from "@knet/netstack";
import { IpamError } from "./errors.js";
import { type IpRange, type RangeSet, rangeFor, rangeSetToString } from "./ip-range.js";
import type { IpamStore } from "./store.js";

/** One allocated address with its subnet and gateway. */
export interface IpAllocation {
  /** The address. */
  readonly ip: Addr;
  /** The range it came from (its subnet gives the result's mask). */
  readonly range: IpRange;
  /** `ip/prefix-length of the subnet`, as a CNI result prints it. */
  readonly address: string;
  /** The range's gateway. */
  readonly gateway: Addr;
}

/**
 * The candidate order of a dynamic allocation, exactly as host-local's
 * `RangeIter`: start after `last` when it lies in the set (so `last` itself is
 * tried last), else at the first range's start; skip gateways; one full cycle.
 */
export function* candidateOrder(set: RangeSet, last: Addr | undefined): Generator<[Addr, IpRange]> {
  if (set.length === 0) return;
  let idx = 0;
  let cur: Addr | undefined;
  let start: Addr | undefined;
  if (last !== undefined) {
    const i = set.findIndex((r) => rangeContainsFast(r, last));
    if (i >= 0) {
      idx = i;
      cur = last;
    }
  }
  if (cur === undefined) start = (set[0] as IpRange).rangeStart;
  for (;;) {
    let r = set[idx] as IpRange;
    if (cur === undefined) {
      cur = r.rangeStart;
      start = cur;
    } else {
      if (cur.equals(r.rangeEnd)) {
        idx = (idx + 1) % set.length;
        r = set[idx] as IpRange;
        cur = r.rangeStart;
      } else {
        cur = cur.next();
      }
      if (start === undefined) start = cur;
      else if (cur.equals(start)) return;
    }
    if (cur.equals(r.gateway)) continue;
    yield [cur, r];
  }
}

function rangeContainsFast(r: IpRange, a: Addr): boolean {
  return r.subnet.contains(a) && a.compare(r.rangeStart) >= 0 && a.compare(r.rangeEnd) <= 0;
}

function allocation(ip: Addr, range: IpRange): IpAllocation {
  return { ip, range, address: `${ip}/${range.subnet.length}`, gateway: range.gateway };
}

/** True for a subnet whose network address is all zeros (`0.0.0.0/n`, `::/n`). */
function zeroNetwork(r: IpRange): boolean {
  const t = r.subnet.addr.toString();
  return t === "0.0.0.0" || t === "::";
}

/**
 * A subnet whose network address is all zeros, `0.0.0.0/0` and `::/0` above
 * all: host-local computes the default rangeStart and gateway (network + 1) as
 * a one-byte IP, which it prints as `?01` and never finds allocatable, so every
 * ADD fails with "no IP addresses available in range set: ?01-…". We refuse
 * the same way, before touching the store. (Where host-local does reserve an
 * address in such a subnet, with an explicit rangeStart or a requested IP, it
 * then fails to print the one-byte gateway and leaves the record behind; we
 * refuse those ADDs too.)
 */
function refuseZeroNetwork(set: RangeSet): void {
  if (!set.some(zeroNetwork)) return;
  const start = (r: IpRange): string =>
    zeroNetwork(r) && r.rangeStart.equals(r.subnet.addr.next()) ? "?01" : r.rangeStart.toString();
  const text = set.map((r) => `${start(r)}-${r.rangeEnd}`).join(",");
  throw new IpamError(`no IP addresses available in range set: ${text}`, "ipam.ranges");
}

/** Allocates from one range set against a store, as host-local's `IPAllocator`. */
export class RangeAllocator {
  /** The range set. */
  readonly rangeSet: RangeSet;
  /** Its index in the config (names `last_reserved_ip.<id>`). */
  readonly rangeId: string;
  private readonly store: IpamStore;

  /** An allocator for set number `index` of a config. */
  constructor(rangeSet: RangeSet, store: IpamStore, index: number) {
    this.rangeSet = rangeSet;
    this.store = store;
    this.rangeId = String(index);
  }

  /**
   * Reserve an address for `(id, ifname)`: `requested` if given, else the next
   * free one. Takes the store lock for the duration.
   * @throws {@link IpamError} with host-local's texts (`requested ip X is subnet's gateway`,
   * `requested IP address X is not available in range set …`,
   * `X has been allocated to ID, duplicate allocation is not allowed`,
   * `no IP addresses available in range set: …`).
   */
  get(id: string, ifname: string, requested?: Addr): IpAllocation {
    refuseZeroNetwork(this.rangeSet);
    this.store.lock();
    try {
      if (requested !== undefined) {
        const r = rangeFor(this.rangeSet, requested);
        if (!r) throw new IpamError(`${requested} not in range set ${rangeSetToString(this.rangeSet)}`);
        if (requested.equals(r.gateway)) throw new IpamError(`requested ip ${requested} is subnet's gateway`);
        if (!this.store.reserve(id, ifname, requested, this.rangeId)) {
          throw new IpamError(
            `requested IP address ${requested} is not available in range set ${rangeSetToString(this.rangeSet)}`,
          );
        }
        return allocation(requested, r);
      }
      for (const held of this.store.getById(id, ifname)) {
        if (rangeFor(this.rangeSet, held)) {
          throw new IpamError(`${held} has been allocated to ${id}, duplicate allocation is not allowed`);
        }
      }
      const last = this.store.lastReservedIp(this.rangeId);
      for (const [ip, r] of candidateOrder(this.rangeSet, last)) {
        if (this.store.reserve(id, ifname, ip, this.rangeId)) return allocation(ip, r);
      }
      throw new IpamError(`no IP addresses available in range set: ${rangeSetToString(this.rangeSet)}`);
    } finally {
      this.store.unlock();
    }
  }

  /** Release everything `(id, ifname)` holds (host-local's `ReleaseByID`, store-wide). */
  release(id: string, ifname: string): Addr[] {
    this.store.lock();
    try {
      return this.store.releaseById(id, ifname);
    } finally {
      this.store.unlock();
    }
  }
}
