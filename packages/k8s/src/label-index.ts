/**
 * An inverted index from labels to object ids, so selecting the pods of many
 * services costs about the size of the answer instead of a scan of every pod.
 */
import type { LabelSelector } from "./objects.js";
import { compileSelector, type Labels, matchLabelMap } from "./selector.js";

/**
 * Label index over objects identified by `K` (a key such as `ns/name`). Selection
 * semantics equal `matchSelector` / `matchLabelMap` exactly; the index only
 * narrows the candidates.
 */
export class LabelIndex<K> {
  private readonly labelsOf = new Map<K, Labels>();
  /** key -> value -> ids */
  private readonly byPair = new Map<string, Map<string, Set<K>>>();
  /** key -> ids having that key */
  private readonly byKey = new Map<string, Set<K>>();

  /** Number of indexed objects. */
  get size(): number {
    return this.labelsOf.size;
  }

  /** Add or replace the labels of `id`. */
  set(id: K, labels: Labels | undefined): void {
    this.delete(id);
    const l: Labels = { ...(labels ?? {}) };
    this.labelsOf.set(id, l);
    for (const k in l) {
      const v = l[k] as string;
      let values = this.byPair.get(k);
      if (values === undefined) {
        values = new Map();
        this.byPair.set(k, values);
      }
      let ids = values.get(v);
      if (ids === undefined) {
        ids = new Set();
        values.set(v, ids);
      }
      ids.add(id);
      let keyed = this.byKey.get(k);
      if (keyed === undefined) {
        keyed = new Set();
        this.byKey.set(k, keyed);
      }
      keyed.add(id);
    }
  }

  /** Remove `id`; returns whether it was indexed. */
  delete(id: K): boolean {
    const l = this.labelsOf.get(id);
    if (l === undefined) return false;
    this.labelsOf.delete(id);
    for (const k in l) {
      const values = this.byPair.get(k);
      const ids = values?.get(l[k] as string);
      ids?.delete(id);
      if (ids !== undefined && ids.size === 0) values?.delete(l[k] as string);
      if (values !== undefined && values.size === 0) this.byPair.delete(k);
      const keyed = this.byKey.get(k);
      keyed?.delete(id);
      if (keyed !== undefined && keyed.size === 0) this.byKey.delete(k);
    }
    return true;
  }

  /** The labels stored for `id`. */
  labels(id: K): Labels | undefined {
    return this.labelsOf.get(id);
  }

  /** Every indexed id. */
  ids(): IterableIterator<K> {
    return this.labelsOf.keys();
  }

  /**
   * Ids whose labels match a Service-style selector map (every pair equal). An empty
   * map matches everything, like `matchLabelMap`.
   */
  selectMap(selector: Labels): K[] {
    let smallest: Set<K> | undefined;
    let pairs = 0;
    for (const k in selector) {
      pairs++;
      const ids = this.byPair.get(k)?.get(selector[k] as string);
      if (ids === undefined) return [];
      if (smallest === undefined || ids.size < smallest.size) smallest = ids;
    }
    if (smallest === undefined) return [...this.labelsOf.keys()];
    // One pair: the index entry is the answer.
    if (pairs === 1) return [...smallest];
    const out: K[] = [];
    for (const id of smallest) if (matchLabelMap(selector, this.labelsOf.get(id))) out.push(id);
    return out;
  }

  /**
   * Ids whose labels match a LabelSelector (same semantics as `matchSelector`:
   * absent selects nothing, `{}` everything).
   */
  select(selector: LabelSelector | null | undefined): K[] {
    const c = compileSelector(selector);
    if (c.nothing) return [];
    // Narrow with the most selective positive requirement (In or Exists).
    let best: Iterable<K> | undefined;
    let bestSize = Number.POSITIVE_INFINITY;
    for (const r of c.requirements) {
      if (r.operator === "In") {
        const values = this.byPair.get(r.key);
        let size = 0;
        const sets: Set<K>[] = [];
        for (const v of r.values) {
          const s = values?.get(v);
          if (s !== undefined) {
            size += s.size;
            sets.push(s);
          }
        }
        if (size < bestSize) {
          bestSize = size;
          best = sets.length === 1 ? (sets[0] as Set<K>) : sets.flatMap((s) => [...s]);
        }
      } else if (r.operator === "Exists") {
        const s = this.byKey.get(r.key);
        const size = s?.size ?? 0;
        if (size < bestSize) {
          bestSize = size;
          best = s ?? [];
        }
      }
    }
    const out: K[] = [];
    if (best === undefined) {
      for (const [id, l] of this.labelsOf) if (c.matches(l)) out.push(id);
      return out;
    }
    for (const id of best) if (c.matches(this.labelsOf.get(id))) out.push(id);
    return out;
  }

  /** Whether any indexed object has label `key` (with `value`, when given). */
  has(key: string, value?: string): boolean {
    return value === undefined ? this.byKey.has(key) : this.byPair.get(key)?.has(value) === true;
  }
}
