// Runs inside one pod namespace of the kernel differential test: serves TCP and
// UDP (echo) on the ports given as arguments, and probes targets read from stdin
// as JSON lines {id, timeoutMs, targets: [[ip, port, "TCP"|"UDP"], ...]}, answering
// {id, results: ["ok"|"timeout"|"refused"|"error", ...]} on stdout.
import dgram from "node:dgram";
import net from "node:net";
import readline from "node:readline";

const ports = process.argv.slice(2).map(Number);
let bound = 0;
const ready = () => {
  bound++;
  if (bound === ports.length * 2) process.stdout.write("ready\n");
};
for (const port of ports) {
  const srv = net.createServer((c) => {
    c.on("error", () => {});
    c.end();
  });
  srv.listen(port, "0.0.0.0", ready);
  const u = dgram.createSocket("udp4");
  u.on("message", (msg, rinfo) => u.send(msg, rinfo.port, rinfo.address));
  u.bind(port, "0.0.0.0", ready);
}

function probeTcp(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve("timeout");
    }, timeoutMs);
    s.on("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve("ok");
    });
    s.on("error", (e) => {
      clearTimeout(t);
      resolve(e.code === "ECONNREFUSED" ? "refused" : "error");
    });
  });
}

function probeUdp(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve("timeout");
    }, timeoutMs);
    s.on("message", () => {
      clearTimeout(t);
      s.close();
      resolve("ok");
    });
    s.on("error", () => {
      clearTimeout(t);
      s.close();
      resolve("error");
    });
    s.send("knet-probe", port, host);
  });
}

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  const req = JSON.parse(line);
  const results = await Promise.all(
    req.targets.map(([ip, port, proto]) =>
      proto === "UDP" ? probeUdp(ip, port, req.timeoutMs) : probeTcp(ip, port, req.timeoutMs),
    ),
  );
  process.stdout.write(`${JSON.stringify({ id: req.id, results })}\n`);
});
