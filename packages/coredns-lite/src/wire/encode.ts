/**
 * The general message encoder: name compression (RFC 1035 4.1.4, owner names
 * and the names inside NS/CNAME/PTR/SOA/MX data; never SRV targets, RFC 2782)
 * that points only at a suffix spelled in exactly the same case, as miekg/dns
 * does, so every name reads back as it was given,
 * and truncation to a size limit the way miekg/dns does it: whole records are
 * kept while they fit, then everything after is dropped and TC is set.
 */
import { Addr } from "@knet/netstack";
import { CLASS_IN, RRType } from "./constants.js";
import { readName } from "./decode.js";
import type { DnsResponse, Question, Rr } from "./message.js";
import { labelBytes, NameError, splitLabels } from "./name.js";

/** Header flag bits. */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** The OPT pseudo-record the server appends when the query had one. */
export interface OptRecord {
  /** Advertised UDP payload size. */
  readonly udpSize: number;
  /** Upper 8 bits of the extended rcode (1 for BADVERS). */
  readonly extendedRcode: number;
  /** The DO bit. */
  readonly dnssecOk: boolean;
}

/** Encoded size of an OPT record without options. */
export const OPT_SIZE = 11;

class Overflow extends Error {}

/** A growable wire buffer with a compression table. */
export class WireWriter {
  buf: Uint8Array;
  off = 0;
  private readonly comp = new Map<string, number>();
  private readonly limit: number;

  constructor(limit = 65535) {
    this.limit = limit;
    this.buf = new Uint8Array(Math.min(limit, 4096));
  }

  private ensure(n: number): void {
    if (this.off + n > this.limit) throw new Overflow();
    if (this.off + n <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.limit, Math.max(this.buf.length * 2, this.off + n)));
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v & 255;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.off++] = (v >>> 8) & 255;
    this.buf[this.off++] = v & 255;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf[this.off++] = (v >>> 24) & 255;
    this.buf[this.off++] = (v >>> 16) & 255;
    this.buf[this.off++] = (v >>> 8) & 255;
    this.buf[this.off++] = v & 255;
  }

  bytes(b: ArrayLike<number>): void {
    this.ensure(b.length);
    for (let i = 0; i < b.length; i++) this.buf[this.off++] = b[i] as number;
  }

  /** Write a name; `compress` allows a pointer to an earlier copy of a suffix. */
  name(name: string, compress: boolean): void {
    const labels = splitLabels(name);
    let wire = 1;
    const raw = labels.map((l) => {
      const b = labelBytes(l);
      wire += b.length + 1;
      return b;
    });
    if (wire > 255) throw new NameError(`name "${name}" is ${wire} bytes on the wire; the limit is 255`);
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join(".");
      const ptr = this.comp.get(key);
      if (compress && ptr !== undefined) {
        this.u16(0xc000 | ptr);
        return;
      }
      if (ptr === undefined && this.off < 0x3fff) this.comp.set(key, this.off);
      const b = raw[i] as number[];
      this.u8(b.length);
      this.bytes(b);
    }
    this.u8(0);
  }

  /** Remember that the name at `offset` (already written) spells `name`. */
  registerName(name: string, offset: number): void {
    const labels = splitLabels(name);
    let o = offset;
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join(".");
      if (!this.comp.has(key) && o < 0x3fff) this.comp.set(key, o);
      o += labelBytes(labels[i] as string).length + 1;
    }
  }

  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 255;
    this.buf[at + 1] = v & 255;
  }

  /** Drop everything written after `off` (compression entries there are dropped too). */
  rewind(off: number): void {
    this.off = off;
    for (const [k, v] of this.comp) if (v >= off) this.comp.delete(k);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.off);
  }
}

function charString(w: WireWriter, s: string): void {
  const b: number[] = [];
  for (let i = 0; i < s.length && b.length < 255; i++) b.push(s.charCodeAt(i) & 255);
  w.u8(b.length);
  w.bytes(b);
}

