/**
 * A Calico-style block allocator: the pool is cut into blocks (`/26` for IPv4,
 * `/122` for IPv6 by default) that are claimed by ("affine to") a node when it
 * needs addresses. A pod gets an address from one of its node's blocks; when
 * they are all full the node claims a free block (chosen from a random start,
 * as Calico does); when no block is free it borrows an address from another
 * node's block, unless strict affinity forbids it. Inside a block, free
 * ordinals are used in FIFO order (released ones go to the back).
 */
import { type Addr, Prefix } from "@knet/netstack";
import { IpamError } from "./errors.js";
import { mathRandom, type Random } from "./random.js";

/** Options of {@link BlockAllocator}. */
export interface BlockAllocatorOptions {
  /** The IP pool CIDR. */
  readonly pool: Prefix | string;
  /** Block prefix length (default 26 for IPv4, 122 for IPv6). */
  readonly blockSize?: number;
  /** Never borrow from another node's block (Calico `strictAffinity`). Default false. */
  readonly strictAffinity?: boolean;
  /** Random source for choosing which free block to claim. */
  readonly random?: Random;
}

/** One block: its CIDR, owner node and per-ordinal handles. */
interface Block {
  readonly cidr: Prefix;
  affinity: string | undefined;
  readonly handles: (string | undefined)[];
  /** FIFO of free ordinals. */
  free: number[];
}

/** Where an allocated address lives. */
export interface BlockAllocation {
  /** The address. */
  readonly ip: Addr;
  /** The block it came from. */
  readonly block: Prefix;
  /** True when the block is affine to another node (a borrowed address). */
  readonly borrowed: boolean;
}

/** Block-based pod IP allocation with node affinity. */
export class BlockAllocator {
  /** The pool. */
  readonly pool: Prefix;
  /** Block prefix length. */
  readonly blockSize: number;
  /** Number of blocks in the pool. */
  readonly blockCount: number;
  private readonly strict: boolean;
  private readonly random: Random;
  private readonly blocks = new Map<number, Block>();
  private readonly byNode = new Map<string, number[]>();
  private readonly byHandle = new Map<string, Addr[]>();

  /** @throws {@link IpamError} for a block size outside the pool or a pool of more than 2^20 blocks. */
  constructor(options: BlockAllocatorOptions) {
    this.pool = typeof options.pool === "string" ? Prefix.parse(options.pool) : options.pool;
    this.blockSize = options.blockSize ?? (this.pool.family === 4 ? 26 : 122);
    if (this.blockSize < this.pool.length || this.blockSize > this.pool.addr.bits) {
      throw new IpamError(
        `block size /${this.blockSize} must lie between the pool's /${this.pool.length} and /${this.pool.addr.bits}`,
        "blockSize",
      );
    }
    if (this.blockSize - this.pool.length > 20) throw new IpamError("pool has more than 2^20 blocks", "blockSize");
    if (this.pool.addr.bits - this.blockSize > 16)
      throw new IpamError("blocks of more than 65536 addresses are not supported", "blockSize");
    this.blockCount = 2 ** (this.blockSize - this.pool.length);
    this.strict = options.strictAffinity ?? false;
    this.random = options.random ?? mathRandom;
  }

  private blockAt(i: number): Block {
    let b = this.blocks.get(i);
    if (!b) {
      const size = 2 ** (this.pool.addr.bits - this.blockSize);
      const cidr = Prefix.of(this.pool.addr.add(BigInt(i) * BigInt(size)), this.blockSize);
      b = {
        cidr,
        affinity: undefined,
        handles: new Array<string | undefined>(size).fill(undefined),
        free: [...Array(size).keys()],
      };
      this.blocks.set(i, b);
    }
    return b;
  }

  private assign(b: Block, handle: string): Addr {
    const ord = b.free.shift() as number;
    b.handles[ord] = handle;
    const ip = b.cidr.addr.add(ord);
    const list = this.byHandle.get(handle) ?? [];
    list.push(ip);
    this.byHandle.set(handle, list);
    return ip;
  }

  /**
   * An address for `handle` (a pod) on `node`: from the node's blocks, else a
   * newly claimed block, else (without strict affinity) borrowed.
   * @throws {@link IpamError} when the pool has no free address for this node.
   */
  allocate(node: string, handle: string): BlockAllocation {
    for (const i of this.byNode.get(node) ?? []) {
      const b = this.blockAt(i);
      if (b.free.length > 0) return { ip: this.assign(b, handle), block: b.cidr, borrowed: false };
    }
    const start = this.random.int(this.blockCount);
    for (let k = 0; k < this.blockCount; k++) {
      const i = (start + k) % this.blockCount;
      const b = this.blocks.get(i);
      if (b && (b.affinity !== undefined || b.free.length < b.handles.length)) continue;
      const nb = this.blockAt(i);
      nb.affinity = node;
      const mine = this.byNode.get(node) ?? [];
      mine.push(i);
      this.byNode.set(node, mine);
      return { ip: this.assign(nb, handle), block: nb.cidr, borrowed: false };
    }
    if (!this.strict) {
      for (const [, b] of [...this.blocks.entries()].sort((x, y) => x[0] - y[0])) {
        if (b.free.length > 0) return { ip: this.assign(b, handle), block: b.cidr, borrowed: b.affinity !== node };
      }
    }
    const fam = this.pool.family === 4 ? "IPv4" : "IPv6";
    throw new IpamError(
      `failed to request 1 ${fam} addresses. IPAM allocated only 0${this.strict ? " (no free affine block and strict affinity is enabled)" : ""}`,
      "pool",
    );
  }

  /** Release one address; false when it was not allocated. */
  release(ip: Addr): boolean {
    if (!this.pool.contains(ip)) return false;
    const off = Number(ip.toBigInt() - this.pool.addr.toBigInt());
    const size = 2 ** (this.pool.addr.bits - this.blockSize);
    const b = this.blocks.get(Math.floor(off / size));
    const ord = off % size;
    const h = b?.handles[ord];
    if (!b || h === undefined) return false;
    b.handles[ord] = undefined;
    b.free.push(ord);
    const list = this.byHandle.get(h)?.filter((x) => !x.equals(ip)) ?? [];
    if (list.length > 0) this.byHandle.set(h, list);
    else this.byHandle.delete(h);
    return true;
  }

  /** Release every address of `handle`; returns them. */
  releaseHandle(handle: string): Addr[] {
    const ips = [...(this.byHandle.get(handle) ?? [])];
    for (const ip of ips) this.release(ip);
    return ips;
  }

  /** Blocks affine to `node`, in the order it claimed them. */
  blocksOf(node: string): Prefix[] {
    return (this.byNode.get(node) ?? []).map((i) => this.blockAt(i).cidr);
  }

  /** The node a block is affine to. */
  affinityOf(block: Prefix): string | undefined {
    if (!this.pool.covers(block) || block.length !== this.blockSize) return undefined;
    const size = 2 ** (this.pool.addr.bits - this.blockSize);
    return this.blocks.get(Number((block.addr.toBigInt() - this.pool.addr.toBigInt()) / BigInt(size)))?.affinity;
  }

  /** The handle holding `ip`, if any. */
  handleOf(ip: Addr): string | undefined {
    if (!this.pool.contains(ip)) return undefined;
    const off = Number(ip.toBigInt() - this.pool.addr.toBigInt());
    const size = 2 ** (this.pool.addr.bits - this.blockSize);
    return this.blocks.get(Math.floor(off / size))?.handles[off % size];
  }

  /** Addresses in use across the pool. */
  get used(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b.handles.length - b.free.length;
    return n;
  }
}
