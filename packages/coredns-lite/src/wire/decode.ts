/**
 * Decoding. `parseQuery` is the server's hot path: it checks a query the way
 * miekg/dns (CoreDNS's codec) accepts one, reads the question into a lower-case
 * lookup key without allocating more than that string, and reads the EDNS(0)
 * OPT record. `decodeMessage` is the general decoder for upstream replies and
 * tests. Neither ever throws on hostile input: they report it.
 */
import { formatIPv4, formatIPv6 } from "@knet/netstack";
import { RRType } from "./constants.js";
import type { Question, Rr } from "./message.js";
import { escapedChar, labelText } from "./name.js";

/** A query that passed the checks. */
export interface ParsedQuery {
  /** Message id. */
  readonly id: number;
  /** The header flags word as sent. */
  readonly flags: number;
  /** The question name in lower case, absolute (`svc1.testns.svc.cluster.local.`). */
  readonly key: string;
  /** Question type. */
  readonly qtype: number;
  /** Question class. */
  readonly qclass: number;
  /** Offset just after the question; bytes 12..questionEnd are echoed in the reply. */
  readonly questionEnd: number;
  /** True when the query carried an OPT record. */
  readonly edns: boolean;
  /** The client's advertised UDP payload size (512 without EDNS, at least 512 with). */
  readonly udpSize: number;
  /** EDNS version (0 unless the client is newer). */
  readonly ednsVersion: number;
  /** The DO bit. */
  readonly dnssecOk: boolean;
  /** True when the question name has an upper-case letter (its spelling differs from `key`). */
  readonly mixedCase: boolean;
}

/** `parseQuery` outcome for packets that get no answer at all. */
export const IGNORE = -1;

/** The QR bit of the flags word. */
const QR = 0x8000;

/** Scratch space for building lookup keys (a name is at most 255 bytes). */
const SCRATCH = Buffer.allocUnsafe(256);

/**
 * Where the name at `off` ends in place (after its terminal zero or its first
 * pointer), or -1 when it is malformed: a label type other than 00/11, a
 * pointer that does not point strictly backwards (so loops are impossible), a
 * name longer than 255 bytes, or the buffer ending inside it.
 */
export function nameEnd(buf: Uint8Array, off: number): number {
  let pos = off;
  let end = -1;
  let total = 1;
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos] as number;
    if (len === 0) return end < 0 ? pos + 1 : end;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return -1;
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      if (end < 0) end = pos + 2;
      if (target >= pos || ++hops > 127) return -1;
      pos = target;
      continue;
    }
    if (kind !== 0) return -1;
    total += len + 1;
    if (total > 255) return -1;
    pos += len + 1;
  }
}

/**
 * Check a query and read its question. Returns the parsed query, `IGNORE`
 * (shorter than a header, or a response), or the rcode for a header-only error
 * reply: 4 (NOTIMP) for opcodes other than QUERY, 1 (FORMERR) for wrong counts
 * (QD≠1, AN>1, NS>1, AR>2, as miekg/dns's default accept function) or any
 * malformed part, including bytes after the last record the counts announce.
 */
