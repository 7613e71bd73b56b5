// kube-proxy IPVS mode: virtual-server lookup (one hash lookup, flat in the number of
// services) and one packet through the node, beside the iptables evaluator (linear
// KUBE-SERVICES scan) and the nftables evaluator (verdict maps) on the same generated
// services, in one run. Against dist:
//   pnpm --filter "@knet/kube-proxy-ipvs..." run build && pnpm --filter @knet/kube-proxy-nftables run build
//   node packages/kube-proxy-ipvs/bench/ipvs.bench.mjs
import { buildProxyState, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { IpvsEngine } from "@knet/kube-proxy-ipvs";
import { Addr } from "@knet/netstack";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

let ipt;
let nft;
try {
  ipt = await import("@knet/kube-proxy-iptables");
} catch {
  ipt = undefined;
}
try {
  // not a dependency of this package (engines never import each other): load its build by path
  nft = await import(new URL("../../kube-proxy-nftables/dist/index.js", import.meta.url).href);
} catch {
  nft = undefined;
}

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" });
const ip4 = (n) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const CIP0 = (10 << 24) | (96 << 16); // 10.96.0.0/12
const EP0 = (10 << 24) | (200 << 16); // 10.200.0.0/14

function objects(n, eps) {
  const services = [];
  const endpointSlices = [];
  for (let i = 0; i < n; i++) {
    services.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { namespace: `ns${i % 100}`, name: `svc${i}` },
      spec: { type: "ClusterIP", clusterIP: ip4(CIP0 + 10 + i), ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    });
    endpointSlices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { namespace: `ns${i % 100}`, name: `svc${i}-v4`, labels: { "kubernetes.io/service-name": `svc${i}` } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: Array.from({ length: eps }, (_, j) => ({ addresses: [ip4(EP0 + ((i * eps + j) % (1 << 18)))] })),
    });
  }
  return { services, endpointSlices };
}

const SIZES = [100, 1000, 10_000, 100_000];
const IPT_SIZES = [100, 1000, 10_000];
const setupMs = {};

function targets(n) {
  const rand = seededRandom(9);
  return Array.from({ length: 1024 }, () => Addr.parse(ip4(CIP0 + 10 + Math.floor(rand.next() * n))));
}

// one engine at one size in memory at a time, so a big engine's garbage does not tax another's figures
let built = { key: "" };
const states = new Map();
function stateOf(n) {
  if (!states.has(n)) {
    states.clear();
    states.set(n, buildProxyState({ family: 4, nodeName: "node-1" }, objects(n, 2)));
  }
  return states.get(n);
}
function setup(engine, n) {
  const key = `${engine} ${n}`;
  if (built.key === key) return built;
  built = { key: "" };
  globalThis.gc?.();
  const state = stateOf(n);
  const t0 = performance.now();
  let ev;
  if (engine === "ipvs") {
    ev = new IpvsEngine({ config, random: seededRandom(1), now: () => 0 });
    ev.sync(state);
  } else if (engine === "iptables") {
    const e = new ipt.IptablesEngine({ config, random: seededRandom(1), now: () => 0 });
    e.sync(state);
    ev = e.iptablesEvaluator();
  } else {
    const e = new nft.NftablesEngine({ config, serviceCIDRs: ["10.96.0.0/12"], random: seededRandom(1), now: () => 0 });
    e.sync(state);
    ev = e.evaluator;
  }
  setupMs[key] = performance.now() - t0;
  built = { key, ev, dsts: targets(n), src: Addr.parse("10.0.1.5") };
  return built;
}

group("IPVS virtual-server lookup (protocol, VIP, port)", () => {
  bench("ipvs lookup, $n services", function* (state) {
    const { ev, dsts } = setup("ipvs", state.get("n"));
    const table = ev.table;
    let i = 0;
    yield () => do_not_optimize(table.lookup("tcp", dsts[i++ & 1023], 80));
  }).args("n", SIZES);
});

group("per packet: pod -> ClusterIP, first packet of a connection", () => {
  bench("ipvs engine.evaluate, $n services", function* (state) {
    const { ev: ipvs, dsts, src } = setup("ipvs", state.get("n"));
    let i = 0;
    yield () => {
      // connections pile up in the IPVS table; drop them every 4096 packets (amortised in the figure)
      if ((i & 4095) === 4095) ipvs.table.expire(Number.MAX_SAFE_INTEGER);
      return do_not_optimize(
        ipvs.evaluate({ src, dst: dsts[i++ & 1023], dport: 80, origin: "remote" }, { trace: false }),
      );
    };
  }).args("n", SIZES);
  if (ipt) {
    bench("iptables evaluator, $n services", function* (state) {
      const { ev: iptEv, dsts, src } = setup("iptables", state.get("n"));
      const ps = dsts.map((dst) => ({ src, dst, protocol: "tcp", sport: 40000, dport: 80, origin: "remote" }));
      let i = 0;
      yield () => do_not_optimize(iptEv.evaluate(ps[i++ & 1023], { trace: false }));
    }).args("n", IPT_SIZES);
  }
  if (nft) {
    bench("nftables evaluator, $n services", function* (state) {
      const { ev: nftEv, dsts, src } = setup("nftables", state.get("n"));
      const ps = dsts.map((dst) => ({ src, dst, proto: "tcp", sport: 40000, dport: 80 }));
      let i = 0;
      yield () => do_not_optimize(nftEv.evaluate(ps[i++ & 1023]));
    }).args("n", IPT_SIZES); // its own bench covers 100k (a 100k nft setup alone takes minutes here)
  }
});

const rows = await runBench("kube-proxy-ipvs-lookup", {
  what: "IpvsTable.lookup of a random ClusterIP:80 (one hash lookup); IpvsEngine.evaluate (iptables hooks with ipset matches, IPVS lookup + rr + connection entry, POSTROUTING) vs IptablesEvaluator.evaluate and NftEvaluator.evaluate of the same packet; services with 2 endpoints each, the same generated services for every engine",
  setup_ms: setupMs,
  comparison: { iptables: ipt !== undefined, nftables: nft !== undefined },
});
for (const r of rows) console.log(`${r.name.replace("$n", String(r.args.n)).padEnd(44)} p50 ${r.p50_ns.toFixed(1)} ns`);
console.log("setup ms", setupMs);