/** Write one record (owner, type, class, TTL, RDATA). */
export function writeRr(w: WireWriter, rr: Rr): void {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(CLASS_IN);
  w.u32(rr.ttl >>> 0);
  const lenAt = w.off;
  w.u16(0);
  const start = w.off;
  if ("rdata" in rr) {
    w.bytes(rr.rdata);
  } else if ("address" in rr) {
    const a = Addr.parse(rr.address);
    if ((a.family === 4) !== (rr.type === RRType.A))
      throw new NameError(`${rr.address} does not fit a type ${rr.type} record`);
    w.bytes(a.toBytes());
  } else if ("priority" in rr) {
    w.u16(rr.priority);
    w.u16(rr.weight);
    w.u16(rr.port);
    w.name(rr.target, false);
  } else if ("target" in rr) {
    w.name(rr.target, true);
  } else if ("text" in rr) {
    for (const t of rr.text) charString(w, t);
  } else if ("cpu" in rr) {
    charString(w, rr.cpu);
    charString(w, rr.os);
  } else if ("exchange" in rr) {
    w.u16(rr.preference);
    w.name(rr.exchange, true);
  } else {
    w.name(rr.mname, true);
    w.name(rr.rname, true);
    w.u32(rr.serial);
    w.u32(rr.refresh);
    w.u32(rr.retry);
    w.u32(rr.expire);
    w.u32(rr.minimum);
  }
  w.setU16(lenAt, w.off - start);
}

/** Write an OPT pseudo-record. */
export function writeOpt(w: WireWriter, opt: OptRecord): void {
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(opt.udpSize);
  w.u8(opt.extendedRcode);
  w.u8(0);
  w.u16(opt.dnssecOk ? 0x8000 : 0);
  w.u16(0);
}

/** What the encoder needs besides the response. */
export interface EncodeOptions {
  /** Message id. */
  readonly id: number;
  /** Copy RD from the query. */
  readonly recursionDesired: boolean;
  /** Copy CD from the query. */
  readonly checkingDisabled?: boolean;
  /** The question to echo (its case is kept); absent for header-only errors. */
  readonly question?: Question;
  /** Raw question bytes from the query (name+type+class), echoed byte for byte instead of `question`. */
  readonly rawQuestion?: { readonly bytes: Uint8Array };
  /** Append this OPT record. */
  readonly opt?: OptRecord;
  /** Size limit (UDP payload); records that do not fit are dropped and TC set. Default 65535. */
  readonly limit?: number;
  /** Opcode to put in the header (default 0). */
  readonly opcode?: number;
}

/** Encode a response to wire bytes. */
export function encodeResponse(res: DnsResponse, options: EncodeOptions): Uint8Array {
  const limit = Math.max(12, Math.min(65535, options.limit ?? 65535));
  const w = new WireWriter(65535);
  w.u16(options.id);
  w.u16(0);
  w.u16(options.question !== undefined || options.rawQuestion !== undefined ? 1 : 0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  if (options.rawQuestion !== undefined) {
    w.bytes(options.rawQuestion.bytes);
    w.registerName(readName(options.rawQuestion.bytes, 0).name, 12);
  } else if (options.question !== undefined) {
    w.name(options.question.name, false);
    w.u16(options.question.type);
    w.u16(options.question.class);
  }
  const budget = limit - (options.opt !== undefined ? OPT_SIZE : 0);
  let truncated = res.truncated;
  const counts = [0, 0, 0];
  const sections = [res.answer, res.authority, res.additional];
  let full = w.off > budget;
  for (let s = 0; s < 3 && !full; s++) {
    for (const rr of sections[s] as readonly Rr[]) {
      const before = w.off;
      let over = false;
      try {
        writeRr(w, rr);
      } catch (e) {
        if (!(e instanceof Overflow)) throw e;
        over = true;
      }
      if (over || w.off > budget) {
        w.rewind(before);
        full = true;
        break;
      }
      counts[s] = (counts[s] as number) + 1;
    }
  }
  if (counts[0] !== res.answer.length || counts[1] !== res.authority.length || counts[2] !== res.additional.length) {
    truncated = true;
  }
  let arcount = counts[2] as number;
  if (options.opt !== undefined) {
    writeOpt(w, options.opt);
    arcount++;
  }
  let flags = Flag.QR | ((options.opcode ?? 0) << 11) | (res.rcode & 15);
  if (res.authoritative) flags |= Flag.AA;
  if (truncated) flags |= Flag.TC;
  if (options.recursionDesired) flags |= Flag.RD;
  if (res.recursionAvailable === true) flags |= Flag.RA;
  if (options.checkingDisabled === true) flags |= Flag.CD;
  w.setU16(2, flags);
  w.setU16(6, counts[0] as number);
  w.setU16(8, counts[1] as number);
  w.setU16(10, arcount);
  return w.result();
}