export function parseQuery(buf: Uint8Array): ParsedQuery | number {
  const n = buf.length;
  if (n < 12) return IGNORE;
  const flags = ((buf[2] as number) << 8) | (buf[3] as number);
  if ((flags & QR) !== 0) return IGNORE;
  if (((flags >>> 11) & 15) !== 0) return 4;
  const qd = ((buf[4] as number) << 8) | (buf[5] as number);
  const an = ((buf[6] as number) << 8) | (buf[7] as number);
  const ns = ((buf[8] as number) << 8) | (buf[9] as number);
  const ar = ((buf[10] as number) << 8) | (buf[11] as number);
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return 1;
  // Question name: no compression pointers allowed here. Plain names (letters,
  // digits, '-', '_', '*' and other printable bytes that need no escape) are
  // lower-cased into a scratch buffer and decoded once, giving a flat string.
  let pos = 12;
  let key = "";
  let total = 1;
  let plain = true;
  let mixedCase = false;
  let w = 0;
  for (;;) {
    if (pos >= n) return 1;
    const len = buf[pos] as number;
    if (len === 0) {
      pos++;
      break;
    }
    if (len > 63) return 1;
    total += len + 1;
    if (total > 255 || pos + 1 + len > n) return 1;
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = buf[i] as number;
      if (c >= 0x41 && c <= 0x5a) {
        c += 32;
        mixedCase = true;
      } else if (c <= 0x20 || c >= 0x7f || escapedChar(c)) plain = false;
      SCRATCH[w++] = c;
    }
    SCRATCH[w++] = 0x2e;
    pos += len + 1;
  }
  if (plain) key = SCRATCH.toString("latin1", 0, w);
  else {
    // Rare: bytes that need presentation escapes.
    let p = 12;
    for (;;) {
      const len = buf[p] as number;
      if (len === 0) break;
      key += `${labelText(buf, p + 1, p + 1 + len, true)}.`;
      p += len + 1;
    }
  }
  if (key === "") key = ".";
  if (pos + 4 > n) return 1;
  const qtype = ((buf[pos] as number) << 8) | (buf[pos + 1] as number);
  const qclass = ((buf[pos + 2] as number) << 8) | (buf[pos + 3] as number);
  pos += 4;
  const questionEnd = pos;
  let edns = false;
  let udpSize = 512;
  let ednsVersion = 0;
  let dnssecOk = false;
  const rrs = an + ns + ar;
  for (let i = 0; i < rrs; i++) {
    const nameStart = pos;
    pos = nameEnd(buf, pos);
    if (pos < 0 || pos + 10 > n) return 1;
    const type = ((buf[pos] as number) << 8) | (buf[pos + 1] as number);
    const rdlen = ((buf[pos + 8] as number) << 8) | (buf[pos + 9] as number);
    if (pos + 10 + rdlen > n) return 1;
    if (type === RRType.OPT) {
      // Only in the additional section, once, owned by the root.
      if (i < an + ns || edns || buf[nameStart] !== 0) return 1;
      edns = true;
      udpSize = Math.max(512, ((buf[pos + 2] as number) << 8) | (buf[pos + 3] as number));
      ednsVersion = buf[pos + 5] as number;
      dnssecOk = ((buf[pos + 6] as number) & 0x80) !== 0;
      // Options must be well-formed TLVs.
      let o = pos + 10;
      const end = o + rdlen;
      while (o < end) {
        if (o + 4 > end) return 1;
        const olen = ((buf[o + 2] as number) << 8) | (buf[o + 3] as number);
        o += 4 + olen;
        if (o > end) return 1;
      }
    }
    pos += 10 + rdlen;
  }
  // Bytes after the last record: FORMERR, as Knot and BIND answer (miekg/dns ignores them).
  if (pos !== n) return 1;
  const id = ((buf[0] as number) << 8) | (buf[1] as number);
  return { id, flags, key, qtype, qclass, questionEnd, edns, udpSize, ednsVersion, dnssecOk, mixedCase };
}

/** Read the name at `off` (following pointers); the text keeps its case. Throws on malformed names. */
export function readName(buf: Uint8Array, off: number): { name: string; end: number } {
  const end = nameEnd(buf, off);
  if (end < 0) throw new DecodeError(`malformed name at offset ${off}`);
  let pos = off;
  let name = "";
  for (;;) {
    const len = buf[pos] as number;
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      continue;
    }
    name += `${labelText(buf, pos + 1, pos + 1 + len, false)}.`;
    pos += len + 1;
  }
  return { name: name === "" ? "." : name, end };
}

/** A message that cannot be decoded. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

/** A decoded message. */
export interface DecodedMessage {
  /** Message id. */
  readonly id: number;
  /** Header flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, low rcode bits). */
  readonly flags: number;
  /** The full rcode (low 4 bits from the header, upper 8 from OPT). */
  readonly rcode: number;
  /** Questions. */
  readonly question: readonly Question[];
  /** Answer records. */
  readonly answer: readonly Rr[];
  /** Authority records. */
  readonly authority: readonly Rr[];
  /** Additional records without OPT. */
  readonly additional: readonly Rr[];
  /** The OPT record's UDP size, when present. */
  readonly ednsUdpSize?: number;
}

function u16(buf: Uint8Array, o: number): number {
  return ((buf[o] as number) << 8) | (buf[o + 1] as number);
}

function u32(buf: Uint8Array, o: number): number {
  return (
    (((buf[o] as number) << 24) |
      ((buf[o + 1] as number) << 16) |
      ((buf[o + 2] as number) << 8) |
      (buf[o + 3] as number)) >>>
    0
  );
}

function charStrings(buf: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let o = start;
  while (o < end) {
    const len = buf[o] as number;
    if (o + 1 + len > end) throw new DecodeError("character-string overruns its record");
    let s = "";
    for (let i = o + 1; i < o + 1 + len; i++) s += String.fromCharCode(buf[i] as number);
    out.push(s);
    o += 1 + len;
  }
  return out;
}

