/**
 * IP addresses as numbers: IPv4 as one uint32, IPv6 as four uint32 words (most
 * significant first). Strings and bigint appear only at the API edge.
 */

/** Address family: 4 for IPv4, 6 for IPv6. */
export type Family = 4 | 6;

/**
 * Thrown for an address or prefix that cannot be parsed or is out of range.
 * The message names the input and what is wrong with it.
 */
export class AddrError extends Error {
  override readonly name = "AddrError";
  /** The text (or value) that was rejected. */
  readonly input: string;
  /** What is wrong with it, without the input. */
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`invalid address ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** Options for {@link Addr.parse}. */
export interface ParseOptions {
  /** Accept an IPv6 zone id (`fe80::1%eth0`). Off by default. */
  readonly allowZone?: boolean;
}

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;

/**
 * Parse dotted-quad IPv4 text into a uint32. Strict: exactly four decimal parts,
 * each 0-255 with no leading zeros (so `010.1.1.1` is an error, not octal).
 * @throws {@link AddrError} naming the input and the bad part.
 */
export function parseIPv4(text: string): number {
  const v = scanIPv4(text, 0, text.length);
  if (v < 0) throw new AddrError(text, ipv4Reason(text));
  return v;
}

/**
 * Scan `text[start, end)` as dotted-quad IPv4. Returns the uint32, or -1 when
 * the text is not a strict IPv4 address. The hot path behind {@link parseIPv4}.
 */
function scanIPv4(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let first = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      if (digits === 0) first = c;
      else if (first === CH_0) return -1; // leading zero
      part = part * 10 + (c - CH_0);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === CH_DOT) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

function ipv4Reason(text: string): string {
  if (text.length === 0) return "empty string";
  const parts = text.split(".");
  if (parts.length !== 4) return `expected 4 dot-separated parts, found ${parts.length}`;
  for (const p of parts) {
    if (p === "") return "empty part";
    if (!/^[0-9]+$/.test(p)) return `part ${JSON.stringify(p)} is not a decimal number`;
    if (p.length > 1 && p.startsWith("0")) return `part ${JSON.stringify(p)} has a leading zero`;
    if (Number(p) > 255) return `part ${p} is greater than 255`;
  }
  return "not an IPv4 address";
}

/** Format a uint32 as dotted-quad IPv4 text. */
export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parse IPv6 text into `out` (eight 16-bit groups). Returns null on success or
 * the reason it failed. Accepts `::` once and a trailing embedded IPv4 part.
 */
function scanIPv6(text: string, end: number, groups: Uint16Array): string | null {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end === 0) return "empty string";
  if (text.charCodeAt(0) === CH_COLON) {
    if (end < 2 || text.charCodeAt(1) !== CH_COLON) return "a single leading ':'";
    gap = 0;
    i = 2;
    if (i === end) {
      groups.fill(0);
      return null;
    }
  }
  while (i < end) {
    if (n === 8) return "more than 8 groups";
    let v = 0;
    let digits = 0;
    const start = i;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      if (++digits > 4) return `group "${text.slice(start, i + 1)}..." has more than 4 hex digits`;
      i++;
    }
    if (i < end && text.charCodeAt(i) === CH_DOT) {
      // Embedded IPv4 in the last 32 bits.
      if (n > 6) return "embedded IPv4 part does not fit";
      const v4 = scanIPv4(text, start, end);
      if (v4 < 0) return `embedded IPv4 part "${text.slice(start, end)}" is invalid`;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0) return `unexpected character ${JSON.stringify(text[i] ?? "")} at offset ${i}`;
    groups[n++] = v;
    if (i === end) break;
    if (text.charCodeAt(i) !== CH_COLON) return `unexpected character ${JSON.stringify(text[i])} at offset ${i}`;
    i++;
    if (i < end && text.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return "'::' appears more than once";
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return "a trailing single ':'";
    }
  }
  if (gap < 0) {
    if (n !== 8) return `expected 8 groups, found ${n}`;
    return null;
  }
  if (n > 7) return "'::' stands for no group in an address with 8 groups";
  const tail = n - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k] ?? 0;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return null;
}

const scratch = new Uint16Array(8);

/**
 * An IPv4 or IPv6 address. Immutable; fields are plain numbers so comparisons
 * and masks never allocate. IPv4 lives in `w3` with `w0..w2` zero.
 *
 * @example
 * ```ts
 * const a = Addr.parse("10.96.0.1");
 * a.next().toString(); // "10.96.0.2"
 * Addr.parse("FD00:0:0::A").toString(); // "fd00::a"
 * ```
 */
export class Addr {
  /** Address family. */
  readonly family: Family;
  /** Most significant 32 bits (IPv6 only; 0 for IPv4). */
  readonly w0: number;
  /** Bits 32-63 (IPv6 only). */
  readonly w1: number;
  /** Bits 64-95 (IPv6 only). */
  readonly w2: number;
  /** Least significant 32 bits; the whole address for IPv4. */
  readonly w3: number;
  /** IPv6 zone id without the `%`, when parsed with `allowZone`. */
  readonly zone: string | undefined;

  /** Words must already be uint32 (callers coerce with `>>> 0` where they compute them). */
  private constructor(family: Family, w0: number, w1: number, w2: number, w3: number, zone?: string) {
    this.family = family;
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.w3 = w3;
    this.zone = zone;
  }

  /** An IPv4 address from its uint32 value. */
  static v4(value: number): Addr {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new AddrError(String(value), "IPv4 value must be an integer in 0..4294967295");
    }
    return new Addr(4, 0, 0, 0, value);
  }

  /** An IPv6 address from four uint32 words, most significant first. */
  static v6(w0: number, w1: number, w2: number, w3: number): Addr {
    return new Addr(6, w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0);
  }

  /**
   * Parse IPv4 (strict dotted quad) or IPv6 text. IPv4-mapped IPv6 stays IPv6
   * (use {@link Addr.unmap} to get the IPv4 address).
   * @throws {@link AddrError} naming the input and what is wrong.
   */
  static parse(text: string, options?: ParseOptions): Addr {
    if (typeof text !== "string") throw new AddrError(String(text), "not a string");
    const v4 = scanIPv4(text, 0, text.length);
    if (v4 >= 0) return new Addr(4, 0, 0, 0, v4);
    if (text.indexOf(":") < 0) throw new AddrError(text, ipv4Reason(text));
    let end = text.length;
    let zone: string | undefined;
    const pct = text.indexOf("%");
    if (pct >= 0) {
      if (!options?.allowZone) throw new AddrError(text, "zone ids are not accepted here");
      zone = text.slice(pct + 1);
      if (zone === "") throw new AddrError(text, "empty zone id");
      end = pct;
    }
    const reason = scanIPv6(text, end, scratch);
    if (reason !== null) throw new AddrError(text, reason);
    const g = scratch;
    return new Addr(
      6,
      (((g[0] ?? 0) << 16) | (g[1] ?? 0)) >>> 0,
      (((g[2] ?? 0) << 16) | (g[3] ?? 0)) >>> 0,
      (((g[4] ?? 0) << 16) | (g[5] ?? 0)) >>> 0,
      (((g[6] ?? 0) << 16) | (g[7] ?? 0)) >>> 0,
      zone,
    );
  }

  /** True when `text` parses as an address (see {@link Addr.parse}). */
  static isValid(text: string, options?: ParseOptions): boolean {
    try {
      Addr.parse(text, options);
      return true;
    } catch {
      return false;
    }
  }

  /** An address of `family` from its integer value. */
  static fromBigInt(value: bigint, family: Family): Addr {
    const max = family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
    if (value < 0n || value > max) {
      throw new AddrError(value.toString(), `out of range for IPv${family}`);
    }
    if (family === 4) return new Addr(4, 0, 0, 0, Number(value));
    return new Addr(
      6,
      Number((value >> 96n) & 0xffffffffn),
      Number((value >> 64n) & 0xffffffffn),
      Number((value >> 32n) & 0xffffffffn),
      Number(value & 0xffffffffn),
    );
  }

  /** The address from 4 (IPv4) or 16 (IPv6) network-order bytes. */
  static fromBytes(bytes: Uint8Array): Addr {
    const w = (o: number): number =>
      (((bytes[o] ?? 0) << 24) | ((bytes[o + 1] ?? 0) << 16) | ((bytes[o + 2] ?? 0) << 8) | (bytes[o + 3] ?? 0)) >>> 0;
    if (bytes.length === 4) return new Addr(4, 0, 0, 0, w(0));
    if (bytes.length === 16) return new Addr(6, w(0), w(4), w(8), w(12));
    throw new AddrError(`${bytes.length} bytes`, "an address has 4 or 16 bytes");
  }

  /** Width in bits: 32 or 128. */
  get bits(): 32 | 128 {
    return this.family === 4 ? 32 : 128;
  }

  /** The uint32 value of an IPv4 address. @throws {@link AddrError} for IPv6. */
  get v4Value(): number {
    if (this.family !== 4) throw new AddrError(this.toString(), "not an IPv4 address");
    return this.w3;
  }

  /** The integer value. */
  toBigInt(): bigint {
    if (this.family === 4) return BigInt(this.w3);
    return (BigInt(this.w0) << 96n) | (BigInt(this.w1) << 64n) | (BigInt(this.w2) << 32n) | BigInt(this.w3);
  }

  /** Network-order bytes (4 or 16). */
  toBytes(): Uint8Array {
    const words = this.family === 4 ? [this.w3] : [this.w0, this.w1, this.w2, this.w3];
    const out = new Uint8Array(words.length * 4);
    words.forEach((w, i) => {
      out[i * 4] = w >>> 24;
      out[i * 4 + 1] = (w >>> 16) & 255;
      out[i * 4 + 2] = (w >>> 8) & 255;
      out[i * 4 + 3] = w & 255;
    });
    return out;
  }

  /** True for `::ffff:a.b.c.d`. */
  isV4Mapped(): boolean {
    return this.family === 6 && this.w0 === 0 && this.w1 === 0 && this.w2 === 0xffff;
  }

  /** The IPv4 address inside an IPv4-mapped IPv6 address; any other address unchanged. */
  unmap(): Addr {
    return this.isV4Mapped() ? new Addr(4, 0, 0, 0, this.w3) : this;
  }

  /** `::ffff:a.b.c.d` for an IPv4 address; IPv6 addresses unchanged. */
  toV4Mapped(): Addr {
    return this.family === 4 ? new Addr(6, 0, 0, 0xffff, this.w3) : this;
  }

  /** The address without its zone id. */
  withoutZone(): Addr {
    return this.zone === undefined ? this : new Addr(this.family, this.w0, this.w1, this.w2, this.w3);
  }

  /** Order: IPv4 before IPv6, then numerically. Zones are ignored. */
  compare(other: Addr): number {
    if (this.family !== other.family) return this.family - other.family;
    return this.w0 - other.w0 || this.w1 - other.w1 || this.w2 - other.w2 || this.w3 - other.w3;
  }

  /** Same family and value (and zone). */
  equals(other: Addr): boolean {
    return (
      this.family === other.family &&
      this.w3 === other.w3 &&
      this.w2 === other.w2 &&
      this.w1 === other.w1 &&
      this.w0 === other.w0 &&
      this.zone === other.zone
    );
  }

  /**
   * The address `offset` away (negative goes down).
   * @throws {@link AddrError} when the result leaves the family's range.
   */
  add(offset: number | bigint): Addr {
    if (this.family === 4 && typeof offset === "number") {
      const v = this.w3 + offset;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new AddrError(this.toString(), `adding ${offset} leaves the IPv4 range`);
      }
      return new Addr(4, 0, 0, 0, v);
    }
    const v = this.toBigInt() + BigInt(offset);
    const max = this.family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
    if (v < 0n || v > max) throw new AddrError(this.toString(), `adding ${offset} leaves the IPv${this.family} range`);
    return Addr.fromBigInt(v, this.family);
  }

  /** The next address. @throws {@link AddrError} past the last address of the family. */
  next(): Addr {
    return this.add(1);
  }

  /** The previous address. @throws {@link AddrError} before the first address. */
  prev(): Addr {
    return this.add(-1);
  }

  /** Canonical text: dotted quad, or RFC 5952 for IPv6 (mapped addresses as `::ffff:a.b.c.d`). */
  toString(): string {
    if (this.family === 4) return formatIPv4(this.w3);
    const text = formatIPv6(this.w0, this.w1, this.w2, this.w3);
    return this.zone === undefined ? text : `${text}%${this.zone}`;
  }

  /** Same as {@link Addr.toString}, so addresses serialise as text. */
  toJSON(): string {
    return this.toString();
  }
}

/** RFC 5952 text for four words: lower case, no leading zeros, longest zero run as `::`. */
export function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIPv4(w3)}`;
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let best = -1;
  let bestLen = 1; // a single zero group is not shortened (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(":");
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}
