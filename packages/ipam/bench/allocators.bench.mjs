// In-memory allocators: ClusterIP allocate+release on a /16 and a /12 service CIDR (the
// kube-apiserver bitmap with its static band), NodePorts, node pod CIDRs, and host-local's
// allocator on the memory store.
// Run: pnpm --filter "@knet/ipam..." run build && node packages/ipam/bench/allocators.bench.mjs
import {
  hostLocalAdd,
  hostLocalDel,
  loadHostLocalConfig,
  MemoryStore,
  NodeCidrAllocator,
  NodePortAllocator,
  ServiceIpAllocator,
  seededRandom,
} from "@knet/ipam";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

function filled(cidr, fill) {
  const a = new ServiceIpAllocator(cidr, { random: seededRandom(7) });
  const n = Math.floor(a.size * fill);
  for (let i = 0; i < n; i++) a.allocateNextIndex();
  return a;
}

group("clusterip allocate+release (offsets)", () => {
  bench("$cidr at $fill full", function* (state) {
    const a = filled(state.get("cidr"), state.get("fill"));
    yield () => {
      const i = a.allocateNextIndex();
      a.releaseIndex(i);
      return i;
    };
  })
    .args("cidr", ["10.96.0.0/16", "10.96.0.0/12"])
    .args("fill", [0, 0.5, 0.99]);
});

group("clusterip allocate+release (Addr API)", () => {
  bench("$cidr at $fill full", function* (state) {
    const a = filled(state.get("cidr"), state.get("fill"));
    yield () => {
      const ip = a.allocateNext();
      a.release(ip);
      return do_not_optimize(ip);
    };
  })
    .args("cidr", ["10.96.0.0/16", "10.96.0.0/12", "fd00:10:96::/108"])
    .args("fill", [0.5]);
});

group("nodeport allocate+release", () => {
  bench("30000-32767 at $fill full", function* (state) {
    const p = new NodePortAllocator(undefined, { random: seededRandom(3) });
    const n = Math.floor(p.size * state.get("fill"));
    for (let i = 0; i < n; i++) p.allocateNext();
    yield () => {
      const port = p.allocateNext();
      p.release(port);
      return port;
    };
  }).args("fill", [0, 0.9]);
});

group("node pod CIDR allocate+release", () => {
  bench("10.0.0.0/8 /24 nodes, dual stack, 1000 nodes present", function* () {
    const a = new NodeCidrAllocator({ clusterCidrs: ["10.0.0.0/8", "fd00:10::/48"] });
    for (let i = 0; i < 1000; i++) a.allocateOrOccupy(`n${i}`);
    let k = 0;
    yield () => {
      const name = `x${k++}`;
      const r = a.allocateOrOccupy(name);
      a.release(name);
      return do_not_optimize(r);
    };
  });
});

group("host-local ADD+DEL on the memory store", () => {
  bench("/16, $live live containers", function* (state) {
    const config = loadHostLocalConfig({
      cniVersion: "1.0.0",
      name: "b",
      ipam: { type: "host-local", subnet: "10.250.0.0/16" },
    });
    const store = new MemoryStore();
    for (let i = 0; i < state.get("live"); i++) hostLocalAdd(config, { containerId: `l${i}`, ifname: "eth0" }, store);
    let k = 0;
    yield () => {
      const att = { containerId: `c${k++}`, ifname: "eth0" };
      const r = hostLocalAdd(config, att, store);
      hostLocalDel(config, att, store);
      return do_not_optimize(r);
    };
  }).args("live", [0, 10000]);
});

await runBench("ipam-allocators", {
  unit: "one allocate + one release per iteration",
  machine: "shared 2-core VM; compare rows of one run, not across runs",
});
