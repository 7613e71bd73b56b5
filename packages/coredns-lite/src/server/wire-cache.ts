/**
 * The server's wire-level answer cache: reply bytes by the query's bytes after
 * its 2-byte ID, per transport. Everything a reply depends on when the chain is
 * pure (flags, question and its case, EDNS size and DO bit) sits in those bytes,
 * so a repeated query is answered by copying the stored reply and patching the ID,
 * without parsing, the plugin chain or encoding. Valid for one index generation
 * (any index change empties it) and bounded in bytes (emptied when full, as the
 * `kubernetes` memo is). Entries are found by a hash of the bytes (a small
 * integer, cheaper to look up than a string made of them) and then compared byte
 * for byte, so a collision is a miss, never a wrong answer.
 */
import type { DnsIndex } from "../index/dns-index.js";

interface Entry {
  /** The query's bytes after the ID. */
  readonly query: Uint8Array;
  readonly reply: Uint8Array;
}

/** The cache key of a query: FNV-1a of its bytes after the ID, cut to 30 bits (a V8 small integer). */
export function wireKey(query: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 2; i < query.length; i++) h = Math.imul(h ^ (query[i] as number), 0x01000193);
  return h & 0x3fffffff;
}

/** Stored replies by {@link wireKey}, one map per transport. */
export class WireCache {
  private udp = new Map<number, Entry>();
  private tcp = new Map<number, Entry>();
  private bytes = 0;
  private gen: number;
  private readonly index: DnsIndex;
  private readonly maxBytes: number;

  /** A cache valid while `index` keeps its generation, holding at most `maxBytes` of queries and replies. */
  constructor(index: DnsIndex, maxBytes: number) {
    this.index = index;
    this.maxBytes = maxBytes;
    this.gen = index.generation;
  }

  /** A copy of the reply stored for `query` (whose {@link wireKey} is `key`), carrying its ID; undefined when there is none. */
  get(key: number, transport: "udp" | "tcp", query: Uint8Array): Uint8Array | undefined {
    if (this.gen !== this.index.generation) {
      this.clear();
      return undefined;
    }
    const e = (transport === "udp" ? this.udp : this.tcp).get(key);
    if (e === undefined) return undefined;
    const stored = e.query;
    const n = stored.length;
    if (query.length !== n + 2) return undefined;
    for (let i = 0; i < n; i++) if (stored[i] !== query[i + 2]) return undefined;
    const reply = e.reply;
    const out = Buffer.allocUnsafe(reply.length);
    out.set(reply);
    out[0] = query[0] as number;
    out[1] = query[1] as number;
    return out;
  }

  /** Store copies of `query` and its `reply` under `key`; call it in the same tick the reply was computed in. */
  set(key: number, transport: "udp" | "tcp", query: Uint8Array, reply: Uint8Array): void {
    if (this.gen !== this.index.generation) this.clear();
    const size = query.length + reply.length;
    if (this.bytes + size > this.maxBytes) {
      if (size > this.maxBytes) return;
      this.clear();
    }
    const map = transport === "udp" ? this.udp : this.tcp;
    const old = map.get(key);
    if (old !== undefined) this.bytes -= old.query.length + 2 + old.reply.length;
    map.set(key, { query: query.slice(2), reply: reply.slice() });
    this.bytes += size;
  }

  private clear(): void {
    this.udp = new Map();
    this.tcp = new Map();
    this.bytes = 0;
    this.gen = this.index.generation;
  }
}
