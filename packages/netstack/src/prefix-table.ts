import type { Addr } from "./addr.js";
import type { Prefix } from "./prefix.js";

/** One stored prefix and its value. */
export interface PrefixEntry<T> {
  /** The stored prefix. */
  readonly prefix: Prefix;
  /** Its value. */
  readonly value: T;
}

const NONE = -1;
/** IPv4 tables with more prefixes than this get a 16-bit first-level index. */
const STRIDE_THRESHOLD = 1024;

/**
 * A binary trie over the bits of one family's addresses. Nodes live in typed
 * arrays (child indexes and a value slot), so a lookup is a walk over integers
 * with no allocation.
 */
class BitTrie<T> {
  private left: Int32Array<ArrayBuffer> = new Int32Array(64).fill(NONE);
  private right: Int32Array<ArrayBuffer> = new Int32Array(64).fill(NONE);
  private slot: Int32Array<ArrayBuffer> = new Int32Array(64).fill(NONE);
  private nodes = 1;
  private readonly entries: (PrefixEntry<T> | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  size = 0;
  /**
   * IPv4 only, built once the table is large: for each value of the top 16 bits,
   * the best entry among prefixes of length <= 16 (`top`) and the trie node at
   * depth 16 (`topNode`), so a lookup skips the first 16 levels of the walk.
   */
  private top: Int32Array<ArrayBuffer> | undefined;
  private topNode: Int32Array<ArrayBuffer> | undefined;

  constructor(private readonly stride: boolean) {}

  /** Bit `i` (0 = most significant) of the address. */
  private static bit(a: Addr, i: number): number {
    if (a.family === 4) return (a.w3 >>> (31 - i)) & 1;
    const w = i < 32 ? a.w0 : i < 64 ? a.w1 : i < 96 ? a.w2 : a.w3;
    return (w >>> (31 - (i & 31))) & 1;
  }

  private grow(): void {
    const cap = this.left.length * 2;
    const ext = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(cap).fill(NONE);
      next.set(old);
      return next;
    };
    this.left = ext(this.left);
    this.right = ext(this.right);
    this.slot = ext(this.slot);
  }

  /** The node of exactly `p`, creating the path when `create`. */
  private nodeOf(p: Prefix, create: boolean): number {
    let node = 0;
    for (let i = 0; i < p.length; i++) {
      const arr = BitTrie.bit(p.addr, i) === 0 ? this.left : this.right;
      let next = arr[node] ?? NONE;
      if (next === NONE) {
        if (!create) return NONE;
        if (this.nodes === this.left.length) this.grow();
        next = this.nodes++;
        (BitTrie.bit(p.addr, i) === 0 ? this.left : this.right)[node] = next;
        if (i === 15 && this.topNode) this.topNode[p.addr.w3 >>> 16] = next;
      }
      node = next;
    }
    return node;
  }

  set(p: Prefix, value: T): void {
    const node = this.nodeOf(p, true);
    const s = this.slot[node] ?? NONE;
    if (s !== NONE) {
      this.entries[s] = { prefix: p, value };
      return;
    }
    const idx = this.freeSlots.pop() ?? this.entries.length;
    this.entries[idx] = { prefix: p, value };
    this.slot[node] = idx;
    this.size++;
    if (this.top) {
      if (p.length <= 16) this.refreshTop(p.addr.w3 >>> 16, 1 << (16 - p.length));
    } else if (this.stride && this.size > STRIDE_THRESHOLD) {
      this.buildTop();
    }
  }

  /** Best slot among prefixes of length <= 16 covering `key << 16`, and the depth-16 node. */
  private walkTop(key: number): [number, number] {
    let node = 0;
    let best = this.slot[0] as number;
    for (let shift = 15; shift >= 0; shift--) {
      node = ((key >>> shift) & 1) === 0 ? (this.left[node] as number) : (this.right[node] as number);
      if (node === NONE) return [best, NONE];
      const s = this.slot[node] as number;
      if (s !== NONE) best = s;
    }
    return [best, node];
  }

  private buildTop(): void {
    this.top = new Int32Array(65536);
    this.topNode = new Int32Array(65536);
    this.refreshTop(0, 65536);
  }

  private refreshTop(first: number, count: number): void {
    const { top, topNode } = this;
    if (!top || !topNode) return;
    for (let key = first; key < first + count; key++) {
      const [best, node] = this.walkTop(key);
      top[key] = best;
      topNode[key] = node;
    }
  }

  delete(p: Prefix): boolean {
    const node = this.nodeOf(p, false);
    if (node === NONE) return false;
    const s = this.slot[node] ?? NONE;
    if (s === NONE) return false;
    this.entries[s] = undefined;
    this.freeSlots.push(s);
    this.slot[node] = NONE;
    this.size--;
    if (this.top && p.length <= 16) this.refreshTop(p.addr.w3 >>> 16, 1 << (16 - p.length));
    return true;
  }

  get(p: Prefix): PrefixEntry<T> | undefined {
    const node = this.nodeOf(p, false);
    if (node === NONE) return undefined;
    const s = this.slot[node] ?? NONE;
    return s === NONE ? undefined : this.entries[s];
  }

