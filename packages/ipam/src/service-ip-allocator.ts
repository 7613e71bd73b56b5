/**
 * Service ClusterIP allocation as kube-apiserver does it (`ipallocator.Range`
 * over an allocation bitmap): the service CIDR without its network address (and
 * without the IPv4 broadcast address; IPv6 ranges are capped at 65536 values),
 * a lower static band of `min(max(16, cidrSize/16), 256)` addresses that
 * dynamic allocation uses last, and the first address for the `kubernetes`
 * Service.
 */
import { Addr, type Family, Prefix } from "@knet/netstack";
import { BandAllocator } from "./band-allocator.js";
import { staticBandSize } from "./bitmap.js";
import { IpamError } from "./errors.js";
import { mathRandom, type Random } from "./random.js";

/** Options of {@link ServiceIpAllocator}. */
export interface ServiceIpAllocatorOptions {
  /** Random source of dynamic picks (default `Math.random`). */
  readonly random?: Random;
}

function toAddr(ip: Addr | string): Addr {
  return typeof ip === "string" ? Addr.parse(ip) : ip;
}

/** ClusterIP allocation over one service CIDR. */
export class ServiceIpAllocator {
  /** The service CIDR. */
  readonly cidr: Prefix;
  /** Number of allocatable addresses. */
  readonly size: number;
  /** Size of the static band (the first addresses after the network address). */
  readonly staticBand: number;
  private readonly core: BandAllocator;
  private readonly base: Addr;
  private readonly baseHi: number;
  private readonly baseLo: number;

  /**
   * An allocator for `cidr` (e.g. `10.96.0.0/12`, `fd00:10:96::/112`).
   * @throws {@link IpamError} for a CIDR that is not a valid prefix.
   */
  constructor(cidr: Prefix | string, options: ServiceIpAllocatorOptions = {}) {
    try {
      this.cidr = typeof cidr === "string" ? Prefix.parse(cidr) : cidr;
    } catch (e) {
      throw new IpamError(`invalid service CIDR ${String(cidr)}: ${(e as Error).message}`, "service-cluster-ip-range");
    }
    const bits = this.cidr.addr.bits - this.cidr.length;
    const cidrSize = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits;
    let max = this.cidr.family === 6 ? Math.min(cidrSize, 65536) : cidrSize - 1;
    max -= 1;
    this.size = Math.max(0, max);
    this.staticBand = staticBandSize(cidrSize, 16, 256, 16);
    this.base = this.cidr.addr.add(this.cidr.length === this.cidr.addr.bits ? 0 : 1);
    this.baseHi = this.base.w2;
    this.baseLo = this.base.w3;
    this.core = new BandAllocator(this.size, this.staticBand, options.random ?? mathRandom);
  }

  /** Address family of the CIDR. */
  get family(): Family {
    return this.cidr.family;
  }

  /** Addresses in use. */
  get used(): number {
    return this.core.used;
  }

  /** Addresses still free. */
  get free(): number {
    return this.size - this.core.used;
  }

  /** The address of the `kubernetes` Service: the first address after the network address. */
  kubernetesServiceIp(): Addr {
    return this.base;
  }

  /** Offset of `ip` in the bitmap, or -1 when it is not allocatable here. */
  indexOf(ip: Addr): number {
    if (ip.family !== this.cidr.family || !this.cidr.contains(ip)) return -1;
    let off: number;
    if (ip.family === 4) off = ip.w3 - this.baseLo;
    else {
      if (ip.w0 !== this.base.w0 || ip.w1 !== this.base.w1) return -1;
      off = (ip.w2 - this.baseHi) * 4294967296 + (ip.w3 - this.baseLo);
    }
    return off >= 0 && off < this.size ? off : -1;
  }

  /** The address at bitmap offset `i`. */
  addrAt(i: number): Addr {
    if (this.cidr.family === 4) return Addr.v4(this.baseLo + i);
    const lo = this.baseLo + i;
    const carry = lo >= 4294967296 ? 1 : 0;
    return Addr.v6(this.base.w0, this.base.w1, this.baseHi + carry, lo - carry * 4294967296);
  }

