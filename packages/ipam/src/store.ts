/**
 * The reservation store host-local's allocator runs against: one record per
 * reserved IP owned by `(containerID, ifname)`, plus the last reserved IP per
 * range set. {@link MemoryStore} keeps it in memory, {@link DiskStore} in
 * host-local's on-disk layout.
 */
import type { Addr } from "@knet/netstack";

/** One reserved address and its owner. */
export interface Reservation {
  /** The reserved address. */
  readonly ip: Addr;
  /** Owner container ID. */
  readonly containerId: string;
  /** Owner interface; `undefined` for records in the legacy format (container ID only). */
  readonly ifname: string | undefined;
}

/**
 * What host-local's allocator needs from a store. Mutating calls happen between
 * {@link IpamStore.lock} and {@link IpamStore.unlock}.
 */
export interface IpamStore {
  /** Take the store's exclusive lock (re-entrant within one store object). */
  lock(): void;
  /** Release one level of the lock. */
  unlock(): void;
  /**
   * Reserve `ip` for `(id, ifname)` and remember it as the last reserved IP of
   * range set `rangeId`. False when the IP is already taken (by anyone).
   */
  reserve(id: string, ifname: string, ip: Addr, rangeId: string): boolean;
  /** The last IP reserved for range set `rangeId`, if recorded. */
  lastReservedIp(rangeId: string): Addr | undefined;
  /** IPs held by `(id, ifname)`, or by `id` in the legacy format, in store order. */
  getById(id: string, ifname: string): Addr[];
  /** True when `(id, ifname)` (or, failing that, legacy `id`) holds any IP. */
  findById(id: string, ifname: string): boolean;
  /**
   * Release every IP of `(id, ifname)`; when there is none, release legacy
   * records of `id`. Releasing nothing is not an error. Returns the released IPs.
   */
  releaseById(id: string, ifname: string): Addr[];
  /** Every reservation, in store order (IP text order). */
  reservations(): Reservation[];
  /** Release resources (file descriptors); the store is unusable afterwards. */
  close(): void;
}

/** The owner key host-local writes: `id\r\nifname` (legacy records: `id`). */
export function ownerKey(id: string, ifname: string): string {
  return `${id.trim()}\r\n${ifname}`;
}

/** Split a stored owner key into container ID and ifname (undefined for legacy records). */
export function parseOwnerKey(content: string): { containerId: string; ifname: string | undefined } {
  const t = content.trim();
  const i = t.indexOf("\r\n");
  if (i < 0) return { containerId: t, ifname: undefined };
  return { containerId: t.slice(0, i), ifname: t.slice(i + 2) };
}
