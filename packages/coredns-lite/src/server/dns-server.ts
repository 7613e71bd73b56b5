/**
 * The DNS server: UDP and TCP on one port (127.0.0.1 unless told otherwise),
 * CoreDNS's acceptance rules (FORMERR, NOTIMP, BADVERS), zone check (REFUSED
 * outside the block's zones), EDNS(0) with the client's payload size,
 * truncation with TC, and a hot path that reuses the encoded sections of a
 * memoised answer and only patches id, flags and the echoed question. When every
 * handler is pure, a repeated query is answered from the wire cache (its reply
 * bytes by the query bytes after the ID) without parsing, the chain or encoding.
 */
import { createHash } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { createServer, isIP, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { parseCorefile, type ServerBlock } from "../config.js";
import type { DnsIndex } from "../index/dns-index.js";
import {
  type Clock,
  ConfigError,
  type DnsRequest,
  type PluginInstance,
  type Random,
  type ServerContext,
  type SetupEnv,
} from "../plugin.js";
import { MetricsRegistry } from "../plugins/metrics/registry.js";
import { seededRandom } from "../random.js";
import { echoCase } from "../resolve.js";
import { CLASS_IN, Rcode } from "../wire/constants.js";
import { IGNORE, type ParsedQuery, parseQuery, readName } from "../wire/decode.js";
import { encodeResponse, Flag, type OptRecord } from "../wire/encode.js";
import { type DnsResponse, emptyResponse } from "../wire/message.js";
import { isSubdomain } from "../wire/name.js";
import { buildChain, type Chain } from "./chain.js";
import { WireCache, wireKey } from "./wire-cache.js";

/** Why a server stopped on its own, as CoreDNS exits with a `[FATAL]` line (a forwarding loop the `loop` plugin saw, a listener that failed). */
export class FatalError extends Error {
  override readonly name = "FatalError";
}

/** Where the server listens. */
export interface ListenOptions {
  /** IP to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 picks a free one (the same for UDP and TCP). Default: the config's port, else 53. */
  readonly port?: number;
}

/** Options of a {@link DnsServer}. */
export interface DnsServerOptions {
  /** The record index. */
  readonly index: DnsIndex;
  /** Corefile text (its first server block is used) or a parsed block. Default: {@link defaultCorefile}. */
  readonly config?: string | ServerBlock;
  /**
   * Path of the Corefile to run instead of `config` (its first server block); the
   * `reload` plugin re-reads this file.
   */
  readonly configFile?: string;
  /**
   * Called once a fatal error (a forwarding loop found by `loop`) has stopped the
   * server, where CoreDNS would exit. The `[FATAL]` line goes to the log sink first.
   */
  readonly onFatal?: (error: FatalError) => void;
  /** Overrides the listen address. */
  readonly listen?: ListenOptions;
  /** Clock (ms). Default `Date.now`. */
  readonly clock?: Clock;
  /** Random source. Default seeded from the clock. */
  readonly random?: Random;
  /** Where `log`/`errors` lines go. Default stderr. */
  readonly logSink?: (line: string) => void;
  /**
   * Largest UDP reply ever sent, whatever the client advertises (512-65535). Default 1232,
   * the DNS flag day 2020 value CoreDNS's `bufsize` and Knot use; larger answers are
   * truncated with TC and the client retries over TCP.
   */
  readonly maxUdpSize?: number;
  /** Serve TCP too. Default true. */
  readonly tcp?: boolean;
  /**
   * Most TCP connections at once. Default 256. When all are taken, a new connection
   * evicts the connection idle the longest (no query being answered, no reply unsent);
   * when none is idle, the new one is closed.
   */
  readonly maxTcpConnections?: number;
  /**
   * A TCP connection must deliver its next whole message within this many ms of
   * connecting or of its previous message, else it is closed. Default 10,000. Bytes
   * of an unfinished message do not extend it.
   */
  readonly tcpIdleMs?: number;
  /**
   * Once the first byte of a TCP message has arrived, the whole message must arrive
   * within this many ms, else the connection is closed (slow clients cannot hold a
   * slot by sending a byte now and then). Default 2,000, miekg/dns's read timeout.
   */
  readonly tcpMessageMs?: number;
  /**
   * Reply bytes a TCP connection may have waiting to be sent before the server stops
   * reading its queries (it resumes when the client has read them). Default 64 KiB.
   */
  readonly tcpMaxQueuedBytes?: number;
  /**
   * Bytes (queries and replies) the wire cache may hold; 0 turns it off. Default 4 MiB.
   * It is used only when every handler of the chain is pure (see `Handler.pure`):
   * a `log`, `metrics`, `cache`, `autopath` or `forward` directive turns it off.
   */
  readonly wireCacheBytes?: number;
}

/** TCP connection figures of a running {@link DnsServer}. */
export interface TcpStats {
  /** Open connections. */
  readonly connections: number;
  /** Reply bytes written but not yet sent, over all connections. */
  readonly queuedBytes: number;
  /** Connections whose queries are not being read until their replies drain. */
  readonly pausedConnections: number;
}

/** Async answers one TCP connection may have outstanding before the server stops reading it. */
const MAX_TCP_INFLIGHT = 64;

/** One TCP connection's state. */
interface TcpConn {
  readonly sock: TcpSocket;
  readonly remote: string;
  /** Received bytes not yet parsed into messages. */
  pending: Buffer;
  /** Async answers not yet written. */
  inflight: number;
  /** Reading stopped until the replies drain. */
  paused: boolean;
  /** Time (ms) by which the next whole message must have arrived. */
  deadline: number;
}

/** The Corefile used when none is given: the cluster zones, errors, kubernetes, loadbalance. */
export function defaultCorefile(zone = "cluster.local", ttl = 5): string {
  return `${zone} in-addr.arpa ip6.arpa {\n  errors\n  kubernetes ${zone} in-addr.arpa ip6.arpa {\n    ttl ${ttl}\n  }\n  loadbalance\n}\n`;
}

interface Template {
  readonly key: string;
  readonly type: number;
  readonly flags: number;
  readonly body: Uint8Array;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
}

/** A peer address as Node reports it. */
type Peer = string | { readonly address: string; readonly port: number };

class Request implements DnsRequest {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly dnssecOk: boolean;
  readonly transport: "udp" | "tcp" | "internal";
  private readonly peer: Peer | undefined;
  private readonly buf: Uint8Array | undefined;
  private original: string | undefined;
  private readonly mixedCase: boolean;

  constructor(q: ParsedQuery, buf: Uint8Array, transport: "udp" | "tcp", peer: Peer | undefined) {
    this.name = q.key;
    this.type = q.qtype;
    this.class = q.qclass;
    this.dnssecOk = q.dnssecOk;
    this.transport = transport;
    this.peer = peer;
    this.buf = buf;
    this.mixedCase = q.mixedCase;
  }

  get remote(): string | undefined {
    const p = this.peer;
    if (p === undefined || typeof p === "string") return p;
    return p.address.includes(":") ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
  }

  get originalName(): string {
    if (this.original === undefined)
      this.original = this.buf === undefined || !this.mixedCase ? this.name : readName(this.buf, 12).name;
    return this.original;
  }
}

/** A UDP+TCP DNS server running a plugin chain over a {@link DnsIndex}. */
export class DnsServer {
  /** Metrics shared with the `metrics` plugin. */
  readonly metrics = new MetricsRegistry();
  private block!: ServerBlock;
  private chain!: Chain;
  private zones!: readonly string[];
  private host!: string;
  private port!: number;
  private readonly maxUdp: number;
  private readonly tcpOn: boolean;
  private readonly maxTcp: number;
  private readonly tcpIdleMs: number;
  private readonly tcpMessageMs: number;
  private readonly tcpMaxQueued: number;
  private readonly templates = new WeakMap<DnsResponse, Template>();
  private wire: WireCache | undefined;
  private udp: Socket | undefined;
  private tcp: TcpServer | undefined;
  /** Open connections, least recently active first (a connection moves to the end when a message completes). */
  private readonly conns = new Map<TcpSocket, TcpConn>();
  private sweeper: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private readonly rejected;
  private readonly options: DnsServerOptions;
  private readonly env: Omit<SetupEnv, "zones" | "directives">;
  private configHash = "";
  private stopping: Promise<void> | undefined;

  constructor(options: DnsServerOptions) {
    this.options = options;
    this.maxUdp = Math.max(512, Math.min(65535, positive(options.maxUdpSize, 1232, "maxUdpSize")));
    this.tcpOn = options.tcp ?? true;
    this.maxTcp = positive(options.maxTcpConnections, 256, "maxTcpConnections");
    this.tcpIdleMs = positive(options.tcpIdleMs, 10_000, "tcpIdleMs");
    this.tcpMessageMs = positive(options.tcpMessageMs, 2_000, "tcpMessageMs");
    this.tcpMaxQueued = positive(options.tcpMaxQueuedBytes, 64 * 1024, "tcpMaxQueuedBytes");
    const logSink = options.logSink ?? ((l: string) => process.stderr.write(`${l}\n`));
    this.env = {
      index: options.index,
      clock: options.clock ?? { now: () => Date.now() },
      random: options.random ?? seededRandom(Date.now()),
      logSink,
      metrics: this.metrics,
      fatal: (message) => this.fatal(message),
    };
    let cfg: string | ServerBlock = options.config ?? defaultCorefile();
    if (options.configFile !== undefined) {
      cfg = readCorefile(options.configFile);
      this.configHash = sha512(cfg);
    }
    this.configure(typeof cfg === "string" ? firstBlock(cfg) : cfg);
    const reload = this.block.directives.find((d) => d.name === "reload");
    if (reload !== undefined && options.configFile === undefined)
      throw new ConfigError(
        "reload needs the Corefile's path: give configFile (knet dns serve --config FILE)",
        reload.line,
      );
    this.rejected = this.metrics.counter(
      "coredns_dns_rejected_total",
      "Queries answered before the plugin chain (FORMERR, NOTIMP, REFUSED, BADVERS).",
    );
  }

  /** Take `block` as the running configuration: zones, listen address, chain and wire cache. */
  private configure(block: ServerBlock): void {
    const bind = block.directives.find((d) => d.name === "bind");
    if (bind !== undefined && bind.args.length !== 1)
      throw new ConfigError("bind takes exactly one address here", bind.line);
    const chain = buildChain(block, { ...this.env, zones: block.zones, directives: block.directives }, (name, type) =>
      this.lookup(name, type),
    );
    this.block = block;
    this.zones = block.zones;
    this.host = this.options.listen?.host ?? bind?.args[0] ?? "127.0.0.1";
    this.port = this.options.listen?.port ?? block.port ?? 53;
    this.chain = chain;
    const wireBytes = this.options.wireCacheBytes ?? 4 << 20;
    this.wire = chain.pure && wireBytes > 0 ? new WireCache(this.options.index, wireBytes) : undefined;
  }

  /** What plugins see of the server when they start. */
  private readonly context: ServerContext = {
    address: () => this.address(),
    reloadIfChanged: () => this.reloadIfChanged(),
  };

  /**
   * Re-read {@link DnsServerOptions.configFile}; when its SHA-512 changed, run the new
   * configuration (plugins restarted, sockets rebound if the address changed). A file
   * that cannot be read or loaded is logged and the running configuration kept.
   */
  async reloadIfChanged(): Promise<void> {
    const file = this.options.configFile;
    if (file === undefined || this.stopping !== undefined) return;
    const log = this.env.logSink;
    let text: string;
    try {
      text = readCorefile(file);
    } catch (e) {
      log(`[ERROR] plugin/reload: ${(e as Error).message}`);
      return;
    }
    const hash = sha512(text);
    if (hash === this.configHash) return;
    this.configHash = hash;
    const old = { chain: this.chain, block: this.block, host: this.host, port: this.port };
    log("[INFO] Reloading");
    try {
      this.configure(firstBlock(text));
    } catch (e) {
      log(`[ERROR] Corefile changed but reload failed: ${(e as Error).message}`);
      return;
    }
    for (const inst of old.chain.instances.values()) await inst.stop?.();
    if ((this.host !== old.host || this.port !== old.port) && this.udp !== undefined) {
      await this.closeSockets();
      await this.bind();
    }
    for (const inst of this.chain.instances.values()) await inst.start?.(this.context);
    log(`[INFO] plugin/reload: Running configuration SHA512 = ${hash}`);
    log("[INFO] Reloading complete");
  }

  private fatal(message: string): void {
    this.env.logSink(`[FATAL] ${message}`);
    void this.stop().then(() => this.options.onFatal?.(new FatalError(message)));
  }

  /** The configured plugin instances (e.g. to read the bound address of `metrics`). */
  plugin(name: string): PluginInstance | undefined {
    return this.chain.instances.get(name);
  }

  /** The zones of the server block. */
  get serverZones(): readonly string[] {
    return this.zones;
  }

  /** Resolve through the chain, as an internal request (used for ExternalName targets). */
  async lookup(name: string, type: number): Promise<DnsResponse> {
    const lower = name.toLowerCase();
    if (!this.inZones(lower)) return emptyResponse(Rcode.REFUSED);
    const req: DnsRequest = {
      name: lower,
      originalName: name,
      type,
      class: CLASS_IN,
      dnssecOk: false,
      transport: "internal",
    };
    return this.chain.entry(req);
  }

  private inZones(name: string): boolean {
    for (const z of this.zones) if (isSubdomain(name, z)) return true;
    return false;
  }

  /**
   * Answer one wire query: the reply bytes, null for packets that get no reply,
   * or a promise when a plugin answers asynchronously. Never throws.
   */
  handle(
    buf: Uint8Array,
    transport: "udp" | "tcp",
    remote?: string | { readonly address: string; readonly port: number },
  ): Uint8Array | null | Promise<Uint8Array | null> {
    let key: number | undefined;
    if (this.wire !== undefined && buf.length >= 12) {
      key = wireKey(buf);
      const hit = this.wire.get(key, transport, buf);
      if (hit !== undefined) return hit;
    }
    let q: ParsedQuery | number;
    try {
      q = parseQuery(buf);
    } catch {
      q = Rcode.FORMERR;
    }
    if (typeof q === "number") {
      if (q === IGNORE) return null;
      this.rejected.inc();
      return headerOnly(buf, q);
    }
    if (q.edns && q.ednsVersion !== 0) {
      this.rejected.inc();
      return this.encode(emptyResponse(0), q, buf, transport, 1);
    }
    if (q.qtype === 0) {
      // Type 0 is reserved (RFC 6895): NOTIMP with the question, as Knot answers it.
      this.rejected.inc();
      return this.encode(emptyResponse(Rcode.NOTIMP), q, buf, transport);
    }
    if ((q.qclass !== CLASS_IN && q.qclass !== 255) || !this.inZones(q.key)) {
      this.rejected.inc();
      return this.encode(emptyResponse(Rcode.REFUSED), q, buf, transport);
    }
    let res: DnsResponse | Promise<DnsResponse>;
    const req = new Request(q, buf, transport, remote);
    try {
      res = this.chain.entry(req);
    } catch {
      res = emptyResponse(Rcode.SERVFAIL);
    }
    if (res instanceof Promise) {
      return res.then(
        (r) => this.encode(q.mixedCase ? echoCase(r, q.key, req.originalName) : r, q, buf, transport),
        () => this.encode(emptyResponse(Rcode.SERVFAIL), q, buf, transport),
      );
    }
    // A question spelled with capitals gets its own response object (never a template made for another spelling).
    if (q.mixedCase) return this.encode(echoCase(res, q.key, req.originalName), q, buf, transport);
    return this.encode(res, q, buf, transport, 0, key);
  }

  /**
   * Encode `res` as the reply to `q`. With a wire-cache `key`, the reply is stored
   * when the chain returned `res` for this question before (a memoised answer).
   */
  private encode(
    res: DnsResponse,
    q: ParsedQuery,
    buf: Uint8Array,
    transport: "udp" | "tcp",
    extRcode = 0,
    key?: number,
  ): Uint8Array | null {
    try {
      const limit = transport === "udp" ? Math.min(this.maxUdp, q.udpSize) : 65535;
      const optLen = q.edns ? 11 : 0;
      let t = this.templates.get(res);
      const seen = t !== undefined && t.key === q.key && t.type === q.qtype;
      if (t === undefined || !seen) {
        const full = encodeResponse(res, {
          id: 0,
          recursionDesired: false,
          rawQuestion: { bytes: buf.subarray(12, q.questionEnd) },
        });
        t = {
          key: q.key,
          type: q.qtype,
          flags: ((full[2] as number) << 8) | (full[3] as number),
          body: full.slice(q.questionEnd),
          an: ((full[6] as number) << 8) | (full[7] as number),
          ns: ((full[8] as number) << 8) | (full[9] as number),
          ar: ((full[10] as number) << 8) | (full[11] as number),
        };
        this.templates.set(res, t);
      }
      const size = q.questionEnd + t.body.length + optLen;
      const copyFlags = (((buf[2] as number) << 8) & Flag.RD) | ((buf[3] as number) & Flag.CD);
      if (size > limit || extRcode !== 0) {
        const opt: OptRecord | undefined = q.edns
          ? { udpSize: this.maxUdp, extendedRcode: extRcode, dnssecOk: q.dnssecOk }
          : undefined;
        const out = encodeResponse(res, {
          id: q.id,
          recursionDesired: (copyFlags & Flag.RD) !== 0,
          checkingDisabled: (copyFlags & Flag.CD) !== 0,
          rawQuestion: { bytes: buf.subarray(12, q.questionEnd) },
          limit,
          ...(opt === undefined ? {} : { opt }),
        });
        if (seen && key !== undefined) this.wire?.set(key, transport, buf, out);
        return out;
      }
      const out = Buffer.allocUnsafe(size);
      out[0] = q.id >>> 8;
      out[1] = q.id & 255;
      const flags = t.flags | copyFlags;
      out[2] = flags >>> 8;
      out[3] = flags & 255;
      out[4] = 0;
      out[5] = 1;
      out[6] = t.an >>> 8;
      out[7] = t.an & 255;
      out[8] = t.ns >>> 8;
      out[9] = t.ns & 255;
      const ar = t.ar + (q.edns ? 1 : 0);
      out[10] = ar >>> 8;
      out[11] = ar & 255;
      for (let i = 12; i < q.questionEnd; i++) out[i] = buf[i] as number;
      out.set(t.body, q.questionEnd);
      if (q.edns) {
        const o = q.questionEnd + t.body.length;
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 41;
        out[o + 3] = this.maxUdp >>> 8;
        out[o + 4] = this.maxUdp & 255;
        out[o + 5] = 0;
        out[o + 6] = 0;
        out[o + 7] = q.dnssecOk ? 0x80 : 0;
        out[o + 8] = 0;
        out[o + 9] = 0;
        out[o + 10] = 0;
      }
      if (seen && key !== undefined) this.wire?.set(key, transport, buf, out);
      return out;
    } catch {
      // A record that cannot be encoded (e.g. a name over 255 bytes) is a server failure.
      return headerOnly(buf, Rcode.SERVFAIL);
    }
  }

  /** The bound address (after {@link DnsServer.start}). */
  address(): { host: string; port: number } {
    return { host: this.host, port: this.boundPort };
  }

  /** Bind UDP (and TCP) and start the plugins' listeners. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.bind();
        break;
      } catch (e) {
        await this.closeSockets();
        if (this.port !== 0 || attempt >= 10 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      }
    }
    for (const inst of this.chain.instances.values()) await inst.start?.(this.context);
  }

  private async bind(): Promise<void> {
    // A host name is resolved (IPv4) once here, so the socket's per-send lookup only ever sees literals.
    const ip = isIP(this.host) !== 0 ? this.host : (await lookup(this.host, { family: 4 })).address;
    const udp = createSocket({ type: isIP(ip) === 6 ? "udp6" : "udp4", lookup: peerLookup });
    this.udp = udp;
    await new Promise<void>((ok, fail) => {
      udp.once("error", fail);
      udp.bind(this.port, ip, () => {
        udp.off("error", fail);
        ok();
      });
    });
    try {
      udp.setRecvBufferSize(4 << 20);
      udp.setSendBufferSize(4 << 20);
    } catch {
      // Not allowed to grow the buffers: keep the defaults.
    }
    udp.on("error", () => {});
    this.boundPort = udp.address().port;
    udp.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
      const out = this.handle(msg, "udp", rinfo);
      if (out === null) return;
      if (out instanceof Promise) {
        out.then((b) => {
          if (b !== null) this.udp?.send(b, rinfo.port, rinfo.address);
        });
      } else udp.send(out, rinfo.port, rinfo.address);
    });
    if (!this.tcpOn) return;
    const tcp = createServer({ noDelay: true }, (sock) => this.onTcp(sock));
    this.tcp = tcp;
    await new Promise<void>((ok, fail) => {
      tcp.once("error", fail);
      tcp.listen(this.boundPort, this.host, () => {
        tcp.off("error", fail);
        ok();
      });
    });
  }

  private onTcp(sock: TcpSocket): void {
    if (this.conns.size >= this.maxTcp && !this.evictIdle()) {
      sock.destroy();
      return;
    }
    const c: TcpConn = {
      sock,
      remote: `${sock.remoteAddress}:${sock.remotePort}`,
      pending: EMPTY,
      inflight: 0,
      paused: false,
      deadline: Date.now() + this.tcpIdleMs,
    };
    this.conns.set(sock, c);
    this.armSweeper();
    sock.on("close", () => {
      this.conns.delete(sock);
      c.pending = EMPTY;
    });
    sock.on("error", () => sock.destroy());
    sock.on("drain", () => {
      // The client reads: that is progress, as a whole message is.
      c.deadline = Math.max(c.deadline, Date.now() + this.tcpIdleMs);
      if (c.paused) this.pump(c);
    });
    sock.on("data", (d: Buffer) => {
      if (c.pending.length === 0) {
        // The first byte of a message: the whole of it is due within tcpMessageMs.
        c.deadline = Math.min(c.deadline, Date.now() + this.tcpMessageMs);
        c.pending = d;
      } else c.pending = Buffer.concat([c.pending, d]);
      this.pump(c);
    });
  }

  /**
   * Answer the whole messages buffered on `c` until its unsent replies pass the
   * bound, then stop reading it (until 'drain'); read again when under the bound.
   */
  private pump(c: TcpConn): void {
    const sock = c.sock;
    let done = 0;
    for (;;) {
      // Replies to the queries of one chunk (clients pipeline) leave in one writev, not one write each.
      sock.cork();
      const before = done;
      while (c.pending.length >= 2 && !this.congested(c)) {
        const len = c.pending.readUInt16BE(0);
        if (c.pending.length < 2 + len) break;
        const msg = c.pending.subarray(2, 2 + len);
        c.pending = c.pending.subarray(2 + len);
        done++;
        const out = this.handle(msg, "tcp", c.remote);
        if (out instanceof Promise) {
          c.inflight++;
          out.then((b) => {
            c.inflight--;
            this.reply(c, b);
            if (c.paused) this.pump(c);
          });
        } else this.reply(c, out);
      }
      sock.uncork();
      // Stopped by the bound while corked, but the kernel took the replies: go on.
      if (done === before || this.congested(c) || c.pending.length < 2) break;
    }
    if (done > 0) {
      const now = Date.now();
      // A message completed: the clock restarts, also for a partial one already begun.
      c.deadline = now + (c.pending.length === 0 ? this.tcpIdleMs : Math.min(this.tcpIdleMs, this.tcpMessageMs));
      this.conns.delete(sock);
      if (!sock.destroyed) this.conns.set(sock, c);
    }
    if (this.congested(c)) {
      if (!c.paused) {
        c.paused = true;
        sock.pause();
      }
    } else if (c.paused) {
      c.paused = false;
      sock.resume();
    }
    if (c.pending.length === 0 && c.pending !== EMPTY) c.pending = EMPTY;
  }

  private congested(c: TcpConn): boolean {
    return c.sock.writableLength > this.tcpMaxQueued || c.inflight >= MAX_TCP_INFLIGHT;
  }

  private reply(c: TcpConn, b: Uint8Array | null): void {
    if (b === null || c.sock.destroyed) return;
    const frame = Buffer.allocUnsafe(2 + b.length);
    frame.writeUInt16BE(b.length, 0);
    frame.set(b, 2);
    c.sock.write(frame);
  }

  /** Close the connection idle the longest (nothing being answered, nothing unsent); false when none is. */
  private evictIdle(): boolean {
    for (const c of this.conns.values()) {
      if (c.inflight === 0 && c.sock.writableLength === 0) {
        c.sock.destroy();
        this.conns.delete(c.sock);
        return true;
      }
    }
    return false;
  }

  /** One timer for every connection's deadline, running only while connections are open. */
  private armSweeper(): void {
    if (this.sweeper !== undefined) return;
    const every = Math.max(10, Math.min(this.tcpIdleMs, this.tcpMessageMs) >> 2);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns.values()) if (now >= c.deadline) c.sock.destroy();
      if (this.conns.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, every);
    this.sweeper.unref();
  }

  /** Connection figures: open connections, reply bytes not yet sent, connections not being read. */
  tcpStats(): TcpStats {
    let queuedBytes = 0;
    let pausedConnections = 0;
    for (const c of this.conns.values()) {
      queuedBytes += c.sock.writableLength;
      if (c.paused) pausedConnections++;
    }
    return { connections: this.conns.size, queuedBytes, pausedConnections };
  }

  private async closeSockets(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    if (udp !== undefined) await new Promise<void>((ok) => udp.close(() => ok()));
    for (const c of this.conns.keys()) c.destroy();
    this.conns.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp !== undefined) await new Promise<void>((ok) => tcp.close(() => ok()));
  }

  /**
   * Stop: plugins' shutdown work first while still answering (`health`'s lameduck),
   * then UDP, TCP and the plugins' listeners. Calling it again waits for the same stop.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const inst of this.chain.instances.values()) await inst.shutdown?.();
      await this.closeSockets();
      for (const inst of this.chain.instances.values()) await inst.stop?.();
    })();
    return this.stopping;
  }

  /** The server block this server runs. */
  get config(): ServerBlock {
    return this.block;
  }
}

