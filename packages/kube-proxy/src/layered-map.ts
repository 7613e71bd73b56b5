/**
 * A persistent map for successive proxy states: each state shares a base map with
 * the previous ones and keeps its own changes in a small layer, so deriving the
 * next state costs the size of the layer instead of a copy of every service port.
 * When the layer outgrows √n entries it is folded into a new base (an O(n) copy
 * every √n changes), which keeps lookups at two map probes and a derivation at
 * amortised O(changes + √n). Iteration order: the base's, a changed key in its
 * place, new keys at the end (unlike a Map, a key deleted and set again keeps its
 * place; proxy states are ordered by their `order` list, not by map order).
 */

/** Marks a key deleted in a layer. */
const GONE: unique symbol = Symbol("gone");
type Slot<V> = V | typeof GONE;

/** Layers smaller than this are never folded (folding tiny maps buys nothing). */
const MIN_LAYER = 64;

/** An immutable map made of a shared base and a layer of changes (see the module comment). */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly size: number;
  private readonly base: ReadonlyMap<K, V>;
  private readonly layer: ReadonlyMap<K, Slot<V>>;

  private constructor(base: ReadonlyMap<K, V>, layer: ReadonlyMap<K, Slot<V>>, size: number) {
    this.base = base;
    this.layer = layer;
    this.size = size;
  }

  /** A map with `entries` and no layer. */
  static of<K, V>(entries: Iterable<readonly [K, V]> = []): LayeredMap<K, V> {
    const base = new Map<K, V>(entries);
    return new LayeredMap<K, V>(base, new Map(), base.size);
  }

  /**
   * This map with `changes` applied (`undefined` deletes the key); this map is unchanged.
   * Costs O(layer + changes), or one O(n) fold when the layer grows past √n.
   */
  with(changes: Iterable<readonly [K, V | undefined]>): LayeredMap<K, V> {
    const layer = new Map<K, Slot<V>>(this.layer);
    let size = this.size;
    for (const [k, v] of changes) {
      // Whether the map being built holds k before this change (a key may change twice).
      const over = layer.get(k);
      const before = over !== undefined ? (over === GONE ? 0 : 1) : this.base.has(k) ? 1 : 0;
      if (v === undefined) {
        if (this.base.has(k)) layer.set(k, GONE);
        else layer.delete(k);
        size -= before;
      } else {
        layer.set(k, v);
        size += 1 - before;
      }
    }
    if (layer.size <= Math.max(MIN_LAYER, Math.sqrt(this.base.size))) return new LayeredMap(this.base, layer, size);
    const base = new Map<K, V>();
    for (const [k, v] of this.base) {
      const over = layer.get(k);
      if (over === undefined) base.set(k, v);
      else if (over !== GONE) base.set(k, over);
    }
    for (const [k, v] of layer) if (v !== GONE && !this.base.has(k)) base.set(k, v);
    return new LayeredMap(base, new Map(), base.size);
  }

  // A layer never holds `undefined` (a deleted key holds GONE), so one probe decides.
  get(key: K): V | undefined {
    const v = this.layer.get(key);
    if (v !== undefined) return v === GONE ? undefined : v;
    return this.base.get(key);
  }

  has(key: K): boolean {
    const v = this.layer.get(key);
    if (v !== undefined) return v !== GONE;
    return this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      const over = this.layer.get(k);
      if (over === undefined) yield [k, v];
      else if (over !== GONE) yield [k, over];
    }
    for (const [k, v] of this.layer) if (v !== GONE && !this.base.has(k)) yield [k, v];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}