function decodeRr(
  buf: Uint8Array,
  off: number,
): { rr: Rr | undefined; opt?: { size: number; ext: number }; end: number } {
  const { name, end: nEnd } = readName(buf, off);
  if (nEnd + 10 > buf.length) throw new DecodeError("record header overruns the message");
  const type = u16(buf, nEnd);
  const klass = u16(buf, nEnd + 2);
  const ttl = u32(buf, nEnd + 4);
  const rdlen = u16(buf, nEnd + 8);
  const s = nEnd + 10;
  const e = s + rdlen;
  if (e > buf.length) throw new DecodeError("record data overruns the message");
  const base = { name, ttl };
  switch (type) {
    case RRType.OPT:
      return { rr: undefined, opt: { size: klass, ext: buf[nEnd + 4] as number }, end: e };
    case RRType.A:
      if (rdlen !== 4) throw new DecodeError("A record data is not 4 bytes");
      return { rr: { ...base, type: 1, address: formatIPv4(u32(buf, s)) }, end: e };
    case RRType.AAAA:
      if (rdlen !== 16) throw new DecodeError("AAAA record data is not 16 bytes");
      return {
        rr: { ...base, type: 28, address: formatIPv6(u32(buf, s), u32(buf, s + 4), u32(buf, s + 8), u32(buf, s + 12)) },
        end: e,
      };
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      return { rr: { ...base, type, target: readName(buf, s).name }, end: e };
    case RRType.MX:
      return { rr: { ...base, type: 15, preference: u16(buf, s), exchange: readName(buf, s + 2).name }, end: e };
    case RRType.SRV:
      return {
        rr: {
          ...base,
          type: 33,
          priority: u16(buf, s),
          weight: u16(buf, s + 2),
          port: u16(buf, s + 4),
          target: readName(buf, s + 6).name,
        },
        end: e,
      };
    case RRType.TXT:
      return { rr: { ...base, type: 16, text: charStrings(buf, s, e) }, end: e };
    case RRType.HINFO: {
      const [cpu = "", os = ""] = charStrings(buf, s, e);
      return { rr: { ...base, type: 13, cpu, os }, end: e };
    }
    case RRType.SOA: {
      const m = readName(buf, s);
      const r = readName(buf, m.end);
      if (r.end + 20 > e) throw new DecodeError("SOA record data too short");
      return {
        rr: {
          ...base,
          type: 6,
          mname: m.name,
          rname: r.name,
          serial: u32(buf, r.end),
          refresh: u32(buf, r.end + 4),
          retry: u32(buf, r.end + 8),
          expire: u32(buf, r.end + 12),
          minimum: u32(buf, r.end + 16),
        },
        end: e,
      };
    }
    default:
      return { rr: { ...base, type, rdata: buf.slice(s, e) }, end: e };
  }
}

/** Decode a whole message. @throws {@link DecodeError} when it is malformed. */
export function decodeMessage(buf: Uint8Array): DecodedMessage {
  if (buf.length < 12) throw new DecodeError(`message is ${buf.length} bytes; a header alone is 12`);
  const flags = u16(buf, 2);
  const counts = [u16(buf, 4), u16(buf, 6), u16(buf, 8), u16(buf, 10)] as const;
  let pos = 12;
  const question: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, end } = readName(buf, pos);
    if (end + 4 > buf.length) throw new DecodeError("question overruns the message");
    question.push({ name, type: u16(buf, end), class: u16(buf, end + 2) });
    pos = end + 4;
  }
  const sections: Rr[][] = [[], [], []];
  let ext = 0;
  let ednsUdpSize: number | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < (counts[s + 1] as number); i++) {
      const r = decodeRr(buf, pos);
      pos = r.end;
      if (r.opt !== undefined) {
        ext = r.opt.ext;
        ednsUdpSize = r.opt.size;
      } else if (r.rr !== undefined) (sections[s] as Rr[]).push(r.rr);
    }
  }
  const msg: DecodedMessage = {
    id: u16(buf, 0),
    flags,
    rcode: (ext << 4) | (flags & 15),
    question,
    answer: sections[0] as Rr[],
    authority: sections[1] as Rr[],
    additional: sections[2] as Rr[],
  };
  return ednsUdpSize === undefined ? msg : { ...msg, ednsUdpSize };
}

/** Encode a query (for clients, tests and `forward`). */
export function encodeQuery(
  id: number,
  name: string,
  type: number,
  options: { recursionDesired?: boolean; udpSize?: number; dnssecOk?: boolean } = {},
): Uint8Array {
  const labels: number[] = [];
  for (const l of name === "." ? [] : name.replace(/\.$/, "").split(".")) {
    labels.push(l.length);
    for (let i = 0; i < l.length; i++) labels.push(l.charCodeAt(i) & 255);
  }
  labels.push(0);
  const opt = options.udpSize !== undefined;
  const out = new Uint8Array(12 + labels.length + 4 + (opt ? 11 : 0));
  out[0] = id >>> 8;
  out[1] = id & 255;
  out[2] = options.recursionDesired === false ? 0 : 1;
  out[5] = 1;
  out[11] = opt ? 1 : 0;
  out.set(labels, 12);
  let p = 12 + labels.length;
  out[p++] = type >>> 8;
  out[p++] = type & 255;
  out[p++] = 0;
  out[p++] = 1;
  if (opt) {
    const size = options.udpSize ?? 1232;
    out.set([0, 0, 41, size >>> 8, size & 255, 0, 0, options.dnssecOk ? 0x80 : 0, 0, 0, 0], p);
  }
  return out;
}
