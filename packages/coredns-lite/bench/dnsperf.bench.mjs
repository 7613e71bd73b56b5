// dnsperf on 127.0.0.1: coredns-lite beside Knot DNS and NSD, all serving the same
// 1,000 service A records (zone cluster.local, TTL 5), measured in the same run, and
// beside node-echo (echo-fixture.mjs: a bare Node dgram server that only sets QR and
// sends each query back), the ceiling of Node's one-datagram-per-syscall UDP path.
// Servers are pinned to CPU 1 and dnsperf to CPU 0 (taskset). Rate limiting is off
// (NSD rrl-ratelimit 0; Knot without mod-rrl). Nothing forwards anywhere.
// Writes benchmarks/results/coredns-lite-dnsperf.json; when dnsperf, knotd, nsd or
// taskset are missing it writes a note saying what was skipped.
// Build first: pnpm --filter "@knet/coredns-lite..." run build
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeResults } from "../../../benchmarks/lib.mjs";

const NAME = "coredns-lite-dnsperf";
const N = 1000;
const SECONDS = Number(process.env.DNSPERF_SECONDS ?? 6);
// Every server and dnsperf run at the same raised priority, so other jobs on this shared
// machine disturb all of them less (root only; 0 leaves priorities alone).
const NICE = String(process.env.DNSPERF_NICE ?? (process.getuid?.() === 0 ? -10 : 0));
const here = dirname(fileURLToPath(import.meta.url));
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

const missing = ["dnsperf", "taskset", "dig"].filter((c) => !has(c));
if (missing.length > 0) {
  const file = writeResults(NAME, [], {
    skipped: `missing ${missing.join(", ")}: apt-get install dnsperf util-linux bind9-dnsutils`,
  });
  console.log(`skipped (${missing.join(", ")} missing) -> ${file}`);
  process.exit(0);
}
const cpus = Number(spawnSync("nproc", [], { encoding: "utf8" }).stdout.trim() || 1);
const SERVER_CPU = cpus > 1 ? "1" : "0";
const CLIENT_CPU = "0";

// ---- data: zone file and query files
const dir = mkdtempSync(join(tmpdir(), "knet-dnsperf-"));
const names = [];
let zone =
  "$ORIGIN cluster.local.\n$TTL 5\n@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5\n@ IN NS ns.dns.cluster.local.\nns.dns IN A 127.0.0.1\n";
for (let i = 0; i < N; i++) {
  const rel = `svc-${i}.ns-${i % 20}.svc`;
  names.push(`${rel}.cluster.local`);
  zone += `${rel} IN A 10.96.${i >> 8}.${i & 255}\n`;
}
writeFileSync(join(dir, "cluster.local.zone"), zone);
let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const hits = [];
const mixed = [];
for (let i = 0; i < 20000; i++) {
  const name = names[Math.floor(rnd() * N)];
  hits.push(`${name} A`);
  // 20 % of the mixed file: a name below an existing one's svc label that does not exist (NXDOMAIN + SOA).
  mixed.push(rnd() < 0.2 ? `svc-${i % N}.ns-${(i + 7) % 20}.svc.svc.cluster.local A` : `${name} A`);
}
writeFileSync(join(dir, "queries.txt"), `${hits.join("\n")}\n`);
writeFileSync(join(dir, "queries-mixed.txt"), `${mixed.join("\n")}\n`);

// ---- servers
const PORTS = { "coredns-lite": 5410, knot: 5411, nsd: 5412, "node-echo": 5413 };
const servers = [];

// A server is up once it answers the probe with svc-1's address (node-echo, which only
// echoes, once it answers at all: dig exits 0).
const answersProbe = (r) => r.stdout.trim() === "10.96.0.1";
const answersAtAll = (r) => r.status === 0;

function waitReady(port, ready, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = spawnSync(
      "dig",
      ["@127.0.0.1", "-p", String(port), "svc-1.ns-1.svc.cluster.local", "A", "+short", "+tries=1", "+time=1"],
      { encoding: "utf8" },
    );
    if (ready(r)) return true;
    if (Date.now() > deadline) return false;
    spawnSync("sleep", ["0.2"]);
  }
}

