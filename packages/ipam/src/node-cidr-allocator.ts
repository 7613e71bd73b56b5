/**
 * kube-controller-manager's range allocator (`--allocate-node-cidrs`): one
 * {@link CidrSet} per cluster CIDR (two for dual stack), each node gets one
 * subnet from every set; service CIDRs inside a cluster CIDR are occupied up
 * front so pods never get service addresses.
 */
import { type Family, Prefix } from "@knet/netstack";
import { CidrSet } from "./cidr-set.js";
import { IpamError } from "./errors.js";

/** Options of {@link NodeCidrAllocator}. */
export interface NodeCidrAllocatorOptions {
  /** `--cluster-cidr`: one CIDR, or one per family (dual stack). */
  readonly clusterCidrs: readonly (Prefix | string)[];
  /** `--node-cidr-mask-size-ipv4` (default 24). */
  readonly nodeMaskSizeV4?: number;
  /** `--node-cidr-mask-size-ipv6` (default 64). */
  readonly nodeMaskSizeV6?: number;
  /** `--service-cluster-ip-range` CIDRs, occupied where they overlap a cluster CIDR. */
  readonly serviceCidrs?: readonly (Prefix | string)[];
}

/** Pod CIDRs for nodes. */
export class NodeCidrAllocator {
  /** One set per cluster CIDR, in the configured order. */
  readonly sets: readonly CidrSet[];
  private readonly nodes = new Map<string, Prefix[]>();

  /** @throws {@link IpamError} for bad CIDRs or mask sizes, or two cluster CIDRs of one family. */
  constructor(options: NodeCidrAllocatorOptions) {
    const cidrs = options.clusterCidrs.map((c) => (typeof c === "string" ? Prefix.parse(c) : c));
    if (cidrs.length < 1 || cidrs.length > 2) throw new IpamError("expected one or two cluster CIDRs", "cluster-cidr");
    if (cidrs.length === 2 && cidrs[0]?.family === cidrs[1]?.family) {
      throw new IpamError("dual-stack cluster CIDRs must be one IPv4 and one IPv6 CIDR", "cluster-cidr");
    }
    this.sets = cidrs.map(
      (c) => new CidrSet(c, c.family === 4 ? (options.nodeMaskSizeV4 ?? 24) : (options.nodeMaskSizeV6 ?? 64)),
    );
    for (const s of options.serviceCidrs ?? []) {
      const p = typeof s === "string" ? Prefix.parse(s) : s;
      for (const set of this.sets) {
        if (set.clusterCidr.overlaps(p)) set.occupy(p);
      }
    }
  }

  /** The pod CIDRs of `node`, if it has some. */
  podCidrs(node: string): readonly Prefix[] | undefined {
    return this.nodes.get(node);
  }

  /** Every node with its pod CIDRs. */
  entries(): [string, readonly Prefix[]][] {
    return [...this.nodes.entries()];
  }

  /**
   * Give `node` one subnet from every cluster CIDR, or, when the node already
   * has `existing` podCIDRs (a controller restart), occupy those instead.
   * @throws {@link IpamError} `failed to allocate cidr from cluster cidr at idx:N: …` (all-or-nothing).
   */
  allocateOrOccupy(node: string, existing: readonly string[] = []): readonly Prefix[] {
    const have = this.nodes.get(node);
    if (have) return have;
    if (existing.length > 0) {
      const ps = existing.map((e) => Prefix.parse(e));
      for (const p of ps) {
        const set = this.sets.find((s) => s.clusterCidr.family === p.family && s.clusterCidr.overlaps(p));
        if (!set)
          throw new IpamError(
            `cidr ${p} is out the range of cluster cidr ${this.sets.map((s) => s.clusterCidr).join(",")}`,
            "podCIDRs",
          );
        set.occupy(p);
      }
      this.nodes.set(node, ps);
      return ps;
    }
    const got: Prefix[] = [];
    for (const [idx, set] of this.sets.entries()) {
      try {
        got.push(set.allocateNext());
      } catch (e) {
        for (const [j, p] of got.entries()) this.sets[j]?.release(p);
        throw new IpamError(
          `failed to allocate cidr from cluster cidr at idx:${idx}: ${(e as Error).message}`,
          "clusterCIDR",
        );
      }
    }
    this.nodes.set(node, got);
    return got;
  }

  /** Release `node`'s pod CIDRs (node deleted); returns them. */
  release(node: string): readonly Prefix[] {
    const ps = this.nodes.get(node) ?? [];
    for (const p of ps)
      this.sets.find((s) => s.clusterCidr.family === p.family && s.clusterCidr.overlaps(p))?.release(p);
    this.nodes.delete(node);
    return ps;
  }

  /** Families served, in order. */
  get families(): Family[] {
    return this.sets.map((s) => s.clusterCidr.family);
  }
}
