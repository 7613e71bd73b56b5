/**
 * kube-apiserver's `AllocationBitmap` with the random-scan-with-offset
 * strategy: values `0..size-1`, a lower band `0..offset-1` for values users
 * pick, dynamic picks scan from a random point in the upper band first, then
 * in the lower band.
 */
import { Bitmap } from "./bitmap.js";
import type { Random } from "./random.js";

/** The allocation core shared by {@link ServiceIpAllocator} and {@link NodePortAllocator}. */
export class BandAllocator {
  /** Number of values. */
  readonly size: number;
  /** Size of the lower (static) band. */
  readonly offset: number;
  private readonly bits: Bitmap;
  private readonly random: Random;

  /** `size` values, the first `offset` of them forming the static band. */
  constructor(size: number, offset: number, random: Random) {
    this.size = size;
    this.offset = offset < size ? offset : 0;
    this.bits = new Bitmap(size);
    this.random = random;
  }

  /** Values in use. */
  get used(): number {
    return this.bits.used;
  }

  /** True when `i` is taken. */
  has(i: number): boolean {
    return this.bits.has(i);
  }

  /** Take `i`; false when already taken. */
  take(i: number): boolean {
    return this.bits.set(i);
  }

  /** Free `i`; false when it was free. */
  free(i: number): boolean {
    return this.bits.clear(i);
  }

  /** Pick and take a free value (upper band first), or -1 when full. */
  next(): number {
    const size = this.size;
    if (this.bits.used >= size) return -1;
    const off = this.offset;
    const upper = size - off;
    let at = this.bits.findClear(off + this.random.int(upper), off, size);
    if (at < 0 && off > 0) at = this.bits.findClear(this.random.int(off), 0, off);
    if (at < 0) return -1;
    this.bits.set(at);
    return at;
  }

  /** Every taken value, in order. */
  forEach(fn: (i: number) => void): void {
    this.bits.forEach(fn);
  }
}
