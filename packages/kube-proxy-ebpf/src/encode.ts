import { Addr, type Family, Prefix } from "@knet/netstack";
import type {
  AffinityMatchEntry,
  BackendEntry,
  LbMapName,
  RevNatEntry,
  ServiceEntry,
  SourceRangeEntry,
} from "./lb-maps.js";

/**
 * Byte layouts of the LB map keys and values, as `bpf/lib/lb.h` declares them
 * and Cilium's agent writes them (addresses, ports and reverse-NAT IDs in
 * network byte order; slots, counts and backend IDs in host order, little
 * endian on x86-64 and arm64).
 */

/** Pinned names of the maps per family (Cilium's names). */
export function mapPinName(map: LbMapName, family: Family): string {
  const f = family === 4 ? "4" : "6";
  switch (map) {
    case "services":
      return `cilium_lb${f}_services_v2`;
    case "backends":
      return `cilium_lb${f}_backends_v3`;
    case "revNat":
      return `cilium_lb${f}_reverse_nat`;
    case "affinityMatch":
      return "cilium_lb_affinity_match";
    case "sourceRanges":
      return `cilium_lb${f}_source_range`;
    case "maglev":
      return `cilium_lb${f}_maglev`;
  }
}

/** A 16-bit field (port, slot, count, service ID) must hold its value: nothing is truncated silently. */
function fits16(v: number): void {
  if (v > 0xffff)
    throw new RangeError(
      `${v} does not fit a 16-bit field of the LB maps (service IDs, slots and counts are 16-bit in Cilium's datapath)`,
    );
}

class Bytes {
  readonly b: Uint8Array;
  private o = 0;
  constructor(size: number) {
    this.b = new Uint8Array(size);
  }
  u8(v: number): this {
    this.b[this.o++] = v & 0xff;
    return this;
  }
  le16(v: number): this {
    fits16(v);
    return this.u8(v).u8(v >>> 8);
  }
  be16(v: number): this {
    fits16(v);
    return this.u8(v >>> 8).u8(v);
  }
  le32(v: number): this {
    return this.le16(v & 0xffff).le16(v >>> 16);
  }
  addr(a: Addr): this {
    const bytes = a.toBytes();
    this.b.set(bytes, this.o);
    this.o += bytes.length;
    return this;
  }
  skip(n: number): this {
    this.o += n;
    return this;
  }
}

function addrLen(family: Family): number {
  return family === 4 ? 4 : 16;
}

/** `lb{4,6}_key`. */
export function encodeServiceKey(e: ServiceEntry): Uint8Array {
  const n = addrLen(e.addr.family);
  return new Bytes(n + 8).addr(e.addr).be16(e.port).le16(e.slot).u8(e.proto).u8(e.scope).skip(2).b;
}

/** `lb{4,6}_service`. */
export function encodeServiceValue(e: ServiceEntry): Uint8Array {
  return new Bytes(12)
    .le32(e.backendId)
    .le16(e.count)
    .be16(e.revNat)
    .u8(e.flags)
    .u8(e.flags >>> 8)
    .le16(e.qcount).b;
}

/** Backend map key: the backend ID. */
export function encodeBackendKey(id: number): Uint8Array {
  return new Bytes(4).le32(id).b;
}

/** `lb{4,6}_backend`. */
export function encodeBackendValue(e: BackendEntry): Uint8Array {
  return new Bytes(addrLen(e.addr.family) + 8).addr(e.addr).be16(e.port).u8(e.proto).u8(e.state).skip(4).b;
}

/** Reverse-NAT key: the service ID in network order. */
export function encodeRevNatKey(id: number): Uint8Array {
  return new Bytes(2).be16(id).b;
}

/** `lb{4,6}_reverse_nat` (packed). */
export function encodeRevNatValue(e: RevNatEntry): Uint8Array {
  return new Bytes(addrLen(e.addr.family) + 2).addr(e.addr).be16(e.port).b;
}

