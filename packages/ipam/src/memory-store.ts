import { Addr } from "@knet/netstack";
import { type IpamStore, ownerKey, parseOwnerKey, type Reservation } from "./store.js";

/**
 * An in-memory {@link IpamStore} with host-local's semantics (owner matching,
 * legacy records, last reserved IP per range set). For simulations and tests;
 * the lock is a no-op since a single JS thread owns it.
 */
export class MemoryStore implements IpamStore {
  private readonly owners = new Map<string, string>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly last = new Map<string, string>();

  /** Take the (no-op) lock. */
  lock(): void {}

  /** Release the (no-op) lock. */
  unlock(): void {}

  /** See {@link IpamStore.reserve}. */
  reserve(id: string, ifname: string, ip: Addr, rangeId: string): boolean {
    const key = ip.toString();
    if (this.owners.has(key)) return false;
    this.put(key, ownerKey(id, ifname));
    this.last.set(rangeId, key);
    return true;
  }

  /**
   * Write a record as is (e.g. a legacy `id`-only record, or state copied from
   * another store). Overwrites an existing record of `ip`.
   */
  seed(ip: Addr, content: string): void {
    const key = ip.toString();
    if (this.owners.has(key)) this.remove(key);
    this.put(key, content.trim());
  }

  /** Set the last reserved IP of a range set. */
  setLastReservedIp(rangeId: string, ip: Addr): void {
    this.last.set(rangeId, ip.toString());
  }

  /** See {@link IpamStore.lastReservedIp}. */
  lastReservedIp(rangeId: string): Addr | undefined {
    const t = this.last.get(rangeId);
    return t === undefined ? undefined : Addr.parse(t);
  }

  /** See {@link IpamStore.getById}. */
  getById(id: string, ifname: string): Addr[] {
    const keys = [...(this.byOwner.get(ownerKey(id, ifname)) ?? []), ...(this.byOwner.get(id.trim()) ?? [])];
    return keys.sort().map((k) => Addr.parse(k));
  }

  /** See {@link IpamStore.findById}. */
  findById(id: string, ifname: string): boolean {
    return (this.byOwner.get(ownerKey(id, ifname))?.size ?? 0) > 0 || (this.byOwner.get(id.trim())?.size ?? 0) > 0;
  }

  /** See {@link IpamStore.releaseById}. */
  releaseById(id: string, ifname: string): Addr[] {
    let set = this.byOwner.get(ownerKey(id, ifname));
    if (!set || set.size === 0) set = this.byOwner.get(id.trim());
    if (!set) return [];
    const keys = [...set].sort();
    for (const k of keys) this.remove(k);
    return keys.map((k) => Addr.parse(k));
  }

  /** See {@link IpamStore.reservations}. */
  reservations(): Reservation[] {
    return [...this.owners.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([ip, content]) => ({ ip: Addr.parse(ip), ...parseOwnerKey(content) }));
  }

  /** Last reserved IPs by range set ID (for inspection and comparison with a disk store). */
  lastReserved(): ReadonlyMap<string, string> {
    return this.last;
  }

  /** Nothing to release. */
  close(): void {}

  private put(key: string, content: string): void {
    this.owners.set(key, content);
    let s = this.byOwner.get(content);
    if (!s) {
      s = new Set();
      this.byOwner.set(content, s);
    }
    s.add(key);
  }

  private remove(key: string): void {
    const content = this.owners.get(key);
    if (content === undefined) return;
    this.owners.delete(key);
    const s = this.byOwner.get(content);
    s?.delete(key);
    if (s && s.size === 0) this.byOwner.delete(content);
  }
}