const EMPTY = Buffer.alloc(0);

function sha512(text: string): string {
  return createHash("sha512").update(text).digest("hex");
}

/** Read a Corefile; an unreadable one is a {@link ConfigError} naming it. */
function readCorefile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(
      `cannot read the Corefile ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** The first server block of Corefile text. */
function firstBlock(text: string): ServerBlock {
  const block = parseCorefile(text)[0];
  if (block === undefined) throw new ConfigError("the config has no server block");
  return block;
}

/** An optional positive integer option, or its default; anything else is a {@link ConfigError} naming it. */
function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * The address lookup dgram runs before every send (and at bind, given the IP
 * `bind()` resolved). The server only sends to the address a datagram came from,
 * an IP literal of the socket's own family (the family dgram passes in), so it
 * answers at once: no dns.lookup, no nextTick, no IP-syntax check.
 */
function peerLookup(
  address: string,
  family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, family === 6 ? 6 : 4);
}

/** A 12-byte reply carrying only the header (FORMERR, NOTIMP, SERVFAIL), as miekg/dns writes for rejected queries. */
export function headerOnly(buf: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = buf[0] ?? 0;
  out[1] = buf[1] ?? 0;
  const opcode = rcode === Rcode.NOTIMP ? ((buf[2] ?? 0) >>> 3) & 15 : 0;
  const flags = Flag.QR | (opcode << 11) | (((buf[2] ?? 0) << 8) & Flag.RD) | ((buf[3] ?? 0) & Flag.CD) | (rcode & 15);
  out[2] = flags >>> 8;
  out[3] = flags & 255;
  return out;
}
