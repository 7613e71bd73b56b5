/**
 * kube-controller-manager's `CidrSet`: a cluster CIDR cut into node subnets of
 * one mask size, tracked in a bitmap, allocated round-robin from the slot after
 * the last one handed out.
 */
import { Addr, Prefix } from "@knet/netstack";
import { Bitmap } from "./bitmap.js";
import { IpamError } from "./errors.js";

/** kube-controller-manager caps `nodeMask - clusterMask` at 16 for IPv6 cluster CIDRs. */
const CLUSTER_SUBNET_MAX_DIFF = 16;

/** The message kube-controller-manager returns when a cluster CIDR is used up. */
export const NO_CIDRS_REMAINING =
  "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range";

/** Node subnets of one cluster CIDR. */
export class CidrSet {
  /** The cluster CIDR. */
  readonly clusterCidr: Prefix;
  /** Prefix length of node subnets. */
  readonly nodeMaskSize: number;
  /** Number of node subnets. */
  readonly maxCidrs: number;
  private readonly used: Bitmap;
  private nextCandidate = 0;
  private readonly shift: bigint;
  private readonly base: bigint;

  /**
   * Node subnets of `/nodeMaskSize` in `clusterCidr`.
   * @throws {@link IpamError} when the mask is shorter than the cluster's, or too long
   * (`New CIDR set failed; the node CIDR size is too big` for IPv6 beyond 16 bits, or over 24 bits for IPv4).
   */
  constructor(clusterCidr: Prefix | string, nodeMaskSize: number) {
    const c = typeof clusterCidr === "string" ? Prefix.parse(clusterCidr) : clusterCidr;
    if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < c.length || nodeMaskSize > c.addr.bits) {
      throw new IpamError(
        `node CIDR mask size ${nodeMaskSize} must be between the cluster CIDR's ${c.length} and ${c.addr.bits}`,
        "node-cidr-mask-size",
      );
    }
    const diff = nodeMaskSize - c.length;
    if ((c.family === 6 && diff > CLUSTER_SUBNET_MAX_DIFF) || diff > 24) {
      throw new IpamError("New CIDR set failed; the node CIDR size is too big", "node-cidr-mask-size");
    }
    this.clusterCidr = c;
    this.nodeMaskSize = nodeMaskSize;
    this.maxCidrs = 2 ** diff;
    this.used = new Bitmap(this.maxCidrs);
    this.shift = BigInt(c.addr.bits - nodeMaskSize);
    this.base = c.addr.toBigInt();
  }

  /** Node subnets in use. */
  get allocated(): number {
    return this.used.used;
  }

  /** The node subnet at slot `i`. */
  cidrAt(i: number): Prefix {
    return Prefix.of(
      Addr.fromBigInt(this.base + (BigInt(i) << this.shift), this.clusterCidr.family),
      this.nodeMaskSize,
    );
  }

  private indexOf(a: Addr): number {
    return Number((a.toBigInt() - this.base) >> this.shift);
  }

  /**
   * The next free node subnet, searching from the slot after the previous allocation.
   * @throws {@link IpamError} {@link NO_CIDRS_REMAINING} when all are used.
   */
  allocateNext(): Prefix {
    const i = this.used.findClear(this.nextCandidate, 0, this.maxCidrs);
    if (i < 0) throw new IpamError(NO_CIDRS_REMAINING, "clusterCIDR");
    this.used.set(i);
    this.nextCandidate = (i + 1) % this.maxCidrs;
    return this.cidrAt(i);
  }

  /** Slots `[begin, end]` that `cidr` touches, as kube-controller-manager computes them. */
  private span(cidr: Prefix): [number, number] {
    const c = this.clusterCidr;
    if (cidr.family !== c.family || (!c.contains(cidr.addr) && !cidr.contains(c.addr))) {
      throw new IpamError(`cidr ${cidr} is out the range of cluster cidr ${c}`, "podCIDR");
    }
    if (cidr.length <= c.length) return [0, this.maxCidrs - 1];
    const begin = this.indexOf(cidr.addr);
    const end = cidr.length <= this.nodeMaskSize ? this.indexOf(cidr.last()) : begin;
    return [begin, end];
  }

  /** Mark every node subnet overlapping `cidr` as used (existing node podCIDRs, the service range). */
  occupy(cidr: Prefix | string): void {
    const [b, e] = this.span(typeof cidr === "string" ? Prefix.parse(cidr) : cidr);
    for (let i = b; i <= e; i++) this.used.set(i);
  }

  /** Mark every node subnet overlapping `cidr` as free. */
  release(cidr: Prefix | string): void {
    const [b, e] = this.span(typeof cidr === "string" ? Prefix.parse(cidr) : cidr);
    for (let i = b; i <= e; i++) this.used.clear(i);
  }

  /** True when the slot of `cidr` (a node subnet) is used. */
  isAllocated(cidr: Prefix | string): boolean {
    const p = typeof cidr === "string" ? Prefix.parse(cidr) : cidr;
    const [b, e] = this.span(p);
    for (let i = b; i <= e; i++) if (!this.used.has(i)) return false;
    return true;
  }
}
