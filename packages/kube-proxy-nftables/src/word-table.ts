/**
 * A hash table keyed by fixed-width tuples of uint32 words: the storage behind
 * every named set and map, so a packet lookup costs one hash of a few words and
 * a short probe, whatever the number of elements (as the kernel's hash sets do).
 * Lookups never allocate: the caller passes its key in a reusable array.
 */
export class WordTable<V> {
  /** Words per key. */
  readonly width: number;
  private cap: number;
  private keys: Uint32Array;
  private vals: (V | undefined)[];
  private state: Uint8Array; // 0 empty, 1 full, 2 deleted
  private count = 0;
  private used = 0;

  constructor(width: number, capacity = 8) {
    this.width = width;
    let cap = 8;
    while (cap < capacity * 2) cap *= 2;
    this.cap = cap;
    this.keys = new Uint32Array(cap * width);
    this.vals = new Array<V | undefined>(cap);
    this.state = new Uint8Array(cap);
  }

  /** Number of keys stored. */
  get size(): number {
    return this.count;
  }

  private hash(k: ArrayLike<number>): number {
    let h = 0x9e3779b9 ^ this.width;
    for (let i = 0; i < this.width; i++) {
      let x = Math.imul((k[i] as number) | 0, 0xcc9e2d51);
      x = (x << 15) | (x >>> 17);
      h ^= Math.imul(x, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  private find(k: ArrayLike<number>): number {
    const w = this.width;
    const mask = this.cap - 1;
    let i = this.hash(k) & mask;
    for (;;) {
      const s = this.state[i];
      if (s === 0) return -1 - i;
      if (s === 1) {
        const base = i * w;
        let eq = true;
        for (let j = 0; j < w; j++) {
          if (this.keys[base + j] !== (k[j] as number) >>> 0) {
            eq = false;
            break;
          }
        }
        if (eq) return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** The value stored for a key, or undefined. */
  get(k: ArrayLike<number>): V | undefined {
    const i = this.find(k);
    return i >= 0 ? this.vals[i] : undefined;
  }

  /** True when the key is stored. */
  has(k: ArrayLike<number>): boolean {
    return this.find(k) >= 0;
  }

  /** Store a value; returns the value it replaced. */
  set(k: ArrayLike<number>, v: V): V | undefined {
    const i = this.find(k);
    if (i >= 0) {
      const old = this.vals[i];
      this.vals[i] = v;
      return old;
    }
    if ((this.used + 1) * 2 > this.cap) {
      this.rehash(this.count + 1 > this.cap / 4 ? this.cap * 2 : this.cap);
      this.set(k, v);
      return undefined;
    }
    const slot = -1 - i;
    const base = slot * this.width;
    for (let j = 0; j < this.width; j++) this.keys[base + j] = (k[j] as number) >>> 0;
    this.vals[slot] = v;
    this.state[slot] = 1;
    this.count++;
    this.used++;
    return undefined;
  }

  /** Remove a key; returns the value it had. */
  delete(k: ArrayLike<number>): V | undefined {
    const i = this.find(k);
    if (i < 0) return undefined;
    const old = this.vals[i];
    this.vals[i] = undefined;
    this.state[i] = 2;
    this.count--;
    return old;
  }

  /** Remove everything. */
  clear(): void {
    this.state.fill(0);
    this.vals.fill(undefined);
    this.count = 0;
    this.used = 0;
  }

  /** Stored values, in slot order. */
  *values(): IterableIterator<V> {
    for (let i = 0; i < this.cap; i++) if (this.state[i] === 1) yield this.vals[i] as V;
  }

  private rehash(cap: number): void {
    const { keys, vals, state, cap: old, width: w } = this;
    this.cap = cap;
    this.keys = new Uint32Array(cap * w);
    this.vals = new Array<V | undefined>(cap);
    this.state = new Uint8Array(cap);
    this.count = 0;
    this.used = 0;
    for (let i = 0; i < old; i++) {
      if (state[i] === 1) this.set(keys.subarray(i * w, i * w + w), vals[i] as V);
    }
  }
}
