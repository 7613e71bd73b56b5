/**
 * NodePort allocation as kube-apiserver does it (`portallocator`): a port range
 * (default `30000-32767`) over an allocation bitmap, with a lower static band
 * of `min(max(16, size/32), 128)` ports that dynamic allocation uses last.
 */
import { BandAllocator } from "./band-allocator.js";
import { staticBandSize } from "./bitmap.js";
import { IpamError } from "./errors.js";
import { mathRandom, type Random } from "./random.js";

/** Options of {@link NodePortAllocator}. */
export interface NodePortAllocatorOptions {
  /** Random source of dynamic picks (default `Math.random`). */
  readonly random?: Random;
}

/** The default `--service-node-port-range`. */
export const DEFAULT_NODE_PORT_RANGE = "30000-32767";

/** NodePort allocation over one port range. */
export class NodePortAllocator {
  /** First port of the range. */
  readonly base: number;
  /** Number of ports in the range. */
  readonly size: number;
  /** Size of the static band (the lowest ports). */
  readonly staticBand: number;
  private readonly core: BandAllocator;

  /**
   * An allocator over `range` (`"30000-32767"`, or a single port `"30000"`, or `[first, last]`).
   * @throws {@link IpamError} for a malformed range.
   */
  constructor(
    range: string | readonly [number, number] = DEFAULT_NODE_PORT_RANGE,
    options: NodePortAllocatorOptions = {},
  ) {
    let lo: number;
    let hi: number;
    if (typeof range === "string") {
      const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(range);
      if (!m)
        throw new IpamError(
          `invalid port range ${JSON.stringify(range)}: expected "first-last"`,
          "service-node-port-range",
        );
      lo = Number(m[1]);
      hi = m[2] === undefined ? lo : Number(m[2]);
    } else {
      [lo, hi] = range;
    }
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || hi < lo) {
      throw new IpamError(
        `invalid port range ${lo}-${hi}: ports are 1-65535 and first <= last`,
        "service-node-port-range",
      );
    }
    this.base = lo;
    this.size = hi - lo + 1;
    this.staticBand = staticBandSize(this.size, 16, 128, 32);
    this.core = new BandAllocator(this.size, this.staticBand, options.random ?? mathRandom);
  }

  /** The range as `first-last`. */
  get range(): string {
    return `${this.base}-${this.base + this.size - 1}`;
  }

  /** Ports in use. */
  get used(): number {
    return this.core.used;
  }

  /** Ports still free. */
  get free(): number {
    return this.size - this.core.used;
  }

  /**
   * Allocate a specific port (a user-set `nodePort`).
   * @throws {@link IpamError} `provided port is not in the valid range. The range of valid ports is <range>`
   * or `provided port is already allocated`.
   */
  allocate(port: number): number {
    const i = port - this.base;
    if (!Number.isInteger(port) || i < 0 || i >= this.size) {
      throw new IpamError(
        `provided port is not in the valid range. The range of valid ports is ${this.range}`,
        "spec.ports[].nodePort",
      );
    }
    if (!this.core.take(i)) throw new IpamError("provided port is already allocated", "spec.ports[].nodePort");
    return port;
  }

  /**
   * Allocate a free port, preferring ports above the static band.
   * @throws {@link IpamError} `range is full`.
   */
  allocateNext(): number {
    const i = this.core.next();
    if (i < 0) throw new IpamError("range is full", "spec.ports[].nodePort");
    return this.base + i;
  }

  /** Release a port; no-op (false) when free or outside the range. */
  release(port: number): boolean {
    const i = port - this.base;
    return i >= 0 && i < this.size && this.core.free(i);
  }

  /** True when `port` is allocated. */
  has(port: number): boolean {
    const i = port - this.base;
    return i >= 0 && i < this.size && this.core.has(i);
  }

  /** Every allocated port, ascending. */
  list(): number[] {
    const out: number[] = [];
    this.core.forEach((i) => {
      out.push(this.base + i);
    });
    return out;
  }
}
