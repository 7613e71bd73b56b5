// Connection setup through the real kernel at 100 … 20,000 services, the
// measurement of shared/reference/kernel-anchors.md (c), with the eBPF socket
// LB beside kube-proxy's iptables (legacy backend) and nftables rulesets, all
// rendered by knet's engines and run in one go:
//
//   client 10.244.1.5 --veth-- node (ip_forward; iptables/nft rules here) --veth-- backend 10.244.2.7..11 :8080
//
// iptables and nftables DNAT in the node's PREROUTING; the eBPF program is
// attached to a throw-away cgroup the client runs in and rewrites connect()
// itself, so its packets cross the node untouched. N services x 5 endpoints;
// only the FIRST and the LAST service point at the live backends. The client
// times connect() (SYN -> SYN-ACK) to FIRST and LAST alternately in blocks,
// closing with RST. Every namespace (knet-kb-*), mount and cgroup is removed
// afterwards. Needs root, clang, bpftool, iptables-legacy-restore, nft, python3.
// Run (root): pnpm build && node benchmarks/run.mjs kernel-connect
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { EbpfEngine, SOCK_LB_ATTACH, sockLbClangCommand } from "@knet/kube-proxy-ebpf";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { NftablesEngine } from "@knet/kube-proxy-nftables";
import { writeResults } from "./lib.mjs";

const SIZES = (process.env.KNET_BENCH_KERNEL_SIZES ?? "100,1000,5000,10000,20000").split(",").map(Number);
const ROUNDS = Number(process.env.KNET_BENCH_KERNEL_ROUNDS ?? 8);
const BLOCK = 200;
const tools = ["ip", "clang", "bpftool", "iptables-legacy-restore", "nft", "python3", "mount", "umount"];
const have = (c) => spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status === 0;
if (process.getuid?.() !== 0 || !tools.every(have)) {
  console.log(`kernel-connect: skipped (needs root and ${tools.join(", ")})`);
  process.exit(0);
}

function must(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.slice(0, 6).join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).slice(0, 500)}`);
  return r.stdout;
}
const run = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" });
const inNs = (ns, cmd, args, input) => must("ip", ["netns", "exec", ns, cmd, ...args], input);

const BACKENDS = ["10.244.2.7", "10.244.2.8", "10.244.2.9", "10.244.2.10", "10.244.2.11"];
const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["10.244.1.1"], clusterCIDR: "10.244.0.0/16" });
const cip = (i) => `10.96.${(10 + i) >> 8}.${(10 + i) & 255}`;
const service = (i) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace: "bench", name: `svc${i}` },
  spec: { clusterIP: cip(i), ports: [{ name: "http", port: 80, protocol: "TCP" }] },
});
const slice = (i, n) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { namespace: "bench", name: `svc${i}-a`, labels: { "kubernetes.io/service-name": `svc${i}` } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: (i === 0 || i === n - 1
    ? BACKENDS
    : BACKENDS.map((_, k) => `10.200.${((i * 5 + k) >> 8) & 255}.${(i * 5 + k) & 255}`)
  ).map((a) => ({ addresses: [a] })),
});

const SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(4096)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
`;
const CLIENT = `
import json, socket, struct, sys, time
targets = [(h, int(p)) for h, p in (t.rsplit(":", 1) for t in sys.argv[3:])]
rounds, block = int(sys.argv[1]), int(sys.argv[2])
linger = struct.pack("ii", 1, 0)
def once(t):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    t0 = time.perf_counter_ns(); s.connect(t); dt = time.perf_counter_ns() - t0
    s.close(); return dt
for t in targets:
    for _ in range(50): once(t)
out = {"%s:%d" % t: [] for t in targets}
for _ in range(rounds):
    for t in targets:
        k = "%s:%d" % t
        for _ in range(block): out[k].append(once(t))
print(json.dumps(out))
`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const dir = mkdtempSync(join(tmpdir(), "knetkb"));
const ENGINES = ["iptables", "nftables", "ebpf"];
// One client/node/backend topology per engine, so the engines are measured
// interleaved (block by block) rather than one after the other on a noisy VM.
const topo = Object.fromEntries(
  ENGINES.map((e) => [
    e,
    {
      client: `knet-kb-${e}-c-${process.pid}`,
      node: `knet-kb-${e}-n-${process.pid}`,
      backend: `knet-kb-${e}-b-${process.pid}`,
    },
  ]),
);
const mounts = [];
const servers = [];
let cgroup = "";
let progs = "";
const rows = [];

