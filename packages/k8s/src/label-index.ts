/**
 * An inverted index from labels to object ids, so selecting the pods of many
 * services costs about the size of the answer instead of a scan of every pod.
 * Internally each object gets a small integer slot, and each `key=value` pair a
 * posting list of slots in a plain array (removal swaps the last entry in), so
 * adding an object is a few array pushes and no per-pair Set grows.
 */
import type { LabelSelector } from "./objects.js";
import { compileSelector, type Labels, matchLabelMap } from "./selector.js";

/** The slots having one `key=value` pair. */
interface Posting {
  readonly slots: number[];
}

/**
 * Label index over objects identified by `K` (a key such as `ns/name`). Selection
 * semantics equal `matchSelector` / `matchLabelMap` exactly; the index only
 * narrows the candidates.
 */
export class LabelIndex<K> {
  private readonly slotOf = new Map<K, number>();
  /** slot -> id (undefined when free) */
  private readonly idAt: (K | undefined)[] = [];
  /** slot -> labels */
  private readonly labelsAt: (Labels | undefined)[] = [];
  /** slot -> for each of its labels, in order: the posting it is in and its position there */
  private readonly entriesAt: (Posting | number)[][] = [];
  private readonly free: number[] = [];
  /** key -> value -> posting */
  private readonly byPair = new Map<string, Map<string, Posting>>();

  /** Number of indexed objects. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Add or replace the labels of `id`. */
  set(id: K, labels: Labels | undefined): void {
    let slot = this.slotOf.get(id);
    if (slot !== undefined) this.unlink(slot);
    else {
      slot = this.free.pop() ?? this.idAt.length;
      this.slotOf.set(id, slot);
      this.idAt[slot] = id;
    }
    const l: Labels = { ...(labels ?? {}) };
    this.labelsAt[slot] = l;
    const entries: (Posting | number)[] = [];
    for (const k in l) {
      const v = l[k] as string;
      let values = this.byPair.get(k);
      if (values === undefined) {
        values = new Map();
        this.byPair.set(k, values);
      }
      let p = values.get(v);
      if (p === undefined) {
        p = { slots: [] };
        values.set(v, p);
      }
      entries.push(p, p.slots.length);
      p.slots.push(slot);
    }
    this.entriesAt[slot] = entries;
  }

  /** Take `slot` out of every posting it is in (swapping the last entry into its place). */
  private unlink(slot: number): void {
    const entries = this.entriesAt[slot] ?? [];
    const l = this.labelsAt[slot] ?? {};
    let i = 0;
    for (const k in l) {
      const p = entries[i] as Posting;
      const pos = entries[i + 1] as number;
      const last = p.slots.pop() as number;
      if (last !== slot) {
        p.slots[pos] = last;
        // Tell the moved slot where its entry went.
        const moved = this.entriesAt[last] as (Posting | number)[];
        moved[moved.indexOf(p) + 1] = pos;
      }
      if (p.slots.length === 0) {
        const values = this.byPair.get(k);
        values?.delete(l[k] as string);
        if (values !== undefined && values.size === 0) this.byPair.delete(k);
      }
      i += 2;
    }
    this.entriesAt[slot] = [];
  }

  /** Remove `id`; returns whether it was indexed. */
  delete(id: K): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.unlink(slot);
    this.slotOf.delete(id);
    this.idAt[slot] = undefined;
    this.labelsAt[slot] = undefined;
    this.free.push(slot);
    return true;
  }

  /** The labels stored for `id`. */
  labels(id: K): Labels | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.labelsAt[slot];
  }

  /** Every indexed id. */
  ids(): IterableIterator<K> {
    return this.slotOf.keys();
  }

  private idsOf(slots: readonly number[]): K[] {
    const out = new Array<K>(slots.length);
    for (let i = 0; i < slots.length; i++) out[i] = this.idAt[slots[i] as number] as K;
    return out;
  }

  /**
   * Ids whose labels match a Service-style selector map (every pair equal). An empty
   * map matches everything, like `matchLabelMap`.
   */
  selectMap(selector: Labels): K[] {
    let smallest: Posting | undefined;
    let pairs = 0;
    for (const k in selector) {
      pairs++;
      const p = this.byPair.get(k)?.get(selector[k] as string);
      if (p === undefined) return [];
      if (smallest === undefined || p.slots.length < smallest.slots.length) smallest = p;
    }
    if (smallest === undefined) return [...this.slotOf.keys()];
    // One pair: the posting is the answer.
    if (pairs === 1) return this.idsOf(smallest.slots);
    const out: K[] = [];
    for (const slot of smallest.slots) if (matchLabelMap(selector, this.labelsAt[slot])) out.push(this.idAt[slot] as K);
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
    let best: Posting[] | undefined;
    let bestSize = Number.POSITIVE_INFINITY;
    for (const r of c.requirements) {
      if (r.operator !== "In" && r.operator !== "Exists") continue;
      const values = this.byPair.get(r.key);
      const lists: Posting[] = [];
      let size = 0;
      if (r.operator === "In") {
        for (const v of r.values) {
          const p = values?.get(v);
          if (p !== undefined && !lists.includes(p)) {
            size += p.slots.length;
            lists.push(p);
          }
        }
      } else {
        for (const p of values?.values() ?? []) {
          size += p.slots.length;
          lists.push(p);
        }
      }
      if (size < bestSize) {
        bestSize = size;
        best = lists;
      }
    }
    const out: K[] = [];
    if (best === undefined) {
      for (const [id, slot] of this.slotOf) if (c.matches(this.labelsAt[slot])) out.push(id);
      return out;
    }
    // Distinct values of one key: each slot is in at most one of the lists.
    for (const p of best)
      for (const slot of p.slots) if (c.matches(this.labelsAt[slot])) out.push(this.idAt[slot] as K);
    return out;
  }

  /** Whether any indexed object has label `key` (with `value`, when given). */
  has(key: string, value?: string): boolean {
    const values = this.byPair.get(key);
    return value === undefined ? values !== undefined : values?.has(value) === true;
  }
}
