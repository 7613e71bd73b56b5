/**
 * rr and wrr, as net/netfilter/ipvs/ip_vs_rr.c and ip_vs_wrr.c implement them.
 * Destination lists are in the kernel's order (new destinations at the head).
 */
import type { RealServer } from "../real-server.js";
import type { DestChange, Scheduler } from "../scheduler.js";

const usable = (d: RealServer): boolean => !d.overloaded && d.weight > 0;

/**
 * ip_vs_rr.c: a cursor into the destination list (initially the list head);
 * each connection goes to the next destination after the cursor, circularly,
 * that is not overloaded and has weight > 0. Deleting the destination under the
 * cursor moves the cursor to the entry before it (`p->next->prev`).
 */
export class RoundRobin implements Scheduler {
  /** `rr`. */
  readonly name = "rr";
  /** Index of the last chosen destination; -1 is the list head. */
  cursor = -1;

  changed(dests: readonly RealServer[], change: DestChange): void {
    if (change.kind === "add") {
      // list_add at the head shifts every index by one; the cursor keeps pointing at the same entry
      if (this.cursor >= 0) this.cursor++;
    } else if (change.kind === "del") {
      if (change.index === this.cursor) this.cursor = change.index - 1;
      else if (change.index < this.cursor) this.cursor--;
      if (this.cursor >= dests.length) this.cursor = dests.length - 1;
    }
  }

  schedule(dests: readonly RealServer[]): RealServer | undefined {
    const n = dests.length;
    const start = this.cursor;
    // entries after the cursor, then (second pass, unless the cursor is the head) up to and including it
    for (let i = start + 1; i < n; i++) {
      const d = dests[i] as RealServer;
      if (usable(d)) {
        this.cursor = i;
        return d;
      }
    }
    if (start < 0) return undefined;
    for (let i = 0; i <= start && i < n; i++) {
      const d = dests[i] as RealServer;
      if (usable(d)) {
        this.cursor = i;
        return d;
      }
    }
    return undefined;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * ip_vs_wrr.c: `di` is the gcd of the positive weights, `mw` the maximum
 * weight minus `(di - 1)`, `cw` the current weight threshold. Scanning from
 * the cursor, the first destination with weight >= `cw` wins; at the end of the
 * list `cw` drops by `di`, and when it reaches 0 it restarts at `mw`. A change
 * of the destination list resets the cursor to the head and recomputes `di`
 * and `mw`, keeping `cw` (rounded to the new step) when it still fits.
 */
export class WeightedRoundRobin implements Scheduler {
  /** `wrr`. */
  readonly name = "wrr";
  /** Index of the current destination; -1 is the list head. */
  cl = -1;
  /** Current weight. */
  cw = 0;
  /** Maximum weight, reduced by `di - 1`. */
  mw = 0;
  /** Decreasing interval (gcd of the weights). */
  di = 1;

  constructor(dests: readonly RealServer[]) {
    this.recompute(dests);
    this.cw = this.mw;
  }

  private recompute(dests: readonly RealServer[]): void {
    let g = 0;
    let max = 0;
    for (const d of dests) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    this.di = g > 0 ? g : 1;
    this.mw = max - (this.di - 1);
  }

  changed(dests: readonly RealServer[]): void {
    this.cl = -1;
    this.recompute(dests);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  schedule(dests: readonly RealServer[]): RealServer | undefined {
    let dest = this.cl;
    if (this.mw === 0) {
      this.cl = dest;
      return undefined;
    }
    const last = dest;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (let i = dest + 1; i < dests.length; i++) {
        const d = dests[i] as RealServer;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = i;
          return d;
        }
        if (i === stop) {
          this.cl = i;
          return undefined;
        }
      }
      dest = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) {
          this.cl = -1;
          return undefined;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}
