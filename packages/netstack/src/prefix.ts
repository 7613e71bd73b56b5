import { Addr, AddrError, type Family } from "./addr.js";

/** Mask of the top `len` bits of one 32-bit word (len clamped to 0..32). */
export function wordMask(len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return 0xffffffff;
  return (0xffffffff << (32 - len)) >>> 0;
}

/** Options for {@link Prefix.parse}. */
export interface PrefixParseOptions {
  /**
   * Clear host bits instead of rejecting them (`10.1.2.3/8` becomes `10.0.0.0/8`).
   * Off by default: a prefix with host bits set is usually a typo.
   */
  readonly mask?: boolean;
}

/**
 * A CIDR prefix: a network address and a length. Host bits are always zero.
 *
 * @example
 * ```ts
 * const p = Prefix.parse("10.96.0.0/12");
 * p.contains(Addr.parse("10.96.0.10")); // true
 * p.size(); // 1048576n
 * [...p.subnets(14)].map(String); // ["10.96.0.0/14", ..., "10.108.0.0/14"]
 * ```
 */
export class Prefix {
  /** The network address (host bits zero). */
  readonly addr: Addr;
  /** Prefix length in bits. */
  readonly length: number;
  private readonly m0: number;
  private readonly m1: number;
  private readonly m2: number;
  private readonly m3: number;

  private constructor(addr: Addr, length: number) {
    this.addr = addr;
    this.length = length;
    if (addr.family === 4) {
      this.m0 = 0;
      this.m1 = 0;
      this.m2 = 0;
      this.m3 = wordMask(length);
    } else {
      this.m0 = wordMask(length);
      this.m1 = wordMask(length - 32);
      this.m2 = wordMask(length - 64);
      this.m3 = wordMask(length - 96);
    }
  }

  /**
   * A prefix from an address and a length.
   * @param mask clear host bits instead of rejecting them.
   * @throws {@link AddrError} for a bad length or host bits set.
   */
  static of(addr: Addr, length: number, mask = false): Prefix {
    if (!Number.isInteger(length) || length < 0 || length > addr.bits) {
      throw new AddrError(`${addr}/${length}`, `prefix length must be 0..${addr.bits}`);
    }
    const masked = maskAddr(addr.withoutZone(), length);
    if (!mask && !masked.equals(addr.withoutZone())) {
      throw new AddrError(`${addr}/${length}`, `host bits are set; did you mean ${masked}/${length}?`);
    }
    return new Prefix(masked, length);
  }

