/**
 * The forwarding client: one UDP socket per upstream, TCP retry when the reply
 * is truncated, random message ids from the injected source, replies matched
 * by id and question. Only addresses given explicitly are ever contacted.
 */
import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import type { Random } from "../../plugin.js";
import { decodeMessage, encodeQuery } from "../../wire/decode.js";
import { Flag } from "../../wire/encode.js";
import type { DnsResponse } from "../../wire/message.js";

/** One upstream server. */
export interface Upstream {
  /** IP address. */
  readonly host: string;
  /** Port. */
  readonly port: number;
}

interface Pending {
  readonly name: string;
  readonly type: number;
  readonly done: (buf: Uint8Array | Error) => void;
}

/** An upstream that did not answer as asked: timed out, stopped, or replied to something else. */
export class ForwardError extends Error {
  override readonly name = "ForwardError";
  /** The upstream at fault. */
  readonly upstream: Upstream;
  constructor(upstream: Upstream, what: string) {
    super(`upstream ${upstream.host}:${upstream.port} ${what}`);
    this.upstream = upstream;
  }
}

/** Sends queries to one upstream. */
export class UpstreamClient {
  readonly upstream: Upstream;
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly random: Random;
  private readonly timeoutMs: number;

  constructor(upstream: Upstream, random: Random, timeoutMs: number) {
    this.upstream = upstream;
    this.random = random;
    this.timeoutMs = timeoutMs;
  }

  private sock(): Socket {
    if (this.socket !== undefined) return this.socket;
    const s = createSocket(this.upstream.host.includes(":") ? "udp6" : "udp4");
    s.on("message", (msg) => {
      if (msg.length < 2) return;
      const id = ((msg[0] as number) << 8) | (msg[1] as number);
      this.pending.get(id)?.done(msg);
    });
    s.on("error", () => {});
    s.unref();
    this.socket = s;
    return s;
  }

  private newId(): number {
    for (;;) {
      const id = Math.floor(this.random() * 65536) & 0xffff;
      if (!this.pending.has(id)) return id;
    }
  }

  /** Ask over UDP, then over TCP when the reply is truncated. */
  async query(name: string, type: number): Promise<DnsResponse> {
    const udp = await this.exchangeUdp(name, type);
    if (!udp.truncated) return udp;
    return this.exchangeTcp(name, type);
  }

  private toResponse(buf: Uint8Array, id: number, name: string, type: number): DnsResponse {
    const m = decodeMessage(buf);
    const q = m.question[0];
    if (
      m.id !== id ||
      (m.flags & Flag.QR) === 0 ||
      q === undefined ||
      q.type !== type ||
      q.name.toLowerCase() !== name.toLowerCase()
    ) {
      throw new ForwardError(this.upstream, "sent a reply that does not match the query");
    }
    return {
      rcode: m.rcode,
      authoritative: (m.flags & Flag.AA) !== 0,
      truncated: (m.flags & Flag.TC) !== 0,
      recursionAvailable: (m.flags & Flag.RA) !== 0,
      answer: m.answer,
      authority: m.authority,
      additional: m.additional,
    };
  }

  private exchangeUdp(name: string, type: number): Promise<DnsResponse> {
    const id = this.newId();
    const q = encodeQuery(id, name, type, { udpSize: 1232 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ForwardError(this.upstream, "timed out"));
      }, this.timeoutMs);
      this.pending.set(id, {
        name,
        type,
        done: (buf) => {
          try {
            if (buf instanceof Error) throw buf;
            const res = this.toResponse(buf, id, name, type);
            clearTimeout(timer);
            this.pending.delete(id);
            resolve(res);
          } catch {
            // A reply that does not match is ignored; the timer still runs.
          }
        },
      });
      this.sock().send(q, this.upstream.port, this.upstream.host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  private exchangeTcp(name: string, type: number): Promise<DnsResponse> {
    const id = this.newId();
    const q = encodeQuery(id, name, type);
    return new Promise((resolve, reject) => {
      const sock = connect(this.upstream.port, this.upstream.host);
      const chunks: Buffer[] = [];
      let got = 0;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ForwardError(this.upstream, "timed out over TCP"));
      }, this.timeoutMs);
      sock.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.on("connect", () => {
        const frame = Buffer.alloc(2 + q.length);
        frame.writeUInt16BE(q.length, 0);
        frame.set(q, 2);
        sock.write(frame);
      });
      sock.on("data", (d) => {
        chunks.push(d);
        got += d.length;
        const all = Buffer.concat(chunks, got);
        if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
          clearTimeout(timer);
          sock.destroy();
          try {
            resolve(this.toResponse(all.subarray(2, 2 + all.readUInt16BE(0)), id, name, type));
          } catch (e) {
            reject(e);
          }
        }
      });
    });
  }

  /** Close the socket; outstanding queries fail. */
  close(): void {
    for (const p of this.pending.values()) p.done(new ForwardError(this.upstream, "forwarder stopped"));
    this.pending.clear();
    this.socket?.close();
    this.socket = undefined;
  }
}
