// The runtime's own ceiling for dnsperf.bench.mjs: a bare Node dgram server that
// sends every datagram straight back with the QR bit set and does nothing else (no
// parsing, no lookup, no answer records). What coredns-lite spends above this
// server's CPU per query is ours; the rest is Node's one-recvmsg/one-sendmsg-per-
// datagram socket path (libuv without recvmmsg/sendmmsg) and the kernel.
// Usage: node echo-fixture.mjs PORT; prints "ready <port>".
import { createSocket } from "node:dgram";

const port = Number(process.argv[2] ?? 0);
// Peers are the IP literals datagrams came from: no dns.lookup, no nextTick per send.
const sock = createSocket({ type: "udp4", lookup: (address, _family, cb) => cb(null, address, 4) });
sock.on("message", (msg, rinfo) => {
  if (msg.length < 12) return;
  msg[2] |= 0x80;
  sock.send(msg, rinfo.port, rinfo.address);
});
sock.bind(port, "127.0.0.1", () => console.log(`ready ${sock.address().port}`));
process.on("SIGTERM", () => sock.close(() => process.exit(0)));
