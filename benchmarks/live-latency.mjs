// Live figures (issue 23): how long from an API change to a DNS answer and to a
// kernel rule that forwards a real connection, with N services already in the
// cluster (default 1,000 and 10,000):
//
//   kube-apiserver 1.20.2 + etcd on 127.0.0.1 (scripts/k8s-apiserver-build.sh, cached)
//     ├── knet dns serve --kubeconfig        (root namespace, 127.0.0.1 only)
//     └── (port bridged by socat into the node namespace's own loopback)
//           knet proxy run --kubeconfig --mode iptables|nftables   in knet-live-node-*
//   client knet-live-client-* --veth-- node --veth-- backend knet-live-b0-* :8080
//
// Each round creates one more Service (explicit ClusterIP) and its EndpointSlice
// (discovery.k8s.io/v1beta1, the server's only version) pointing at the backend,
// and times, from just before the Service POST: the first `A` answer from knet dns
// (polled every 2 ms with node's resolver), and the first TCP connection from the
// client namespace to the ClusterIP that the backend answers (retried every 2 ms).
// The rule path includes kube-proxy's rate limit: the Service and the slice arrive
// as two changes, and the second sync may wait for the min sync period (1 s, burst 2).
// Rounds are 2.5 s apart so the token bucket is full at each start.
//
// Needs root (network namespaces), socat, iptables, nft. Every namespace and process it
// makes is removed at the end. Run: pnpm build && node benchmarks/live-latency.mjs
import { spawn, spawnSync } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeResults } from "./lib.mjs";

const root = join(import.meta.dirname, "..");
const BIN = join(root, "packages", "cli", "bin", "knet.js");
const SIZES = (process.env.KNET_LIVE_SIZES ?? "1000,10000").split(",").map(Number);
const MODES = (process.env.KNET_LIVE_MODES ?? "iptables,nftables").split(",");
const ROUNDS = Number(process.env.KNET_LIVE_ROUNDS ?? 5);
const tools = ["ip", "socat", "iptables-restore", "nft"];
const have = (c) => spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status === 0;
if (process.getuid?.() !== 0 || !tools.every(have)) {
  console.log(`live-latency: skipped (needs root and ${tools.join(", ")})`);
  process.exit(0);
}

