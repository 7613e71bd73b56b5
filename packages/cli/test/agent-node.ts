// A throw-away node for `knet proxy run` tests: a node namespace (where the agent
// runs and its rules live), a client namespace routed through it, and backend
// namespaces on veth links, each running a server on port 8080. Shared by the
// kernel test (-f DIR --watch) and the live test (--kubeconfig).
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Netns, vethPair } from "@knet/testkit";

export const root = join(import.meta.dirname, "..", "..", "..");
export const BIN = join(root, "packages", "cli", "bin", "knet.js");
export const NODE_IP = "10.0.1.1";
export const CLIENT_IP = "10.0.1.2";
export const backendIP = (k: number): string => `10.1.${k}.2`;

/** A backend: greets each connection with its name, then answers each line with `NAME:line`. */
const SERVER = `
const net = require("node:net");
const name = process.argv[1];
net.createServer((s) => {
  s.on("error", () => {});
  s.write(name + "\\n");
  let buf = "";
  s.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\\n")) >= 0) { s.write(name + ":" + buf.slice(0, i) + "\\n"); buf = buf.slice(i + 1); }
  });
}).listen(8080, "0.0.0.0", () => console.log("ready"));`;

/** One short connection: prints the greeting (or ERR:code). */
const ONE = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 1500 });
s.once("data", (d) => { console.log(String(d).trim()); s.destroy(); });
s.on("timeout", () => { console.log("ERR:TIMEOUT"); s.destroy(); });
s.on("error", (e) => console.log("ERR:" + e.code));`;

/** A long-lived connection: a line every 100 ms, every answer printed. */
const LONG = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]) });
let n = 0;
s.on("data", (d) => process.stdout.write(String(d)));
s.on("error", (e) => { console.log("ERR:" + e.code); process.exit(1); });
s.on("close", () => { console.log("CLOSED"); process.exit(1); });
setInterval(() => s.write("ping" + (n++) + "\\n"), 100);`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` every 50 ms until it returns a value; throws naming `what` after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The value of one sample of a Prometheus text exposition (NaN when absent). */
export function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

/** The namespaces of one test node. */
export interface AgentNode {
  /** Where the agent runs. */
  readonly node: Netns;
  /** Routed through the node. */
  readonly client: Netns;
  /** One connection from the client to `ip:port`: the backend's name or `ERR:...`. */
  one(ip: string, port?: number): string;
  /** A long-lived connection from the client; `output()` is everything it received. */
  long(ip: string, port?: number): { output(): string; stop(): void };
  /** `curl` inside the node: the body, then the HTTP status on the last line. */
  get(url: string): { body: string; status: string };
  /** Delete every namespace (and what runs in them). */
  delete(): void;
}

/** Build a node namespace, a client and `backends` backend namespaces (B0, B1, ...). */
export function createAgentNode(backends: number): AgentNode {
  const made: Netns[] = [];
  try {
    const node = Netns.create("agent");
    made.push(node);
    const client = Netns.create("agentc");
    made.push(client);
    node.must("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    const [nc, cn] = vethPair(node, client);
    node.must("ip", ["addr", "add", `${NODE_IP}/24`, "dev", nc]);
    client.must("ip", ["addr", "add", `${CLIENT_IP}/24`, "dev", cn]);
    client.must("ip", ["route", "add", "default", "via", NODE_IP]);
    for (let k = 0; k < backends; k++) {
      const b = Netns.create(`agentb${k}`);
      made.push(b);
      const [nb, bn] = vethPair(node, b);
      node.must("ip", ["addr", "add", `10.1.${k}.1/24`, "dev", nb]);
      b.must("ip", ["addr", "add", `${backendIP(k)}/24`, "dev", bn]);
      b.must("ip", ["route", "add", "default", "via", `10.1.${k}.1`]);
      b.spawn("node", ["-e", SERVER, `B${k}`]);
    }
    return {
      node,
      client,
      one: (ip, port = 80) => client.run("node", ["-e", ONE, ip, String(port)]).stdout.trim(),
      long: (ip, port = 80) => {
        const p = client.spawn("node", ["-e", LONG, ip, String(port)]);
        let out = "";
        p.stdout?.on("data", (b: Buffer) => {
          out += b.toString();
        });
        return { output: () => out, stop: () => p.kill("SIGKILL") };
      },
      get: (url) => {
        const lines = node.run("curl", ["-s", "-w", "\n%{http_code}", url]).stdout.split("\n");
        const status = lines.pop() ?? "";
        return { body: lines.join("\n"), status };
      },
      delete: () => {
        for (const ns of made) ns.delete();
      },
    };
  } catch (e) {
    for (const ns of made) ns.delete();
    throw e;
  }
}

/** A running `knet proxy run`: its process, output, and where it serves healthz and metrics. */
export interface RunningAgent {
  readonly proc: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly healthz: string;
  readonly metrics: string;
}

/** Start `knet proxy run ARGS` (healthz and metrics on free loopback ports) inside `ns`; resolves at its start line. */
export async function startAgent(ns: Netns, args: readonly string[], timeoutMs = 30_000): Promise<RunningAgent> {
  const proc = ns.spawn("node", [
    BIN,
    "proxy",
    "run",
    ...args,
    "--healthz-bind-address",
    "127.0.0.1:0",
    "--metrics-bind-address",
    "127.0.0.1:0",
  ]);
  let out = "";
  let err = "";
  proc.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const line = await waitFor("the agent's start line", timeoutMs, () =>
    proc.exitCode !== null ? null : (/healthz (\S+), metrics (\S+)/.exec(out) ?? undefined),
  );
  if (line === null) throw new Error(`knet proxy run exited ${proc.exitCode}: ${err}`);
  return { proc, out: () => out, err: () => err, healthz: `http://${line[1]}`, metrics: `http://${line[2]}` };
}