  /**
   * Parse `addr/len`. A bare address is not a prefix (write `/32` or `/128`).
   * @throws {@link AddrError} naming the input: bad address, bad length, or host bits set
   * (unless `options.mask`).
   */
  static parse(text: string, options?: PrefixParseOptions): Prefix {
    if (typeof text !== "string") throw new AddrError(String(text), "not a string");
    const slash = text.indexOf("/");
    if (slash < 0) throw new AddrError(text, "missing '/length'");
    const addrText = text.slice(0, slash);
    const lenText = text.slice(slash + 1);
    let addr: Addr;
    try {
      addr = Addr.parse(addrText);
    } catch (e) {
      if (e instanceof AddrError) throw new AddrError(text, e.reason);
      throw e;
    }
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
      throw new AddrError(text, `prefix length ${JSON.stringify(lenText)} is not a decimal number`);
    }
    const length = Number(lenText);
    if (length > addr.bits) {
      throw new AddrError(text, `prefix length ${length} is greater than ${addr.bits} for IPv${addr.family}`);
    }
    const masked = maskAddr(addr, length);
    if (!options?.mask && !masked.equals(addr)) {
      throw new AddrError(text, `host bits are set; did you mean ${masked}/${length}?`);
    }
    return new Prefix(masked, length);
  }

  /** True when `text` parses as a prefix with the same options. */
  static isValid(text: string, options?: PrefixParseOptions): boolean {
    try {
      Prefix.parse(text, options);
      return true;
    } catch {
      return false;
    }
  }

  /** The single-address prefix (`/32` or `/128`) of `addr`. */
  static host(addr: Addr): Prefix {
    return new Prefix(addr.withoutZone(), addr.bits);
  }

  /**
   * The minimal list of prefixes that covers exactly the addresses `first..last`
   * (inclusive), in address order.
   */
  static fromRange(first: Addr, last: Addr): Prefix[] {
    if (first.family !== last.family) {
      throw new AddrError(`${first}-${last}`, "range ends are of different families");
    }
    if (first.compare(last) > 0) throw new AddrError(`${first}-${last}`, "range start is after its end");
    const bits = first.bits;
    const out: Prefix[] = [];
    let lo = first.toBigInt();
    const hi = last.toBigInt();
    while (lo <= hi) {
      // Largest block aligned at lo that does not pass hi.
      let size = lo === 0n ? bits : trailingZeros(lo, bits);
      while (size > 0 && lo + (1n << BigInt(size)) - 1n > hi) size--;
      out.push(new Prefix(Addr.fromBigInt(lo, first.family), bits - size));
      lo += 1n << BigInt(size);
    }
    return out;
  }

  /** Address family of the prefix. */
  get family(): Family {
    return this.addr.family;
  }

  /** Number of addresses covered. */
  size(): bigint {
    return 1n << BigInt(this.addr.bits - this.length);
  }

  /** The network address (same as `addr`). */
  first(): Addr {
    return this.addr;
  }

  /** The last address (the IPv4 broadcast address for IPv4). */
  last(): Addr {
    const a = this.addr;
    if (a.family === 4) return Addr.v4((a.w3 | ~this.m3) >>> 0);
    return Addr.v6(a.w0 | ~this.m0, a.w1 | ~this.m1, a.w2 | ~this.m2, a.w3 | ~this.m3);
  }

  /**
   * The `n`th address of the prefix (0 is the network address; negative counts
   * from the end, -1 being the last).
   * @throws {@link AddrError} when `n` is outside the prefix.
   */
  nth(n: number | bigint): Addr {
    const size = this.size();
    let k = BigInt(n);
    if (k < 0n) k += size;
    if (k < 0n || k >= size) throw new AddrError(`${this}[${n}]`, `index outside a prefix of ${size} addresses`);
    return this.addr.add(k);
  }

  /** Offset of `addr` inside the prefix. @throws {@link AddrError} when it is outside. */
  indexOf(addr: Addr): bigint {
    if (!this.contains(addr)) throw new AddrError(addr.toString(), `not inside ${this}`);
    return addr.toBigInt() - this.addr.toBigInt();
  }

  /** True when `addr` is inside the prefix (same family only). */
  contains(addr: Addr): boolean {
    const a = this.addr;
    if (addr.family !== a.family) return false;
    if (a.family === 4) return (addr.w3 & this.m3) >>> 0 === a.w3;
    return (
      (addr.w0 & this.m0) >>> 0 === a.w0 &&
      (addr.w1 & this.m1) >>> 0 === a.w1 &&
      (addr.w2 & this.m2) >>> 0 === a.w2 &&
      (addr.w3 & this.m3) >>> 0 === a.w3
    );
  }

  /** Hot path: true when the uint32 IPv4 address `v` is inside this IPv4 prefix. */
  containsV4(v: number): boolean {
    return this.addr.family === 4 && (v & this.m3) >>> 0 === this.addr.w3;
  }

  /** True when `other` lies wholly inside this prefix. */
  covers(other: Prefix): boolean {
    return other.family === this.family && other.length >= this.length && this.contains(other.addr);
  }

  /** True when the two prefixes share at least one address. */
  overlaps(other: Prefix): boolean {
    return this.covers(other) || other.covers(this);
  }

  /**
   * The subnets of length `length` in address order (lazily).
   * @throws {@link AddrError} when `length` is shorter than this prefix or too long.
   */
  *subnets(length: number): Generator<Prefix> {
    if (!Number.isInteger(length) || length < this.length || length > this.addr.bits) {
      throw new AddrError(`${this}`, `cannot split into /${length} subnets`);
    }
    const step = 1n << BigInt(this.addr.bits - length);
    const count = 1n << BigInt(length - this.length);
    let base = this.addr.toBigInt();
    for (let i = 0n; i < count; i++) {
      yield new Prefix(Addr.fromBigInt(base, this.family), length);
      base += step;
    }
  }

  /** The enclosing prefix of length `length` (default: one bit shorter). */
  supernet(length = this.length - 1): Prefix {
    if (!Number.isInteger(length) || length < 0 || length > this.length) {
      throw new AddrError(`${this}`, `no supernet of length ${length}`);
    }
    return new Prefix(maskAddr(this.addr, length), length);
  }

  /**
   * This prefix minus `others`: the minimal, address-ordered list of prefixes
   * covering exactly the addresses of this one that none of `others` covers.
   * Prefixes of the other family are ignored.
   */
  subtract(others: readonly Prefix[]): Prefix[] {
    const cut = others.filter((o) => o.family === this.family && o.overlaps(this));
    const out: Prefix[] = [];
    const walk = (p: Prefix): void => {
      if (cut.some((c) => c.covers(p))) return;
      if (!cut.some((c) => p.covers(c))) {
        out.push(p);
        return;
      }
      const [lo, hi] = p.halves();
      walk(lo);
      walk(hi);
    };
    walk(this);
    return out;
  }

  /** The two halves of this prefix. @throws {@link AddrError} for a host prefix. */
  halves(): [Prefix, Prefix] {
    if (this.length === this.addr.bits) throw new AddrError(`${this}`, "a host prefix has no halves");
    const len = this.length + 1;
    const lo = new Prefix(this.addr, len);
    const hi = new Prefix(this.addr.add(1n << BigInt(this.addr.bits - len)), len);
    return [lo, hi];
  }

  /** Same network and length. */
  equals(other: Prefix): boolean {
    return this.length === other.length && this.addr.equals(other.addr);
  }

  /** Order by address, then shorter first. */
  compare(other: Prefix): number {
    return this.addr.compare(other.addr) || this.length - other.length;
  }

  /** `addr/len` in canonical form. */
  toString(): string {
    return `${this.addr}/${this.length}`;
  }

  /** Same as {@link Prefix.toString}. */
  toJSON(): string {
    return this.toString();
  }
}

/** `addr` with all but the top `length` bits cleared. */
function maskAddr(addr: Addr, length: number): Addr {
  if (addr.family === 4) return Addr.v4((addr.w3 & wordMask(length)) >>> 0);
  return Addr.v6(
    addr.w0 & wordMask(length),
    addr.w1 & wordMask(length - 32),
    addr.w2 & wordMask(length - 64),
    addr.w3 & wordMask(length - 96),
  );
}

function trailingZeros(v: bigint, bits: number): number {
  let n = 0;
  while (n < bits && ((v >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}