/** `lb_affinity_match`. */
export function encodeAffinityMatchKey(e: AffinityMatchEntry): Uint8Array {
  return new Bytes(8).le32(e.backendId).be16(e.revNat).skip(2).b;
}

/** `lb{4,6}_src_range_key` (LPM: prefix length counts the 32 bits of ID and padding). */
export function encodeSourceRangeKey(e: SourceRangeEntry): Uint8Array {
  const n = addrLen(e.prefix.family);
  return new Bytes(8 + n)
    .le32(32 + e.prefix.length)
    .be16(e.revNat)
    .skip(2)
    .addr(e.prefix.addr).b;
}

/** Maglev outer key: the service ID in network order. */
export function encodeMaglevKey(id: number): Uint8Array {
  return encodeRevNatKey(id);
}

/** A Maglev table as the inner array map's single value (u32 backend IDs). */
export function encodeMaglevTable(table: Uint32Array): Uint8Array {
  const b = new Bytes(table.length * 4);
  for (const id of table) b.le32(id);
  return b.b;
}

/** Bytes as bpftool's `hex` operand: `0a 60 32 68`. */
export function hexBytes(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (i === 0 ? "" : " ") + (b[i] as number).toString(16).padStart(2, "0");
  return s;
}

class Reader {
  private o = 0;
  constructor(private readonly b: Uint8Array) {}
  u8(): number {
    return this.b[this.o++] ?? 0;
  }
  le16(): number {
    return this.u8() | (this.u8() << 8);
  }
  be16(): number {
    return (this.u8() << 8) | this.u8();
  }
  le32(): number {
    return (this.le16() | (this.le16() << 16)) >>> 0;
  }
  addr(family: Family): Addr {
    const n = addrLen(family);
    const a = Addr.fromBytes(this.b.subarray(this.o, this.o + n));
    this.o += n;
    return a;
  }
  skip(n: number): this {
    this.o += n;
    return this;
  }
}

/** Decode a service map entry from its key and value bytes. */
export function decodeService(family: Family, key: Uint8Array, value: Uint8Array): ServiceEntry {
  const k = new Reader(key);
  const addr = k.addr(family);
  const port = k.be16();
  const slot = k.le16();
  const proto = k.u8();
  const scope = k.u8() === 1 ? 1 : 0;
  const v = new Reader(value);
  const backendId = v.le32();
  const count = v.le16();
  const revNat = v.be16();
  const flags = v.u8() | (v.u8() << 8);
  const qcount = v.le16();
  return { addr, port, proto, scope, slot, backendId, count, qcount, revNat, flags };
}

/** Decode a backend map entry. */
export function decodeBackend(family: Family, key: Uint8Array, value: Uint8Array): BackendEntry {
  const id = new Reader(key).le32();
  const v = new Reader(value);
  const addr = v.addr(family);
  const port = v.be16();
  const proto = v.u8();
  const state = v.u8();
  return { id, addr, port, proto, state };
}

/** Decode a reverse-NAT entry. */
export function decodeRevNat(family: Family, key: Uint8Array, value: Uint8Array): RevNatEntry {
  const id = new Reader(key).be16();
  const v = new Reader(value);
  return { id, addr: v.addr(family), port: v.be16() };
}

/** Decode an affinity-match key. */
export function decodeAffinityMatch(key: Uint8Array): AffinityMatchEntry {
  const r = new Reader(key);
  const backendId = r.le32();
  return { backendId, revNat: r.be16() };
}

/** Decode a source-range key. */
export function decodeSourceRange(family: Family, key: Uint8Array): SourceRangeEntry {
  const r = new Reader(key);
  const bits = r.le32() - 32;
  const revNat = r.be16();
  r.skip(2);
  return { revNat, prefix: Prefix.of(r.addr(family), bits) };
}

/** Decode a Maglev table value. */
export function decodeMaglevTable(value: Uint8Array): Uint32Array {
  const r = new Reader(value);
  const out = new Uint32Array(value.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = r.le32();
  return out;
}
