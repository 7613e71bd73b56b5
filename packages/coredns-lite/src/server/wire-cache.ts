/**
 * The server's wire-level answer cache: reply bytes by the query's bytes after
 * its 2-byte ID, per transport. Everything a reply depends on when the chain is
 * pure (flags, question and its case, EDNS size and DO bit) sits in those bytes,
 * so a repeated query is answered by copying the stored reply and patching the ID,
 * without parsing, the plugin chain or encoding. Valid for one index generation
 * (any index change empties it) and bounded in bytes (emptied when full, as the
 * `kubernetes` memo is).
 */
import type { DnsIndex } from "../index/dns-index.js";

/** The cache key of a query: its bytes after the ID, one char per byte. */
export function wireKey(query: Uint8Array): string {
  const b = query instanceof Buffer ? query : Buffer.from(query.buffer, query.byteOffset, query.byteLength);
  return b.toString("latin1", 2);
}

/** Stored replies by {@link wireKey}, one map per transport. */
export class WireCache {
  private udp = new Map<string, Uint8Array>();
  private tcp = new Map<string, Uint8Array>();
  private bytes = 0;
  private gen: number;
  private readonly index: DnsIndex;
  private readonly maxBytes: number;

  /** A cache valid while `index` keeps its generation, holding at most `maxBytes` of keys and replies. */
  constructor(index: DnsIndex, maxBytes: number) {
    this.index = index;
    this.maxBytes = maxBytes;
    this.gen = index.generation;
  }

  /** A copy of the reply stored for `key`, carrying the ID of `query`; undefined when there is none. */
  get(key: string, transport: "udp" | "tcp", query: Uint8Array): Uint8Array | undefined {
    if (this.gen !== this.index.generation) {
      this.clear();
      return undefined;
    }
    const stored = (transport === "udp" ? this.udp : this.tcp).get(key);
    if (stored === undefined) return undefined;
    const out = Buffer.allocUnsafe(stored.length);
    out.set(stored);
    out[0] = query[0] as number;
    out[1] = query[1] as number;
    return out;
  }

  /** Store a copy of `reply` for `key`; call it in the same tick the reply was computed in. */
  set(key: string, transport: "udp" | "tcp", reply: Uint8Array): void {
    if (this.gen !== this.index.generation) this.clear();
    const size = key.length + reply.length;
    if (this.bytes + size > this.maxBytes) {
      if (size > this.maxBytes) return;
      this.clear();
    }
    (transport === "udp" ? this.udp : this.tcp).set(key, reply.slice());
    this.bytes += size;
  }

  private clear(): void {
    this.udp = new Map();
    this.tcp = new Map();
    this.bytes = 0;
    this.gen = this.index.generation;
  }
}
