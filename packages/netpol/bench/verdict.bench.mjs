// Policy verdicts at scale: 1k NetworkPolicies over 10k pods (50 namespaces x 200
// pods, 20 policies per namespace, ingress and egress, selectors, named ports,
// ipBlocks), a few AdminNetworkPolicies and a BaselineAdminNetworkPolicy; and the
// full reachability matrix of 300 pods x 2 ports.
// Run against the built package: pnpm --filter @knet/netpol... run build
import { availableParallelism, loadavg } from "node:os";
import { compileNft, PolicyEngine, reachability } from "@knet/netpol";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

const TIERS = ["web", "api", "db", "cache"];
const NSNAME = "kubernetes.io/metadata.name";

function cluster(namespaces, podsPerNs, policiesPerNs, admin) {
  const ns = [];
  const pods = [];
  const nps = [];
  for (let n = 0; n < namespaces; n++) {
    const name = `team-${n}`;
    ns.push({ metadata: { name, labels: { team: `t${n % 10}`, env: n % 3 === 0 ? "prod" : "dev" } } });
    for (let p = 0; p < podsPerNs; p++) {
      const i = n * podsPerNs + p;
      pods.push({
        metadata: { namespace: name, name: `pod-${p}`, labels: { app: `app-${p % 20}`, tier: TIERS[p % 4] } },
        spec: {
          containers: [
            {
              name: "c",
              ports: [
                { name: "http", containerPort: 8080 + (p % 3) },
                { name: "dns", containerPort: 53, protocol: "UDP" },
              ],
            },
          ],
        },
        status: { podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      });
    }
    for (let k = 0; k < policiesPerNs; k++) {
      const spec = { podSelector: { matchLabels: { app: `app-${k % 20}` } } };
      if (k % 4 === 0) {
        spec.policyTypes = ["Ingress", "Egress"];
        spec.egress = [
          { to: [{ namespaceSelector: { matchLabels: { team: `t${(n + 1) % 10}` } } }], ports: [{ port: "http" }] },
          {
            to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.1.0/24"] } }],
            ports: [{ port: 53, protocol: "UDP" }],
          },
        ];
      }
      spec.ingress = [
        {
          from: [
            { podSelector: { matchLabels: { tier: TIERS[k % 4] } } },
            {
              namespaceSelector: { matchLabels: { env: "prod" } },
              podSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] },
            },
          ],
          ports: [{ port: 8080, endPort: 8081 }],
        },
        { from: [{ namespaceSelector: { matchLabels: { [NSNAME]: `team-${(n + 3) % namespaces}` } } }] },
      ];
      nps.push({ metadata: { namespace: name, name: `np-${k}` }, spec });
    }
  }
  const state = { namespaces: ns, pods, networkPolicies: nps };
  if (admin) {
    state.adminNetworkPolicies = [
      {
        metadata: { name: "deny-dev-to-prod" },
        spec: {
          priority: 10,
          subject: { namespaces: { matchLabels: { env: "prod" } } },
          ingress: [
            {
              action: "Deny",
              from: [{ namespaces: { matchLabels: { env: "dev" } } }],
              ports: [{ portNumber: { port: 5432 } }],
            },
          ],
        },
      },
      {
        metadata: { name: "pass-monitoring" },
        spec: {
          priority: 20,
          subject: { namespaces: {} },
          ingress: [{ action: "Pass", from: [{ namespaces: { matchLabels: { team: "t0" } } }] }],
        },
      },
    ];
    state.baselineAdminNetworkPolicy = {
      metadata: { name: "default" },
      spec: {
        subject: { namespaces: {} },
        ingress: [{ action: "Deny", from: [{ namespaces: { matchLabels: { team: "t9" } } }] }],
      },
    };
  }
  return state;
}

// 10k pods, 1k policies.
const big = cluster(50, 200, 20, true);
let t0 = performance.now();
const engine = new PolicyEngine(big);
const buildMs = performance.now() - t0;
const keys = engine.podKeys();
// A fixed pseudo-random set of flows (LCG), half TCP to the http ports, half UDP 53.
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};
const flows = Array.from({ length: 4096 }, (_, i) => ({
  from: keys[rnd() % keys.length],
  to: keys[rnd() % keys.length],
  protocol: i % 2 === 0 ? "TCP" : "UDP",
  port: i % 2 === 0 ? 8080 + (i % 3) : 53,
}));
t0 = performance.now();
let allowed = 0;
for (const f of flows) if (engine.allows(f)) allowed++; // also warms the per-pod selection cache
const warmMs = performance.now() - t0;
for (const f of flows.slice(0, 200))
  if (engine.verdict(f).allowed !== engine.allows(f)) throw new Error("verdict and allows disagree");
