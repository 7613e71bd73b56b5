/** Tiny raw DNS clients for tests (UDP and TCP on 127.0.0.1). */
import { createSocket } from "node:dgram";
import { connect } from "node:net";

/** Send bytes over UDP (retried once, the machine may be busy); resolve with the reply or null. */
export async function udpExchange(port: number, msg: Uint8Array, timeoutMs = 2500): Promise<Buffer | null> {
  return (await udpOnce(port, msg, timeoutMs)) ?? udpOnce(port, msg, timeoutMs);
}

function udpOnce(port: number, msg: Uint8Array, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, "127.0.0.1");
  });
}

/** Send one framed query over TCP; resolve with the reply (unframed) or null. */
export function tcpExchange(port: number, msg: Uint8Array, timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, timeoutMs);
    sock.on("connect", () => {
      const f = Buffer.alloc(2 + msg.length);
      f.writeUInt16BE(msg.length, 0);
      f.set(msg, 2);
      sock.write(f);
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        sock.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    sock.on("error", () => {
      clearTimeout(t);
      resolve(null);
    });
  });
}