  /**
   * Allocate a specific address (a user-set `spec.clusterIP`).
   * @throws {@link IpamError} `provided IP is not in the valid range. The range of valid IPs is <cidr>`
   * or `provided IP is already allocated`.
   */
  allocate(ip: Addr | string): Addr {
    const a = toAddr(ip);
    const i = this.indexOf(a);
    if (i < 0) {
      throw new IpamError(
        `provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`,
        "spec.clusterIPs",
      );
    }
    if (!this.core.take(i)) throw new IpamError("provided IP is already allocated", "spec.clusterIPs");
    return a;
  }

  /**
   * Allocate a free address, preferring the upper band.
   * @throws {@link IpamError} `range is full`.
   */
  allocateNext(): Addr {
    const i = this.core.next();
    if (i < 0) throw new IpamError("range is full", "spec.clusterIPs");
    return this.addrAt(i);
  }

  /** Hot path: allocate and return a bitmap offset (-1 when full); see {@link ServiceIpAllocator.addrAt}. */
  allocateNextIndex(): number {
    return this.core.next();
  }

  /** Hot path: release a bitmap offset; false when it was free. */
  releaseIndex(i: number): boolean {
    return this.core.free(i);
  }

  /** Release an address; releasing a free or foreign address is a no-op (false). */
  release(ip: Addr | string): boolean {
    const i = this.indexOf(toAddr(ip));
    return i >= 0 && this.core.free(i);
  }

  /** True when `ip` is allocated. */
  has(ip: Addr | string): boolean {
    const i = this.indexOf(toAddr(ip));
    return i >= 0 && this.core.has(i);
  }

  /** Every allocated address, in order. */
  list(): Addr[] {
    const out: Addr[] = [];
    this.core.forEach((i) => {
      out.push(this.addrAt(i));
    });
    return out;
  }
}

/**
 * ClusterIPs for dual-stack Services: one {@link ServiceIpAllocator} per family
 * (the first CIDR is the primary family), allocating one address per requested
 * family and rolling back on failure, as kube-apiserver does.
 */
export class DualStackServiceIpAllocator {
  /** Allocators by family. */
  readonly byFamily: ReadonlyMap<Family, ServiceIpAllocator>;
  /** The primary family (of the first CIDR). */
  readonly primary: Family;

  /**
   * One or two CIDRs of different families (`--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112`).
   * @throws {@link IpamError} for more than two CIDRs or two of one family.
   */
  constructor(cidrs: readonly (Prefix | string)[], options: ServiceIpAllocatorOptions = {}) {
    if (cidrs.length < 1 || cidrs.length > 2)
      throw new IpamError("expected one or two service CIDRs", "service-cluster-ip-range");
    const m = new Map<Family, ServiceIpAllocator>();
    for (const c of cidrs) {
      const a = new ServiceIpAllocator(c, options);
      if (m.has(a.family))
        throw new IpamError("service CIDRs must be of different IP families", "service-cluster-ip-range");
      m.set(a.family, a);
    }
    this.byFamily = m;
    this.primary = [...m.keys()][0] as Family;
  }

  /**
   * Allocate one address per family in `families` (default: the primary
   * family); `requested[i]` pins the address of `families[i]`. All or nothing.
   * @throws {@link IpamError} when a family has no CIDR or an allocation fails.
   */
  allocate(families: readonly Family[] = [this.primary], requested: readonly (string | undefined)[] = []): Addr[] {
    const out: Addr[] = [];
    try {
      for (const [i, f] of families.entries()) {
        const a = this.byFamily.get(f);
        if (!a) throw new IpamError(`no service CIDR of family IPv${f} is configured`, "spec.ipFamilies");
        const want = requested[i];
        out.push(want === undefined || want === "" ? a.allocateNext() : a.allocate(want));
      }
    } catch (e) {
      for (const ip of out) this.release(ip);
      throw e;
    }
    return out;
  }

  /** Release an address of either family (no-op when not allocated). */
  release(ip: Addr | string): boolean {
    const a = toAddr(ip);
    return this.byFamily.get(a.family)?.release(a) ?? false;
  }
}
