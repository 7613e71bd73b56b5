/**
 * A hash table keyed by fixed-width tuples of uint32 words: the storage behind
 * every named set and map, so a packet lookup costs one hash of a few words and
 * a short probe, whatever the number of elements (as the kernel's hash sets do).
 * Lookups never allocate: the caller passes its key in a reusable array.
 */
/** Marks a deleted slot (probing continues past it). */
const TOMBSTONE: unknown = Object.freeze({});

export class WordTable<V> {
  /** Words per key. */
  readonly width: number;
  private cap: number;
  private keys: Uint32Array;
  /** Per slot: the value, `undefined` (empty) or {@link TOMBSTONE} (deleted). One array, so a probe reads one line fewer. */
  private vals: unknown[];
  private count = 0;
  private used = 0;

  constructor(width: number, capacity = 8) {
    this.width = width;
    let cap = 8;
    while (cap < capacity * 2) cap *= 2;
    this.cap = cap;
    this.keys = new Uint32Array(cap * width);
    this.vals = emptySlots(cap);
  }

  /** Number of keys stored. */
  get size(): number {
    return this.count;
  }

  /** A multiply-xorshift mix per word and a final avalanche: cheap, and spreads consecutive addresses. */
  private hash(k: ArrayLike<number>): number {
    let h = 0x9e3779b9 ^ this.width;
    for (let i = 0; i < this.width; i++) {
      h = Math.imul(h ^ (k[i] as number), 0x85ebca6b);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  private find(k: ArrayLike<number>): number {
    const w = this.width;
    const mask = this.cap - 1;
    let i = this.hash(k) & mask;
    for (;;) {
      const v = this.vals[i];
      if (v === undefined) return -1 - i;
      if (v !== TOMBSTONE) {
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
    return i >= 0 ? (this.vals[i] as V) : undefined;
  }

  /**
   * {@link WordTable.get} for a key of at most three words passed as arguments
   * (uint32 each; words past the width are ignored): no key array, no loop, so
   * a packet's lookup costs a few multiplications and one probe.
   */
  getWords(a: number, b: number, c: number): V | undefined {
    const w = this.width;
    let h = Math.imul(0x9e3779b9 ^ w ^ a, 0x85ebca6b);
    h ^= h >>> 15;
    if (w > 1) {
      h = Math.imul(h ^ b, 0x85ebca6b);
      h ^= h >>> 15;
      if (w > 2) {
        h = Math.imul(h ^ c, 0x85ebca6b);
        h ^= h >>> 15;
      }
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    const mask = this.cap - 1;
    const keys = this.keys;
    const vals = this.vals;
    let i = (h ^ (h >>> 16)) & mask;
    for (;;) {
      const v = vals[i];
      if (v === undefined) return undefined;
      const base = i * w;
      if (v !== TOMBSTONE && keys[base] === a && (w < 2 || keys[base + 1] === b) && (w < 3 || keys[base + 2] === c)) {
        return v as V;
      }
      i = (i + 1) & mask;
    }
  }

  /** True when the key is stored. */
  has(k: ArrayLike<number>): boolean {
    return this.find(k) >= 0;
  }

  /** Store a value; returns the value it replaced. */
  set(k: ArrayLike<number>, v: V): V | undefined {
    const i = this.find(k);
    if (i >= 0) {
      const old = this.vals[i] as V;
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
    this.count++;
    this.used++;
    return undefined;
  }

  /** Remove a key; returns the value it had. */
  delete(k: ArrayLike<number>): V | undefined {
    const i = this.find(k);
    if (i < 0) return undefined;
    const old = this.vals[i] as V;
    this.vals[i] = TOMBSTONE;
    this.count--;
    return old;
  }

  /** Remove everything. */
  clear(): void {
    this.vals.fill(undefined);
    this.count = 0;
    this.used = 0;
  }

  /** Stored values, in slot order. */
  *values(): IterableIterator<V> {
    for (let i = 0; i < this.cap; i++) {
      const v = this.vals[i];
      if (v !== undefined && v !== TOMBSTONE) yield v as V;
    }
  }

  private rehash(cap: number): void {
    const { keys, vals, cap: old, width: w } = this;
    this.cap = cap;
    this.keys = new Uint32Array(cap * w);
    this.vals = emptySlots(cap);
    this.count = 0;
    this.used = 0;
    for (let i = 0; i < old; i++) {
      const v = vals[i];
      if (v !== undefined && v !== TOMBSTONE) this.set(keys.subarray(i * w, i * w + w), v as V);
    }
  }
}

/** `n` empty slots in a packed (not holey) array. */
function emptySlots(n: number): unknown[] {
  const a: unknown[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}
