/**
 * A hash map with fixed-size keys and values of uint32 words, laid out as a BPF
 * hash map stores its entries: key and value side by side in one row of one
 * `Uint32Array`. A lookup hashes the key words, probes rows linearly and reads
 * the value words in place, so it costs the same few cache lines whether the
 * map holds a hundred entries or a million, and it allocates nothing.
 * (`@knet/kube-proxy-nftables`' `WordTable` keeps JavaScript objects as
 * values, one more pointer to follow per lookup; here values are words.)
 *
 * Row layout: `[used, key words..., value words...]`. Deletion shifts the
 * following rows of the probe run back (no tombstones), so lookups of absent
 * keys stay short after any number of updates.
 *
 * Where entries go is a choice for locality: `hashWords` hashes only the
 * leading key words, so keys that differ in the last words (a frontend's
 * slots) share a home row and sit side by side; `identity` places a one-word
 * key at its own value modulo the size, so consecutive keys (backend IDs,
 * allocated in sequence) fill consecutive rows.
 */
export class FlatMap {
  /** Words per key. */
  readonly keyWords: number;
  /** Words per value. */
  readonly valueWords: number;
  /** Words per row: the used flag, the key, the value. */
  readonly stride: number;
  private readonly hashWords: number;
  private readonly identity: boolean;
  private rows: Uint32Array;
  private mask: number;
  private count = 0;

  /**
   * @param keyWords words per key (at least 1)
   * @param valueWords words per value
   * @param options `hashWords`: leading key words that choose the home row (default all);
   *   `identity`: a one-word key is its own hash
   * @throws RangeError for a key of no words, a negative value width, or options that do not fit the key
   */
  constructor(
    keyWords: number,
    valueWords: number,
    options: { readonly hashWords?: number; readonly identity?: boolean } = {},
  ) {
    if (!Number.isInteger(keyWords) || keyWords < 1) throw new RangeError(`FlatMap: keyWords ${keyWords} must be >= 1`);
    if (!Number.isInteger(valueWords) || valueWords < 0)
      throw new RangeError(`FlatMap: valueWords ${valueWords} must be >= 0`);
    const hashWords = options.hashWords ?? keyWords;
    if (!Number.isInteger(hashWords) || hashWords < 1 || hashWords > keyWords)
      throw new RangeError(`FlatMap: hashWords ${hashWords} must be 1..${keyWords}`);
    if (options.identity === true && keyWords !== 1)
      throw new RangeError(`FlatMap: identity placement needs a one-word key, not ${keyWords}`);
    this.hashWords = hashWords;
    this.identity = options.identity === true;
    this.keyWords = keyWords;
    this.valueWords = valueWords;
    this.stride = 1 + keyWords + valueWords;
    this.mask = 15;
    this.rows = new Uint32Array(16 * this.stride);
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** Multiply-xorshift per hashed word and a final avalanche (as `WordTable`): consecutive addresses spread. */
  private hash(key: ArrayLike<number>): number {
    if (this.identity) return (key[0] as number) >>> 0;
    let h = 0x9e3779b9 ^ this.hashWords;
    for (let i = 0; i < this.hashWords; i++) {
      h = Math.imul(h ^ (key[i] as number), 0x85ebca6b);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** Row index of `key`, or `-1 - i` for the empty row `i` where it would go. */
  private locate(key: ArrayLike<number>): number {
    const rows = this.rows;
    const s = this.stride;
    const kw = this.keyWords;
    let i = this.hash(key) & this.mask;
    for (;;) {
      const base = i * s;
      if (rows[base] === 0) return -1 - i;
      let j = 0;
      while (j < kw && rows[base + 1 + j] === (key[j] as number) >>> 0) j++;
      if (j === kw) return i;
      i = (i + 1) & this.mask;
    }
  }

  /**
   * Where the value of `key` starts in {@link FlatMap.data}, or -1 when absent.
   * Read value word `k` as `data[offset + k]`; the offset is valid until the next write.
   */
  find(key: ArrayLike<number>): number {
    const i = this.locate(key);
    return i < 0 ? -1 : i * this.stride + 1 + this.keyWords;
  }

  /** The backing rows (read value words at the offsets {@link FlatMap.find} returns). */
  get data(): Uint32Array {
    return this.rows;
  }

  /** True when `key` is present. */
  has(key: ArrayLike<number>): boolean {
    return this.locate(key) >= 0;
  }

  /** Insert or replace the value of `key` (`value` has {@link FlatMap.valueWords} words). */
  set(key: ArrayLike<number>, value: ArrayLike<number>): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    let i = this.locate(key);
    const s = this.stride;
    if (i < 0) {
      i = -1 - i;
      const base = i * s;
      this.rows[base] = 1;
      for (let j = 0; j < this.keyWords; j++) this.rows[base + 1 + j] = (key[j] as number) >>> 0;
      this.count++;
    }
    const v = i * s + 1 + this.keyWords;
    for (let j = 0; j < this.valueWords; j++) this.rows[v + j] = (value[j] as number) >>> 0;
  }

  /** Remove `key`; returns whether it was present. */
  delete(key: ArrayLike<number>): boolean {
    let i = this.locate(key);
    if (i < 0) return false;
    const rows = this.rows;
    const s = this.stride;
    // Backward shift: move later rows of the run into the hole when their home allows it.
    for (let j = (i + 1) & this.mask; rows[j * s] !== 0; j = (j + 1) & this.mask) {
      const home = this.hash(rows.subarray(j * s + 1, j * s + 1 + this.keyWords)) & this.mask;
      // Row j may fill hole i unless its home lies cyclically in (i, j].
      const inRun = i <= j ? home > i && home <= j : home > i || home <= j;
      if (inRun) continue;
      rows.copyWithin(i * s, j * s, j * s + s);
      i = j;
    }
    rows.fill(0, i * s, i * s + s);
    this.count--;
    return true;
  }

  private grow(): void {
    const old = this.rows;
    const s = this.stride;
    const oldRows = this.mask + 1;
    this.mask = oldRows * 2 - 1;
    this.rows = new Uint32Array(oldRows * 2 * s);
    this.count = 0;
    for (let r = 0; r < oldRows; r++) {
      const base = r * s;
      if (old[base] === 0) continue;
      this.set(old.subarray(base + 1, base + 1 + this.keyWords), old.subarray(base + 1 + this.keyWords, base + s));
    }
  }
}
