/**
 * A fixed-size bitmap over `Uint32Array` words with a word-at-a-time search for
 * clear bits: the data structure kube-apiserver's allocators keep (a big.Int
 * there), sized for the hot path. A summary bitmap (one bit per full word)
 * lets searches skip 1024 taken values per step in nearly full ranges.
 */
export class Bitmap {
  /** Number of bits. */
  readonly size: number;
  private readonly words: Uint32Array;
  private readonly full: Uint32Array;
  private count = 0;

  /** A bitmap of `size` clear bits. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`bitmap size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.full = new Uint32Array(Math.ceil(this.words.length / 32));
  }

  /** Number of set bits. */
  get used(): number {
    return this.count;
  }

  /** True when bit `i` is set. */
  has(i: number): boolean {
    return ((this.words[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  /** Set bit `i`; false when it was already set. */
  set(i: number): boolean {
    const w = i >>> 5;
    const m = 1 << (i & 31);
    const cur = this.words[w] ?? 0;
    if ((cur & m) !== 0) return false;
    const next = cur | m;
    this.words[w] = next;
    if (next === -1) this.full[w >>> 5] = (this.full[w >>> 5] ?? 0) | (1 << (w & 31));
    this.count++;
    return true;
  }

  /** Clear bit `i`; false when it was already clear. */
  clear(i: number): boolean {
    const w = i >>> 5;
    const m = 1 << (i & 31);
    const cur = this.words[w] ?? 0;
    if ((cur & m) === 0) return false;
    if (cur === 0xffffffff) this.full[w >>> 5] = (this.full[w >>> 5] ?? 0) & ~(1 << (w & 31));
    this.words[w] = cur & ~m;
    this.count--;
    return true;
  }

  /** First clear bit in `[a, b)`, or -1. */
  firstClear(a: number, b: number): number {
    if (a >= b) return -1;
    const words = this.words;
    const lastWord = (b - 1) >>> 5;
    let w = a >>> 5;
    let free = ~(words[w] ?? -1);
    const bit = a & 31;
    if (bit !== 0) free &= -1 << bit;
    for (;;) {
      if (free !== 0) {
        const pos = (w << 5) + (31 - Math.clz32(free & -free));
        return pos < b ? pos : -1;
      }
      w = this.nextNonFullWord(w + 1, lastWord);
      if (w < 0) return -1;
      free = ~(words[w] ?? -1);
    }
  }

  /** Index of the first word in `[from, last]` that is not full, or -1. */
  private nextNonFullWord(from: number, last: number): number {
    const full = this.full;
    let s = from;
    while (s <= last) {
      const sw = s >>> 5;
      let open = ~(full[sw] ?? -1);
      const sb = s & 31;
      if (sb !== 0) open &= -1 << sb;
      if (open !== 0) {
        const k = (sw << 5) + (31 - Math.clz32(open & -open));
        return k <= last ? k : -1;
      }
      s = (sw + 1) << 5;
    }
    return -1;
  }

  /**
   * First clear bit scanning `[from, hi)` then wrapping to `[lo, from)`, or -1:
   * the order of kube-apiserver's random scan from a random start.
   */
  findClear(from: number, lo: number, hi: number): number {
    const x = this.firstClear(from, hi);
    if (x >= 0) return x;
    return this.firstClear(lo, from);
  }

  /** Call `fn` for every set bit, in order. */
  forEach(fn: (i: number) => void): void {
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let v = words[w] ?? 0;
      while (v !== 0) {
        const low = v & -v;
        fn((w << 5) + (31 - Math.clz32(low)));
        v ^= low;
      }
    }
  }
}

/**
 * kube-apiserver's size of the lower "static" band of a range:
 * `min(max(min, size / step), max)`, or 0 when the range has `min` or fewer
 * values. Dynamic allocation prefers the values above the band, so values
 * chosen by users (in the band) rarely collide with automatic ones.
 * ClusterIPs use (16, 256, 16) over the CIDR size, NodePorts (16, 128, 32) over the port count.
 */
export function staticBandSize(size: number, min: number, max: number, step: number): number {
  if (size <= min) return 0;
  const offset = Math.floor(size / step);
  if (offset < min) return min;
  if (offset > max) return max;
  return offset;
}
