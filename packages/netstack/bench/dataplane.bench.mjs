// Packets per second through the simulated dataplane (run against dist:
// `pnpm --filter @knet/netstack run build` first).
//   3-hop path: client -> r1 -> r2 -> server, three veth links, two routers.
import { buildTopology, Dataplane, flannelTopology, HookPriority, makePacket } from "@knet/netstack";
import { bench, do_not_optimize, group, runBench, writeResults } from "../../../benchmarks/lib.mjs";

function threeHop({ hooks = false } = {}) {
  const dp = new Dataplane();
  for (const n of ["client", "r1", "r2", "server"]) dp.addNamespace(n);
  dp.addVeth("client", "eth0", "r1", "a");
  dp.addVeth("r1", "b", "r2", "a");
  dp.addVeth("r2", "b", "server", "eth0");
  dp.ns("client").addAddress("eth0", "10.0.1.2/24");
  dp.ns("r1").addAddress("a", "10.0.1.1/24");
  dp.ns("r1").addAddress("b", "10.0.12.1/24");
  dp.ns("r2").addAddress("a", "10.0.12.2/24");
  dp.ns("r2").addAddress("b", "10.0.2.1/24");
  dp.ns("server").addAddress("eth0", "10.0.2.2/24");
  dp.ns("client").addRoute({ dst: "default", via: "10.0.1.1" });
  dp.ns("r1").addRoute({ dst: "10.0.2.0/24", via: "10.0.12.2" });
  dp.ns("r2").addRoute({ dst: "10.0.1.0/24", via: "10.0.12.1" });
  dp.ns("server").addRoute({ dst: "default", via: "10.0.2.1" });
  for (const r of ["r1", "r2"]) {
    dp.ns(r).setSysctl("net.ipv4.ip_forward", 1);
    if (hooks) {
      for (const hook of ["prerouting", "forward", "postrouting"]) {
        dp.ns(r).registerHook({ hook, priority: HookPriority.filter, owner: "bench", fn: () => "accept" });
      }
    }
  }
  dp.ns("server").listen({ proto: "tcp", port: 80 });
  return dp;
}

const plain = threeHop();
const hooked = threeHop({ hooks: true });
const syn = makePacket({ src: "10.0.1.2", dst: "10.0.2.2", dport: 80 });
// Same flow every time: with hooks, conntrack finds the entry after the first packet.
const ack = makePacket({ src: "10.0.1.2", dst: "10.0.2.2", dport: 80, tcp: { ack: true } });
let sport = 1024;

const flannel = buildTopology(flannelTopology());
flannel.ns("pod2a").listen({ proto: "tcp", port: 8080 });
const podPacket = makePacket({ src: "10.244.1.2", dst: "10.244.2.2", dport: 8080 });
flannel.exchange("pod1a", podPacket); // warm FDBs

for (const [dp, p] of [
  [plain, syn],
  [hooked, ack],
  [flannel, podPacket],
]) {
  const o = dp.send(dp === flannel ? "pod1a" : "client", p).outcome;
  if (o.kind !== "delivered") throw new Error(`bench topology broken: ${JSON.stringify(o)}`);
}

const quiet = { trace: false };

group("3-hop path (client -> r1 -> r2 -> server)", () => {
  bench("send, no hooks, full trace", () => do_not_optimize(plain.send("client", syn)));
  bench("send, no hooks, outcome only", () => do_not_optimize(plain.send("client", syn, quiet)));
  bench("send, 3 hooks per router + conntrack (established flow), outcome only", () =>
    do_not_optimize(hooked.send("client", ack, quiet)),
  );
  bench("send, 3 hooks per router + conntrack (established flow)", () => do_not_optimize(hooked.send("client", ack)));
  bench("send, 3 hooks per router + conntrack (new flow each packet)", () => {
    sport = sport >= 65535 ? 1024 : sport + 1;
    do_not_optimize(hooked.send("client", { ...syn, sport }));
  });
  bench("TCP handshake (3 packets), no hooks", () => do_not_optimize(plain.exchange("client", syn)));
});

group("flannel pod -> cni0 -> vxlan -> node -> cni0 -> pod", () => {
  bench("send, full trace", () => do_not_optimize(flannel.send("pod1a", podPacket)));
  bench("send, outcome only", () => do_not_optimize(flannel.send("pod1a", podPacket, quiet)));
});

await runBench("netstack-dataplane", {
  unit: "one packet per op (ops_per_s = packets per second), except the handshake (3 packets per op)",
  path: "3-hop: client -> r1 -> r2 -> server over three veth links; routers forward (ip_forward=1)",
});

// The machine is shared and noisy: also time plain loops, cases interleaved
// round by round, and keep the best and the median round per case.
const cases = [
  ["3-hop send, no hooks, full trace", () => plain.send("client", syn)],
  ["3-hop send, no hooks, outcome only", () => plain.send("client", syn, quiet)],
  ["3-hop send, 3 hooks/router + conntrack (established), outcome only", () => hooked.send("client", ack, quiet)],
  ["3-hop send, 3 hooks/router + conntrack (established), full trace", () => hooked.send("client", ack)],
  ["flannel pod-to-pod send, outcome only", () => flannel.send("pod1a", podPacket, quiet)],
  ["flannel pod-to-pod send, full trace", () => flannel.send("pod1a", podPacket)],
];
const N = 20_000;
const rounds = new Map(cases.map(([name]) => [name, []]));
for (let round = 0; round < 7; round++) {
  for (const [name, fn] of cases) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) do_not_optimize(fn());
    rounds.get(name).push((performance.now() - t0) / N);
  }
}
const rows = cases.map(([name]) => {
  const ms = [...rounds.get(name)].sort((a, b) => a - b);
  const best = ms[0];
  const median = ms[Math.floor(ms.length / 2)];
  return {
    name,
    best_us: +(best * 1000).toFixed(2),
    median_us: +(median * 1000).toFixed(2),
    best_pps: Math.round(1000 / best),
    median_pps: Math.round(1000 / median),
  };
});
console.log("\n# netstack-dataplane-loop (interleaved rounds, packets per second)");
for (const r of rows)
  console.log(
    `${r.name.padEnd(70)} best ${String(r.best_pps).padStart(8)} pps   median ${String(r.median_pps).padStart(8)} pps`,
  );
console.log(
  `-> ${writeResults("netstack-dataplane-loop", rows, { rounds: 7, packetsPerRound: N, note: "interleaved plain loops; best and median round" })}`,
);
