/**
 * host-local's verbs over any {@link IpamStore}: ADD allocates one address per
 * range set (requested IPs first), DEL releases by `(containerID, ifname)`,
 * CHECK looks for a reservation, GC releases what is not in the valid list.
 */
import { readFileSync } from "node:fs";
import type { Addr } from "@knet/netstack";
import { IpamError } from "./errors.js";
import type { HostLocalConfig, HostLocalRoute } from "./host-local-config.js";
import { rangeFor } from "./ip-range.js";
import { type IpAllocation, RangeAllocator } from "./range-allocator.js";
import type { IpamStore } from "./store.js";

/** The attachment an operation is for. */
export interface Attachment {
  /** `CNI_CONTAINERID`. */
  readonly containerId: string;
  /** `CNI_IFNAME`. */
  readonly ifname: string;
}

/** DNS settings of a result (the CNI result `dns` object). */
export interface ResultDns {
  /** `nameserver` lines, in order. */
  nameservers?: string[];
  /** The last `domain` line. */
  domain?: string;
  /** Words of all `search` lines. */
  search?: string[];
  /** Words of all `options` lines. */
  options?: string[];
}

/** The ADD result in CNI 1.0.0 form (the abbreviated IPAM form: no interfaces). */
export interface HostLocalResult {
  /** Always "1.0.0"; convert to the config's version before printing. */
  readonly cniVersion: "1.0.0";
  /** One entry per range set, in range-set order. */
  readonly ips: { address: string; gateway: string }[];
  /** `ipam.routes`, when there are any. */
  readonly routes?: HostLocalRoute[];
  /** From `ipam.resolvConf`; empty object without it. */
  readonly dns: ResultDns;
}

/**
 * Parse resolv.conf text as host-local does: `nameserver`, `domain` (last wins),
 * `search`, `options`; comments (`#`, `;`) and lines with fewer than two fields skipped.
 */
export function parseResolvConf(text: string): ResultDns {
  const dns: ResultDns = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    const [key, first, ...rest] = f as [string, string, ...string[]];
    if (key === "nameserver") {
      dns.nameservers ??= [];
      dns.nameservers.push(first);
    } else if (key === "domain") {
      dns.domain = first;
    } else if (key === "search") {
      dns.search ??= [];
      dns.search.push(first, ...rest);
    } else if (key === "options") {
      dns.options ??= [];
      dns.options.push(first, ...rest);
    }
  }
  return dns;
}

function readResolvConf(path: string): ResultDns {
  try {
    return parseResolvConf(readFileSync(path, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new IpamError(`open ${path}: ${why}`, "ipam.resolvConf");
  }
}

/**
 * ADD: allocate one address per range set for `att`. On any failure everything
 * this ADD reserved is released again (as host-local does, which may also
 * advance `last_reserved_ip`).
 * @throws {@link IpamError} with host-local's texts (`failed to allocate for range N: …`,
 * `failed to allocate all requested IPs: …`).
 */
export function hostLocalAdd(config: HostLocalConfig, att: Attachment, store: IpamStore): HostLocalResult {
  const dns = config.resolvConf === undefined ? {} : readResolvConf(config.resolvConf);
  const requested = new Map<string, Addr>();
  for (const ip of config.requestedIps) requested.set(ip.toString(), ip);
  const used: RangeAllocator[] = [];
  const ips: IpAllocation[] = [];
  // One lock for the whole ADD (host-local takes it per range set; holding it across the sets
  // is stricter, and one flock instead of one per set).
  store.lock();
  try {
    addAll();
  } finally {
    store.unlock();
  }
  function addAll(): void {
    for (const [idx, set] of config.rangeSets.entries()) {
      const alloc = new RangeAllocator(set, store, idx);
      let want: Addr | undefined;
      for (const [k, ip] of requested) {
        if (rangeFor(set, ip)) {
          want = ip;
          requested.delete(k);
          break;
        }
      }
      try {
        ips.push(alloc.get(att.containerId, att.ifname, want));
      } catch (e) {
        for (const a of used) a.release(att.containerId, att.ifname);
        if (e instanceof IpamError) throw new IpamError(`failed to allocate for range ${idx}: ${e.message}`, e.field);
        throw e;
      }
      used.push(alloc);
    }
    if (requested.size > 0) {
      for (const a of used) a.release(att.containerId, att.ifname);
      throw new IpamError(`failed to allocate all requested IPs: ${[...requested.keys()].join(" ")}`);
    }
  }
  const result: {
    cniVersion: "1.0.0";
    ips: { address: string; gateway: string }[];
    routes?: HostLocalRoute[];
    dns: ResultDns;
  } = {
    cniVersion: "1.0.0",
    ips: ips.map((a) => ({ address: a.address, gateway: a.gateway.toString() })),
    dns,
  };
  if (config.routes.length > 0) result.routes = config.routes.map((r) => ({ ...r }));
  return result;
}

/** DEL: release what `att` holds (once per range set, as host-local). Unknown attachments are fine. */
export function hostLocalDel(config: HostLocalConfig, att: Attachment, store: IpamStore): Addr[] {
  const released: Addr[] = [];
  store.lock();
  try {
    for (const [idx, set] of config.rangeSets.entries()) {
      released.push(...new RangeAllocator(set, store, idx).release(att.containerId, att.ifname));
    }
  } finally {
    store.unlock();
  }
  return released;
}

/**
 * CHECK: succeed when `att` (or a legacy record of its container) holds an address.
 * @throws {@link IpamError} `host-local: Failed to find address added by container <id>`.
 */
export function hostLocalCheck(_config: HostLocalConfig, att: Attachment, store: IpamStore): void {
  store.lock();
  try {
    if (!store.findById(att.containerId, att.ifname)) {
      throw new IpamError(`host-local: Failed to find address added by container ${att.containerId}`);
    }
  } finally {
    store.unlock();
  }
}

/**
 * GC (CNI 1.1): release every reservation whose `(containerID, ifname)` is not
 * in `valid`; legacy records (container ID only) stay while their container has
 * any valid attachment. host-local itself has no GC; this follows the spec.
 * @returns the released addresses.
 */
export function hostLocalGc(valid: readonly Attachment[], store: IpamStore): Addr[] {
  const keep = new Set(valid.map((a) => `${a.containerId.trim()}\r\n${a.ifname}`));
  const keepIds = new Set(valid.map((a) => a.containerId.trim()));
  const released: Addr[] = [];
  store.lock();
  try {
    const stale = new Set<string>();
    for (const r of store.reservations()) {
      const live = r.ifname === undefined ? keepIds.has(r.containerId) : keep.has(`${r.containerId}\r\n${r.ifname}`);
      if (!live) stale.add(`${r.containerId}\u0000${r.ifname ?? ""}`);
    }
    for (const k of stale) {
      const [id, ifname] = k.split("\u0000") as [string, string];
      // A legacy record is released through an attachment of its container that has no exact record.
      released.push(...store.releaseById(id, ifname === "" ? "\u0000legacy" : ifname));
    }
  } finally {
    store.unlock();
  }
  return released;
}