function start(name, cmd, args, port, ready = answersProbe) {
  const child = spawn("nice", ["-n", NICE, "taskset", "-c", SERVER_CPU, cmd, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: dir,
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const s = { name, child, port, log: () => log };
  servers.push(s);
  if (!waitReady(port, ready)) {
    console.log(`${name} did not come up: ${log.slice(0, 400)}`);
    return undefined;
  }
  // Pin every thread (knotd starts its workers on other CPUs itself).
  spawnSync("taskset", ["-a", "-p", "-c", SERVER_CPU, String(child.pid)], { stdio: "ignore" });
  return s;
}

function stopAll() {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGTERM");
}
process.on("exit", stopAll);

async function stopAndWait() {
  const exits = servers.map((s) =>
    s.child.exitCode !== null || s.child.signalCode !== null
      ? Promise.resolve()
      : new Promise((ok) => s.child.once("exit", ok)),
  );
  stopAll();
  const timer = setTimeout(() => {
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  }, 5000);
  await Promise.all(exits);
  clearTimeout(timer);
}

const notes = {
  machine: `${cpus} vCPU; servers on CPU ${SERVER_CPU}, dnsperf on CPU ${CLIENT_CPU}; load average at start ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  data: `${N} A records svc-<i>.ns-<i mod 20>.svc.cluster.local, TTL 5; queries.txt = 20,000 hits; queries-mixed.txt = 20 % NXDOMAIN`,
  method: `a 2 s warm-up per server, then dnsperf -c 1 -T 1 -q 200 -l ${SECONDS} (max rate; hits ${process.env.DNSPERF_REPS ?? 3} times, interleaved across servers), the mixed file once, hits over TCP (-m tcp) once, then -Q 20000 for latency at a fixed rate; servers and dnsperf at nice ${NICE}`,
  cpu: "server_cpu = utime+stime of the server (from /proc, tick-sampled) over wall time; CPU µs per query = server_cpu / qps, which grows as a server gets fewer datagrams per wakeup, so it is comparable between servers at similar qps",
  reference: "CoreDNS published ~17k qps per core (coredns/deployment Scaling_CoreDNS.md, 33,669 qps on 2 vCPU)",
};
const skipped = [];

const lite = start(
  "coredns-lite",
  process.execPath,
  [join(here, "serve-fixture.mjs"), String(PORTS["coredns-lite"]), String(N)],
  PORTS["coredns-lite"],
);
const echo = start(
  "node-echo",
  process.execPath,
  [join(here, "echo-fixture.mjs"), String(PORTS["node-echo"])],
  PORTS["node-echo"],
  answersAtAll,
);
let knot;
if (has("knotd")) {
  mkdirSync(join(dir, "knot-run"), { recursive: true });
  mkdirSync(join(dir, "knot-db"), { recursive: true });
  writeFileSync(
    join(dir, "knot.conf"),
    `server:\n  rundir: "${dir}/knot-run"\n  listen: 127.0.0.1@${PORTS.knot}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n` +
      `database:\n  storage: "${dir}/knot-db"\nlog:\n  - target: stderr\n    any: error\n` +
      `template:\n  - id: default\n    storage: "${dir}"\n    file: "%s.zone"\n    semantic-checks: off\nzone:\n  - domain: cluster.local\n`,
  );
  knot = start("knot", "knotd", ["-c", join(dir, "knot.conf")], PORTS.knot);
} else skipped.push("knot (knotd missing: apt-get install knot)");
let nsd;
if (has("nsd")) {
  writeFileSync(
    join(dir, "nsd.conf"),
    `server:\n  ip-address: 127.0.0.1@${PORTS.nsd}\n  server-count: 1\n  database: ""\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n  xfrdir: "${dir}"\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n  verbosity: 0\n` +
      `remote-control:\n  control-enable: no\nzone:\n  name: cluster.local\n  zonefile: "cluster.local.zone"\n`,
  );
  nsd = start("nsd", "nsd", ["-d", "-c", join(dir, "nsd.conf")], PORTS.nsd);
} else skipped.push("nsd (missing: apt-get install nsd)");
if (skipped.length > 0) notes.skipped = skipped.join("; ");

function procStat(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

function cpuTicks(pid) {
  // utime + stime (all threads) of the server and its descendants (NSD forks its server processes).
  const all = new Map();
  for (const d of readdirSync("/proc")) if (/^\d+$/.test(d)) all.set(Number(d), procStat(d));
  let total = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop();
    total += all.get(p)?.ticks ?? 0;
    for (const [c, st] of all) if (st?.ppid === p) todo.push(c);
  }
  return total;
}

function dnsperf(s, file, extra = [], seconds = SECONDS) {
  const t0 = cpuTicks(s.child.pid);
  const w0 = Date.now();
  const r = spawnSync(
    "nice",
    [
      "-n",
      NICE,
      "taskset",
      "-c",
      CLIENT_CPU,
      "dnsperf",
      "-s",
      "127.0.0.1",
      "-p",
      String(s.port),
      "-d",
      join(dir, file),
      "-l",
      String(seconds),
      "-c",
      "1",
      "-T",
      "1",
      "-q",
      "200",
      ...extra,
    ],
    { encoding: "utf8", timeout: (SECONDS + 20) * 1000 },
  );
  const wall = (Date.now() - w0) / 1000;
  const cpu = (cpuTicks(s.child.pid) - t0) / 100 / wall;
  const out = r.stdout ?? "";
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : Number.NaN;
  };
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avg_latency_ms: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    latency_stddev_ms: num(/Latency StdDev \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    server_cpu: Math.round(cpu * 1000) / 1000,
    rcodes: (/Response codes:\s+(.*)/.exec(out)?.[1] ?? "").trim(),
  };
}

const live = [lite, echo, knot, nsd].filter((s) => s !== undefined);
const rows = [];
const round = (x) => Math.round(x * 100) / 100;
// Warm-up (discarded): V8 compiles the Node server's hot path in its first seconds;
// the C servers get the same pass so every server starts measured runs warm.
for (const s of live) dnsperf(s, "queries.txt", [], 2);
const REPS = Number(process.env.DNSPERF_REPS ?? 3);
for (let rep = 0; rep < REPS; rep++) {
  for (const s of live) {
    const r = dnsperf(s, "queries.txt");
    rows.push({
      server: s.name,
      workload: "hits",
      mode: "max-rate",
      run: rep + 1,
      ...r,
      qps: round(r.qps),
      avg_latency_ms: round(r.avg_latency_ms * 100) / 100,
    });
    console.log(
      `${s.name.padEnd(13)} hits  run ${rep + 1}: ${r.qps.toFixed(0).padStart(7)} qps  avg ${r.avg_latency_ms.toFixed(2)} ms  cpu ${(r.server_cpu * 100).toFixed(0)}%  lost ${r.lost}`,
    );
  }
}
for (const s of live) {
  const r = dnsperf(s, "queries-mixed.txt");
  rows.push({ server: s.name, workload: "mixed", mode: "max-rate", run: 1, ...r, qps: round(r.qps) });
  console.log(
    `${s.name.padEnd(13)} mixed      : ${r.qps.toFixed(0).padStart(7)} qps  avg ${r.avg_latency_ms.toFixed(2)} ms  cpu ${(r.server_cpu * 100).toFixed(0)}%  ${r.rcodes}`,
  );
}
// TCP, one connection with 200 queries in flight: here replies can leave in batches (one
// writev per data chunk), which Node's dgram cannot do for UDP. node-echo serves UDP only.
for (const s of live.filter((x) => x.name !== "node-echo")) {
  const r = dnsperf(s, "queries.txt", ["-m", "tcp"]);
  rows.push({ server: s.name, workload: "hits-tcp", mode: "max-rate", run: 1, ...r, qps: round(r.qps) });
  console.log(
    `${s.name.padEnd(13)} hits tcp   : ${r.qps.toFixed(0).padStart(7)} qps  avg ${r.avg_latency_ms.toFixed(2)} ms  cpu ${(r.server_cpu * 100).toFixed(0)}%  lost ${r.lost}`,
  );
}
for (const s of live) {
  const r = dnsperf(s, "queries.txt", ["-Q", "20000"]);
  rows.push({ server: s.name, workload: "hits", mode: "fixed 20k qps", run: 1, ...r, qps: round(r.qps) });
  console.log(
    `${s.name.padEnd(13)} @20k qps   : avg ${r.avg_latency_ms.toFixed(3)} ms  stddev ${r.latency_stddev_ms.toFixed(3)} ms  cpu ${(r.server_cpu * 100).toFixed(0)}%`,
  );
}
await stopAndWait();

// Summary per server: median and best max-rate hits qps, and qps per server-CPU-second
// (the machine is shared, so a server's share of its core varies from run to run).
const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const summary = {};
for (const s of live) {
  const runs = rows.filter((r) => r.server === s.name && r.workload === "hits" && r.mode === "max-rate");
  const perCpu = runs.filter((r) => r.server_cpu > 0).map((r) => r.qps / r.server_cpu);
  const cpuUs = runs.filter((r) => r.server_cpu > 0).map((r) => (r.server_cpu / r.qps) * 1e6);
  summary[s.name] = {
    median_hits_qps: round(median(runs.map((r) => r.qps))),
    best_hits_qps: Math.max(...runs.map((r) => r.qps)),
    median_qps_per_cpu_second: perCpu.length > 0 ? Math.round(median(perCpu)) : null,
    median_cpu_us_per_query: cpuUs.length > 0 ? round(median(cpuUs)) : null,
    tcp_hits_qps: rows.find((r) => r.server === s.name && r.workload === "hits-tcp")?.qps ?? null,
    fixed_20k_avg_latency_ms:
      rows.find((r) => r.server === s.name && r.mode === "fixed 20k qps")?.avg_latency_ms ?? null,
  };
}
notes.summary = summary;
const lm = summary["coredns-lite"];
if (lm !== undefined) {
  notes.vs_coredns_published = `median ${(lm.median_hits_qps / 17000).toFixed(2)}x (best ${(lm.best_hits_qps / 17000).toFixed(2)}x) the ~17k qps/core published for CoreDNS`;
  const e = summary["node-echo"];
  if (e !== undefined) {
    notes.vs_node_echo = `coredns-lite reaches ${(lm.median_hits_qps / e.median_hits_qps).toFixed(2)} of the bare Node dgram echo ceiling (median qps; ${lm.median_cpu_us_per_query} vs ${e.median_cpu_us_per_query} CPU µs per query)`;
  }
  for (const other of ["knot", "nsd"]) {
    const o = summary[other];
    if (o) {
      notes[`vs_${other}`] =
        `median qps ${(lm.median_hits_qps / o.median_hits_qps).toFixed(2)}x, qps per CPU-second ${(lm.median_qps_per_cpu_second / o.median_qps_per_cpu_second).toFixed(2)}x`;
    }
  }
}
const file = writeResults(NAME, rows, notes);
for (const [name, v] of Object.entries(summary)) {
  console.log(
    `${name.padEnd(13)} median ${v.median_hits_qps.toFixed(0).padStart(7)} qps  best ${v.best_hits_qps.toFixed(0).padStart(7)}  ${v.median_cpu_us_per_query} CPU µs/query`,
  );
}
for (const k of ["vs_node_echo", "vs_knot", "vs_nsd"]) if (notes[k] !== undefined) console.log(`${k}: ${notes[k]}`);
console.log(JSON.stringify(notes.summary));
console.log(`-> ${file}`);
rmSync(dir, { recursive: true, force: true });