// The API server comes from testkit's startApiServer (TypeScript): bundled once for node.
const work = mkdtempSync(join(tmpdir(), "knet-live-bench-"));
const { build } = await import("esbuild");
await build({
  entryPoints: [join(root, "packages", "testkit", "src", "apiserver.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: join(work, "apiserver.mjs"),
  define: { "import.meta.dirname": JSON.stringify(join(root, "packages", "testkit", "src")) },
  logLevel: "error",
});
const { startApiServer, freePort } = await import(join(work, "apiserver.mjs"));

const children = new Set();
const namespaces = [];
function must(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 8).join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns, cmd, args) => must("ip", ["netns", "exec", ns, cmd, ...args]);
function bg(cmd, args) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(p);
  p.on("exit", () => children.delete(p));
  return p;
}
function netns(tag) {
  const name = `knet-live-${tag}-${process.pid}`;
  must("ip", ["netns", "add", name]);
  namespaces.push(name);
  inNs(name, "ip", ["link", "set", "lo", "up"]);
  return name;
}
let links = 0;
function veth(a, b) {
  const [x, y] = [`lva${process.pid % 10000}${links}`, `lvb${process.pid % 10000}${links++}`];
  inNs(a, "ip", ["link", "add", x, "type", "veth", "peer", "name", y]);
  inNs(a, "ip", ["link", "set", y, "netns", b]);
  inNs(a, "ip", ["link", "set", x, "up"]);
  inNs(b, "ip", ["link", "set", y, "up"]);
  return [x, y];
}
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const ns of namespaces) spawnSync("ip", ["netns", "del", ns]);
  rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, ms, probe, everyMs = 20) {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
function outputOf(p) {
  const o = { out: "", err: "" };
  p.stdout.on("data", (b) => {
    o.out += b;
  });
  p.stderr.on("data", (b) => {
    o.err += b;
  });
  return o;
}

// A node, a client routed through it and one backend answering on :8080.
const NODE = netns("node");
const CLIENT = netns("client");
const B0 = netns("b0");
inNs(NODE, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
// unreachable/REJECT answers are ICMP: without this, the per-peer rate limit holds a failed try for ~1 s
inNs(NODE, "sysctl", ["-qw", "net.ipv4.icmp_ratelimit=0"]);
{
  const [nc, cn] = veth(NODE, CLIENT);
  inNs(NODE, "ip", ["addr", "add", "10.0.1.1/24", "dev", nc]);
  inNs(CLIENT, "ip", ["addr", "add", "10.0.1.2/24", "dev", cn]);
  inNs(CLIENT, "ip", ["route", "add", "default", "via", "10.0.1.1"]);
  const [nb, bn] = veth(NODE, B0);
  inNs(NODE, "ip", ["addr", "add", "10.1.0.1/24", "dev", nb]);
  inNs(B0, "ip", ["addr", "add", "10.1.0.2/24", "dev", bn]);
  inNs(B0, "ip", ["route", "add", "default", "via", "10.1.0.1"]);
  bg("ip", [
    "netns",
    "exec",
    B0,
    "node",
    "-e",
    'require("node:net").createServer((s) => { s.on("error", () => {}); s.end("B0\\n"); }).listen(8080)',
  ]);
}

/** Connect to VIP:80 from the client every 2 ms until the backend answers; prints the time. */
const POLL = `
const net = require("node:net");
console.log("polling");
function once() {
  const s = net.connect({ host: process.argv[1], port: 80, timeout: 50 });
  s.once("data", () => { console.log("ok " + Date.now()); process.exit(0); });
  const again = () => { s.destroy(); setTimeout(once, 2); };
  s.on("error", again);
  s.on("timeout", again);
}
once();`;

async function createMany(server, n) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const s = await server.api("POST", "/api/v1/namespaces/bench/services", {
        metadata: { name: `s${i}` },
        spec: { ports: [{ port: 80, targetPort: 8080 }] },
      });
      if (s.status !== 201) throw new Error(`service s${i}: ${s.status} ${JSON.stringify(s.body).slice(0, 200)}`);
      const e = await server.api(
        "POST",
        "/apis/discovery.k8s.io/v1beta1/namespaces/bench/endpointslices",
        slice(`s${i}`),
      );
      if (e.status !== 201) throw new Error(`slice s${i}: ${e.status} ${JSON.stringify(e.body).slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 24 }, worker));
}
function slice(service) {
  return {
    metadata: { name: `${service}-1`, labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.1.0.2"], conditions: { ready: true } }],
    ports: [{ name: "", port: 8080, protocol: "TCP" }],
  };
}

function metric(text, name) {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * One run's rows, in the shape plot.mjs tabulates (a name and a `median_ms`): the API
 * change to the DNS answer and to the kernel rule, and the agent's sync costs.
 */
function liveRows(r) {
  const stats = (xs) => ({
    median_ms: median(xs),
    min_ms: Math.min(...xs),
    max_ms: Math.max(...xs),
    samples_ms: xs,
  });
  const base = { services: r.services, mode: r.mode, loadavg1: r.loadavg1 };
  return [
    {
      group: "API change to DNS answer",
      name: `${r.services} services (${r.mode} agent running)`,
      ...base,
      ...stats(r.dnsMs),
    },
    { group: "API change to kernel rule", name: `${r.services} services, ${r.mode}`, ...base, ...stats(r.ruleMs) },
    {
      group: "agent syncs",
      name: `${r.services} services, ${r.mode}: mean of ${r.syncs} syncs`,
      ...base,
      median_ms: r.meanSyncS * 1000,
      start_to_first_sync_ms: r.firstSyncS * 1000,
      ...(r.meanFullSyncS !== undefined ? { mean_full_sync_ms: r.meanFullSyncS * 1000 } : {}),
    },
  ];
}

const rows = [];
const loadavg = () => Number(must("cat", ["/proc/loadavg"]).split(" ")[0]);
for (const n of SIZES) {
  console.log(`\n# ${n} services`);
  const server = await startApiServer();
  let stopBridge = () => {};
  try {
    const port = Number(new URL(server.url).port);
    const sock = join(work, `api-${port}.sock`);
    const outside = bg("socat", [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port}`]);
    await sleep(200);
    const inside = bg("ip", [
      "netns",
      "exec",
      NODE,
      "socat",
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
      `UNIX-CONNECT:${sock}`,
    ]);
    stopBridge = () => {
      inside.kill("SIGKILL");
      outside.kill("SIGKILL");
    };
    await server.api("POST", "/api/v1/namespaces", { metadata: { name: "bench" } });
    const tc = Date.now();
    await createMany(server, n);
    console.log(`created ${n} services and slices in ${((Date.now() - tc) / 1000).toFixed(1)} s`);

    const dnsPort = await freePort();
    const dns = bg(process.execPath, [
      BIN,
      "dns",
      "serve",
      "--kubeconfig",
      server.kubeconfig,
      "--listen",
      `127.0.0.1:${dnsPort}`,
    ]);
    const dnsOut = outputOf(dns);
    await until("knet dns serve", 120_000, () => (dnsOut.out.includes("serving") ? true : undefined));
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${dnsPort}`]);

    for (const [m, mode] of MODES.entries()) {
      const ta = Date.now();
      const agent = bg("ip", [
        "netns",
        "exec",
        NODE,
        process.execPath,
        BIN,
        "proxy",
        "run",
        "--mode",
        mode,
        "--kubeconfig",
        server.kubeconfig,
        "--node",
        "node-1",
        "--cluster-cidr",
        "10.0.0.0/8",
        "--healthz-bind-address",
        "",
        "--metrics-bind-address",
        "127.0.0.1:0",
      ]);
      const ao = outputOf(agent);
      const started = await until(`knet proxy run --mode ${mode}`, 300_000, () => {
        if (agent.exitCode !== null) throw new Error(`proxy run exited ${agent.exitCode}: ${ao.err}`);
        return /metrics (\S+)/.exec(ao.out)?.[1];
      });
      const firstSyncS = (Date.now() - ta) / 1000;
      console.log(`${mode}: agent started and synced ${n} services in ${firstSyncS.toFixed(1)} s`);
      const dnsMs = [];
      const ruleMs = [];
      for (let r = 0; r < ROUNDS; r++) {
        await sleep(2500);
        const name = `probe-${mode}-${r}`;
        const vip = `10.100.${m + 1}.${10 + r}`;
        const poll = bg("ip", ["netns", "exec", CLIENT, process.execPath, "-e", POLL, vip]);
        const po = outputOf(poll);
        await until("the connection poller", 10_000, () => (po.out.includes("polling") ? true : undefined));
        const t0 = Date.now();
        const s = await server.api("POST", "/api/v1/namespaces/bench/services", {
          metadata: { name },
          spec: { clusterIP: vip, ports: [{ port: 80, targetPort: 8080 }] },
        });
        if (s.status !== 201) throw new Error(`${name}: ${s.status}`);
        const e = await server.api(
          "POST",
          "/apis/discovery.k8s.io/v1beta1/namespaces/bench/endpointslices",
          slice(name),
        );
        if (e.status !== 201) throw new Error(`${name} slice: ${e.status}`);
        const dnsAt = await until(
          "the DNS answer",
          30_000,
          async () => {
            try {
              const a = await resolver.resolve4(`${name}.bench.svc.cluster.local`);
              return a.includes(vip) ? Date.now() : undefined;
            } catch {
              return undefined;
            }
          },
          2,
        );
        const ruleAt = await until("a connection through the new rule", 30_000, () => {
          const ok = /ok (\d+)/.exec(po.out);
          return ok ? Number(ok[1]) : undefined;
        });
        dnsMs.push(dnsAt - t0);
        ruleMs.push(ruleAt - t0);
        console.log(`  round ${r + 1}: DNS answer ${dnsAt - t0} ms, kernel rule ${ruleAt - t0} ms`);
      }
      const text = inNs(NODE, "curl", ["-s", `http://${started}/metrics`]);
      const full = {
        count: metric(text, "kubeproxy_sync_full_proxy_rules_duration_seconds_count"),
        sum: metric(text, "kubeproxy_sync_full_proxy_rules_duration_seconds_sum"),
      };
      const all = {
        count: metric(text, "kubeproxy_sync_proxy_rules_duration_seconds_count"),
        sum: metric(text, "kubeproxy_sync_proxy_rules_duration_seconds_sum"),
      };
      rows.push(
        ...liveRows({
          services: n,
          mode,
          dnsMs,
          ruleMs,
          firstSyncS,
          syncs: all.count,
          meanSyncS: all.sum / all.count,
          ...(Number.isFinite(full.count) ? { meanFullSyncS: full.sum / full.count } : {}),
          loadavg1: loadavg(),
        }),
      );
      agent.kill("SIGTERM");
      await until("the agent to stop", 30_000, () => (agent.exitCode !== null ? true : undefined));
      inNs(NODE, process.execPath, [BIN, "proxy", "run", "--cleanup"]);
    }
    dns.kill("SIGTERM");
  } finally {
    stopBridge();
    await server.stop();
  }
}
const file = writeResults("live-latency", rows, {
  method:
    "one more Service (explicit ClusterIP) + its v1beta1 EndpointSlice POSTed to a real kube-apiserver 1.20.2; time from just before the Service POST to the first A answer from `knet dns serve --kubeconfig` (polled every 2 ms) and to the first TCP connection through `knet proxy run --kubeconfig` rules in a node namespace that the backend answers (retried every 2 ms). The rule path includes kube-proxy's min sync period (1 s, burst 2) for the slice arriving after the Service.",
  machine: "2 cores shared with other jobs",
});
console.log(`-> ${file}`);
// The backend and the bridge would keep the event loop alive: exit (the exit handler removes them).
process.exit(0);