function topology(t) {
  for (const ns of Object.values(t)) {
    must("ip", ["netns", "add", ns]);
    inNs(ns, "ip", ["link", "set", "lo", "up"]);
  }
  inNs(t.client, "ip", ["link", "add", "c0", "type", "veth", "peer", "name", "n0"]);
  inNs(t.client, "ip", ["link", "set", "n0", "netns", t.node]);
  inNs(t.backend, "ip", ["link", "add", "b0", "type", "veth", "peer", "name", "n1"]);
  inNs(t.backend, "ip", ["link", "set", "n1", "netns", t.node]);
  inNs(t.client, "ip", ["addr", "add", "10.244.1.5/24", "dev", "c0"]);
  inNs(t.client, "ip", ["link", "set", "c0", "up"]);
  inNs(t.client, "ip", ["route", "add", "default", "via", "10.244.1.1"]);
  inNs(t.node, "ip", ["addr", "add", "10.244.1.1/24", "dev", "n0"]);
  inNs(t.node, "ip", ["addr", "add", "10.244.2.1/24", "dev", "n1"]);
  inNs(t.node, "ip", ["link", "set", "n0", "up"]);
  inNs(t.node, "ip", ["link", "set", "n1", "up"]);
  inNs(t.node, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  for (const a of BACKENDS) inNs(t.backend, "ip", ["addr", "add", `${a}/24`, "dev", "b0"]);
  inNs(t.backend, "ip", ["link", "set", "b0", "up"]);
  inNs(t.backend, "ip", ["route", "add", "default", "via", "10.244.2.1"]);
  const log = join(dir, `${t.backend}.log`);
  const pid = must("sh", ["-c", `ip netns exec ${t.backend} python3 ${dir}/server.py > ${log} 2>&1 & echo $!`]).trim();
  servers.push(pid);
  for (let i = 0; i < 100 && !must("cat", [log]).includes("ready"); i++) spawnSync("sleep", ["0.1"]);
}

function detachBpf() {
  if (cgroup === "") return;
  for (const a of SOCK_LB_ATTACH)
    run("bpftool", ["cgroup", "detach", cgroup, a.attachType, "pinned", join(progs, a.program)]);
  run("rmdir", [cgroup]);
  cgroup = "";
}

function cleanup() {
  detachBpf();
  for (const pid of servers.splice(0)) run("kill", [pid]);
  for (const t of Object.values(topo)) for (const ns of Object.values(t)) run("ip", ["netns", "del", ns]);
  for (const m of mounts.splice(0).reverse()) run("umount", [m]);
  rmSync(dir, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

/** One block of connects per target from the engine's client; latencies in ns by target. */
function block(engine, targets) {
  const cmd = `ip netns exec ${topo[engine].client} python3 ${dir}/client.py 1 ${BLOCK} ${targets.join(" ")}`;
  return JSON.parse(
    must("sh", ["-c", engine === "ebpf" ? `echo $$ > ${cgroup}/cgroup.procs && exec ${cmd}` : `exec ${cmd}`]),
  );
}

try {
  writeFileSync(join(dir, "server.py"), SERVER);
  writeFileSync(join(dir, "client.py"), CLIENT);
  for (const e of ENGINES) topology(topo[e]);
  const bpffs = join(dir, "bpffs");
  mkdirSync(bpffs);
  must("mount", ["-t", "bpf", "bpf", bpffs]);
  mounts.push(bpffs);
  const probe = new EbpfEngine({ config });
  const obj = join(dir, "sock_lb.o");
  const [cc, ...ccArgs] = sockLbClangCommand({ maglev: probe.maglev, defaultAlgorithm: "random", output: obj });
  must(cc, ccArgs);
  const cgmount = join(dir, "cgroup");
  mkdirSync(cgmount);
  must("mount", ["-t", "cgroup2", "none", cgmount]);
  mounts.push(cgmount);
  for (const n of SIZES) {
    const t = new ChangeTracker({ family: 4, nodeName: "node-1" });
    for (let i = 0; i < n; i++) {
      t.updateService(service(i));
      t.updateEndpointSlice(slice(i, n));
    }
    const state = t.state();
    const load = {};
    // iptables (legacy backend): bootstrap jumps, then the kube-proxy ruleset.
    let t0 = performance.now();
    const iptEngine = new IptablesEngine({ config, random: seededRandom(1) });
    const ipt = iptEngine.sync(state, { full: true }).payload;
    inNs(topo.iptables.node, "iptables-legacy-restore", ["--noflush"], iptEngine.renderBootstrap());
    inNs(topo.iptables.node, "iptables-legacy-restore", ["--noflush"], ipt);
    load.iptables = performance.now() - t0;
    // nftables: the kube-proxy table in one transaction.
    t0 = performance.now();
    inNs(
      topo.nftables.node,
      "nft",
      ["-f", "-"],
      new NftablesEngine({ config, random: seededRandom(1) }).sync(state, { full: true }).payload,
    );
    load.nftables = performance.now() - t0;
    // eBPF: fresh program and maps, attached to a fresh cgroup, loaded with the full-sync batch.
    t0 = performance.now();
    progs = join(bpffs, `progs${n}`);
    const maps = join(bpffs, `maps${n}`);
    mkdirSync(progs);
    mkdirSync(maps);
    must("bpftool", ["prog", "loadall", obj, progs, "pinmaps", maps]);
    cgroup = join(cgmount, `knet-kb-${process.pid}`);
    mkdirSync(cgroup);
    for (const a of SOCK_LB_ATTACH)
      must("bpftool", ["cgroup", "attach", cgroup, a.attachType, "pinned", join(progs, a.program)]);
    writeFileSync(join(dir, "batch"), new EbpfEngine({ config, pinDir: maps }).sync(state, { full: true }).payload);
    must("bpftool", ["batch", "file", join(dir, "batch")]);
    load.ebpf = performance.now() - t0;
    const first = `${cip(0)}:80`;
    const last = `${cip(n - 1)}:80`;
    const samples = Object.fromEntries(ENGINES.map((e) => [e, { [first]: [], [last]: [] }]));
    for (let r = 0; r < ROUNDS; r++)
      for (const e of ENGINES) {
        const res = block(e, [first, last]);
        samples[e][first].push(...res[first]);
        samples[e][last].push(...res[last]);
      }
    for (const e of ENGINES) {
      const f = samples[e][first];
      const l = samples[e][last];
      rows.push({
        group: "connect() to the FIRST service",
        name: `${e} n=${n}`,
        args: { n },
        p50_ns: pct(f, 50),
        p99_ns: pct(f, 99),
      });
      rows.push({
        group: "connect() to the LAST service",
        name: `${e} n=${n}`,
        args: { n },
        p50_ns: pct(l, 50),
        p99_ns: pct(l, 99),
      });
      rows.push({ group: "load the full ruleset / maps", name: `${e} n=${n}`, args: { n }, p50_ns: load[e] * 1e6 });
      console.log(
        `${e.padEnd(9)} n=${String(n).padEnd(6)} FIRST p50 ${(pct(f, 50) / 1000).toFixed(1).padStart(6)} µs  LAST p50 ${(pct(l, 50) / 1000).toFixed(1).padStart(6)} µs  (LAST-FIRST ${((pct(l, 50) - pct(f, 50)) / 1000).toFixed(1)} µs)  load ${load[e].toFixed(0)} ms`,
      );
    }
    inNs(topo.iptables.node, "sh", [
      "-c",
      "for t in nat filter; do iptables-legacy -t $t -F; iptables-legacy -t $t -X; done",
    ]);
    inNs(topo.nftables.node, "nft", ["delete", "table", "ip", "kube-proxy"]);
    detachBpf();
    rmSync(maps, { recursive: true, force: true });
    rmSync(progs, { recursive: true, force: true });
  }
} finally {
  cleanup();
}
const file = writeResults("kube-proxy-ebpf-kernel-connect", rows, {
  sizes: SIZES,
  endpointsPerService: 5,
  connectsPerTarget: ROUNDS * BLOCK,
  unit: "connect() time seen by the client (SYN -> SYN-ACK), ns; load rows: wall time of loading the full sync",
  iptables: "iptables-legacy-restore --noflush (bootstrap jumps, then the ruleset)",
  method: "three identical client/node/backend topologies, one per engine, measured interleaved in blocks",
});
console.log(`-> ${file}`);