// Warm the selection cache for every pod and let the JIT settle (what a
// long-running engine has): without this the first mitata rounds time the
// interpreter.
for (const k of keys) engine.policiesFor(k);
for (let r = 0; r < 300_000; r++) engine.allows(flows[r & 4095]);
for (let r = 0; r < 30_000; r++) engine.verdict(flows[r & 4095]);

// 300 pods, 2 ports, 60 policies.
const small = cluster(10, 30, 6, true);
const smallEngine = new PolicyEngine(small);
const ports = [
  { port: 8080, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
];

// A baseline in the same run: the same flows against an engine without policies
// (name resolution and the profile checks only). The machine is shared and noisy:
// compare the two rows, not absolute figures across runs.
const bare = new PolicyEngine({ namespaces: big.namespaces, pods: big.pods });

group("1k NetworkPolicies (+2 ANP, BANP) over 10k pods: 4096 random flows per iteration", () => {
  bench("allows() x4096", () => {
    let n = 0;
    for (let i = 0; i < 4096; i++) if (engine.allows(flows[i])) n++;
    return do_not_optimize(n);
  });
  bench("verdict() with reasons x4096", () => {
    let n = 0;
    for (let i = 0; i < 4096; i++) if (engine.verdict(flows[i]).allowed) n++;
    return do_not_optimize(n);
  });
  bench("baseline: allows() x4096 without policies", () => {
    let n = 0;
    for (let i = 0; i < 4096; i++) if (bare.allows(flows[i])) n++;
    return do_not_optimize(n);
  });
});
group("reachability matrix", () => {
  bench("300 pods x 2 ports (180k verdicts, fresh engine)", () =>
    do_not_optimize(reachability(new PolicyEngine(small), { ports })),
  );
  bench("300 pods x 2 ports (warm engine)", () => do_not_optimize(reachability(smallEngine, { ports })));
});
group("nftables compilation", () => {
  bench("compileNft: 300 pods, 60 policies", () => do_not_optimize(compileNft(new PolicyEngine(small)).text.length));
});

// CPU time per flow (process.cpuUsage): less sensitive than wall time to the
// other processes sharing the machine.
function cpuPerFlow(e, n, fn = (f) => e.allows(f)) {
  const c = process.cpuUsage();
  let k = 0;
  for (let i = 0; i < n; i++) if (fn(flows[i & 4095])) k++;
  const u = process.cpuUsage(c);
  do_not_optimize(k);
  return Math.round(((u.user + u.system) * 1000) / n);
}
const cpu = {
  allowsCpuNsPerFlow: cpuPerFlow(engine, 400_000),
  verdictCpuNsPerFlow: cpuPerFlow(engine, 100_000, (f) => engine.verdict(f).allowed),
  baselineCpuNsPerFlow: cpuPerFlow(bare, 400_000),
};
const load = loadavg()[0];
const rows = await runBench("netpol-verdict", {
  pods: keys.length,
  policies: big.networkPolicies.length,
  engineBuildMs: Math.round(buildMs),
  firstPass4096FlowsMs: Math.round(warmMs),
  allowedOf4096: allowed,
  loadAverageAtEnd: load,
  ...cpu,
});
const per = (name) => (rows.find((r) => r.name === name)?.p50_ns ?? Number.NaN) / 4096;
console.log(
  `cpu per flow: allows ${cpu.allowsCpuNsPerFlow} ns, verdict ${cpu.verdictCpuNsPerFlow} ns, baseline ${cpu.baselineCpuNsPerFlow} ns\n` +
    `wall per flow: allows ${per("allows() x4096").toFixed(0)} ns, verdict ${per("verdict() with reasons x4096").toFixed(0)} ns, baseline ${per("baseline: allows() x4096 without policies").toFixed(0)} ns (load average ${load.toFixed(1)} on ${availableParallelism()} cores)`,
);