  /** Longest match for a uint32 IPv4 address: the entry slot, or NONE. */
  lookupV4(v: number): number {
    const { left, right, slot, top, topNode } = this;
    let node = 0;
    let best = slot[0] as number;
    let shift = 31;
    if (top && topNode) {
      best = top[v >>> 16] as number;
      node = topNode[v >>> 16] as number;
      if (node === NONE) return best;
      shift = 15;
    }
    for (; shift >= 0; shift--) {
      node = ((v >>> shift) & 1) === 0 ? (left[node] as number) : (right[node] as number);
      if (node === NONE) break;
      const s = slot[node] as number;
      if (s !== NONE) best = s;
    }
    return best;
  }

  /** Longest match for an IPv6 address given as four words. */
  lookupV6(w0: number, w1: number, w2: number, w3: number): number {
    const { left, right, slot } = this;
    let node = 0;
    let best = slot[0] as number;
    for (let i = 0; i < 128; i++) {
      const w = i < 32 ? w0 : i < 64 ? w1 : i < 96 ? w2 : w3;
      node = ((w >>> (31 - (i & 31))) & 1) === 0 ? (left[node] as number) : (right[node] as number);
      if (node === NONE) break;
      const s = slot[node] as number;
      if (s !== NONE) best = s;
    }
    return best;
  }

  /** Every stored prefix containing `a`, longest first. */
  matches(a: Addr): PrefixEntry<T>[] {
    const out: PrefixEntry<T>[] = [];
    let node = 0;
    const bits = a.family === 4 ? 32 : 128;
    for (let i = 0; ; i++) {
      const s = this.slot[node] ?? NONE;
      if (s !== NONE) {
        const e = this.entries[s];
        if (e) out.push(e);
      }
      if (i === bits) break;
      node = (BitTrie.bit(a, i) === 0 ? this.left[node] : this.right[node]) ?? NONE;
      if (node === NONE) break;
    }
    return out.reverse();
  }

  entry(slot: number): PrefixEntry<T> | undefined {
    return slot === NONE ? undefined : this.entries[slot];
  }

  /** Entries in address order, a covering prefix before the prefixes it covers. */
  *walk(): Generator<PrefixEntry<T>> {
    const stack = [0];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const s = this.slot[node] ?? NONE;
      if (s !== NONE) {
        const e = this.entries[s];
        if (e) yield e;
      }
      const r = this.right[node] ?? NONE;
      const l = this.left[node] ?? NONE;
      if (r !== NONE) stack.push(r);
      if (l !== NONE) stack.push(l);
    }
  }
}

/**
 * A longest-prefix-match table for IPv4 and IPv6 prefixes: the structure behind
 * routing tables, ipBlock matching and allocators.
 *
 * @example
 * ```ts
 * const t = new PrefixTable<string>();
 * t.insert(Prefix.parse("10.0.0.0/8"), "eth0");
 * t.insert(Prefix.parse("10.244.1.0/24"), "cni0");
 * t.lookup(Addr.parse("10.244.1.7")); // "cni0"
 * ```
 */
export class PrefixTable<T> {
  private readonly v4 = new BitTrie<T>(true);
  private readonly v6 = new BitTrie<T>(false);

  private trie(p: Prefix | Addr): BitTrie<T> {
    return p.family === 4 ? this.v4 : this.v6;
  }

  /** Number of stored prefixes (both families). */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** Store `value` under `prefix`, replacing any value stored there. */
  insert(prefix: Prefix, value: T): this {
    this.trie(prefix).set(prefix, value);
    return this;
  }

  /** Remove `prefix`; true when it was present. */
  delete(prefix: Prefix): boolean {
    return this.trie(prefix).delete(prefix);
  }

  /** The value stored under exactly `prefix`. */
  get(prefix: Prefix): T | undefined {
    return this.trie(prefix).get(prefix)?.value;
  }

  /** True when exactly `prefix` is stored. */
  has(prefix: Prefix): boolean {
    return this.trie(prefix).get(prefix) !== undefined;
  }

  /** The value of the longest stored prefix containing `addr`. */
  lookup(addr: Addr): T | undefined {
    return this.lookupEntry(addr)?.value;
  }

  /** The longest stored prefix containing `addr`, with its value. */
  lookupEntry(addr: Addr): PrefixEntry<T> | undefined {
    if (addr.family === 4) return this.v4.entry(this.v4.lookupV4(addr.w3));
    return this.v6.entry(this.v6.lookupV6(addr.w0, addr.w1, addr.w2, addr.w3));
  }

  /** Hot path: longest match for a uint32 IPv4 address, without building an {@link Addr}. */
  lookupV4(value: number): T | undefined {
    return this.v4.entry(this.v4.lookupV4(value))?.value;
  }

  /**
   * Every stored prefix containing `addr`, longest first: what a routing
   * lookup falls back through when the longest match is unusable.
   */
  matches(addr: Addr): PrefixEntry<T>[] {
    return this.trie(addr).matches(addr);
  }

  /** All entries: IPv4 then IPv6, each in address order, covering prefixes first. */
  *entries(): Generator<PrefixEntry<T>> {
    yield* this.v4.walk();
    yield* this.v6.walk();
  }

  /** Same as {@link PrefixTable.entries}. */
  [Symbol.iterator](): Generator<PrefixEntry<T>> {
    return this.entries();
  }
}
